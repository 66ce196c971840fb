"""All SQL of datasets and experiments. Rows in and out are plain dicts; validation lives in
`tenbin.evals.datasets` and `tenbin.evals.experiments`.

Examples are immutable rows; a dataset version is the list of examples it holds, so adding or
removing examples writes a new version in one transaction and every old version (and every
experiment that ran on it) still means the same examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import (
    Dataset,
    DatasetExample,
    DatasetVersion,
    DatasetVersionExample,
    Experiment,
    ExperimentResult,
    Project,
)
from tenbin.store.writes import ensure_projects

EXAMPLE_FIELDS = ("input", "expected", "metadata", "source_span_id")
RESULT_FIELDS = ("example_id", "output", "error", "latency_ms", "prompt_tokens", "completion_tokens", "scores")


def _dataset_id(conn: Connection, project: str, name: str, *, lock: bool = False) -> int:
    return id_by_name(conn, Dataset, project, name, "dataset", lock=lock)


def _latest(conn: Connection, dataset_id: int) -> int:
    return conn.execute(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset_id)).scalar() or 0


def _version_id(conn: Connection, dataset_id: int, name: str, version: int | None) -> tuple[int, int]:
    number = version if version is not None else _latest(conn, dataset_id)
    vid = conn.execute(select(DatasetVersion.id).where(DatasetVersion.dataset_id == dataset_id,
                                                       DatasetVersion.version == number)).scalar()
    if vid is None:
        raise NotFound(f"dataset {name!r} has no version {number}; versions are 1 to {_latest(conn, dataset_id)}")
    return vid, number


def _member_ids(conn: Connection, version_id: int) -> list[int]:
    return list(conn.execute(select(DatasetVersionExample.example_id).where(DatasetVersionExample.version_id == version_id)
                             .order_by(DatasetVersionExample.example_id)).scalars())


def _write_version(conn: Connection, dataset_id: int, example_ids: Sequence[int], message: str) -> dict[str, Any]:
    row = {"dataset_id": dataset_id, "version": _latest(conn, dataset_id) + 1, "message": message,
           "example_count": len(example_ids), "created_us": now_us()}
    vid = conn.execute(DatasetVersion.__table__.insert().returning(DatasetVersion.id), row).scalar_one()
    if example_ids:
        conn.execute(DatasetVersionExample.__table__.insert(), [{"version_id": vid, "example_id": e} for e in example_ids])
    return {k: row[k] for k in ("version", "message", "example_count", "created_us")}


def _insert_examples(conn: Connection, dataset_id: int, examples: Sequence[dict[str, Any]]) -> list[int]:
    now = now_us()
    table = DatasetExample.__table__
    return [conn.execute(table.insert().returning(table.c.id),
                         {"dataset_id": dataset_id, "input": e.get("input"), "expected": e.get("expected"),
                          "metadata": e.get("metadata") or None, "source_span_id": e.get("source_span_id"),
                          "created_us": now}).scalar_one() for e in examples]


def create_dataset(engine: Engine, project: str, name: str, examples: Sequence[dict[str, Any]], *,
                   description: str = "", message: str = "created") -> dict[str, Any]:
    """A new dataset whose version 1 holds `examples`; a taken name is refused."""
    with write_transaction(engine) as conn:
        project_id = ensure_projects(conn, {project})[project]
        taken = conn.execute(select(Dataset.id).where(Dataset.project_id == project_id, Dataset.name == name)).scalar()
        if taken is not None:
            raise InvalidInput(f"dataset {name!r} already exists in project {project!r}; add examples to it "
                               "(a new version) or pick another name")
        dataset_id = conn.execute(Dataset.__table__.insert().returning(Dataset.id),
                                  {"project_id": project_id, "name": name, "description": description,
                                   "created_us": now_us()}).scalar_one()
        version = _write_version(conn, dataset_id, _insert_examples(conn, dataset_id, examples), message)
    return {"name": name, "description": description, **version}


def change_examples(engine: Engine, project: str, name: str, *, add: Sequence[dict[str, Any]] = (),
                    remove: Sequence[int] = (), message: str = "") -> dict[str, Any]:
    """The next version: the latest one's examples, minus `remove` (ids), plus `add`."""
    with write_transaction(engine) as conn:
        dataset_id = _dataset_id(conn, project, name, lock=True)
        current = _member_ids(conn, _version_id(conn, dataset_id, name, None)[0])
        unknown = sorted(set(remove) - set(current))
        if unknown:
            raise InvalidInput(f"examples {unknown} are not in the latest version of dataset {name!r}; nothing changed")
        kept = [e for e in current if e not in set(remove)]
        version = _write_version(conn, dataset_id, kept + _insert_examples(conn, dataset_id, add), message)
    return {"name": name, **version}


def list_datasets(engine: Engine, project: str) -> list[dict[str, Any]]:
    """Each dataset with its latest version and that version's size, by name."""
    latest = (select(DatasetVersion.dataset_id, func.max(DatasetVersion.version).label("v"))
              .group_by(DatasetVersion.dataset_id).subquery())
    stmt = (select(Dataset.name, Dataset.description, Dataset.created_us, DatasetVersion.version,
                   DatasetVersion.example_count, DatasetVersion.created_us.label("updated_us"))
            .join(Project, Project.id == Dataset.project_id).join(latest, latest.c.dataset_id == Dataset.id)
            .join(DatasetVersion, (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.version == latest.c.v))
            .where(Project.name == project).order_by(Dataset.name))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def dataset_names(engine: Engine, project: str) -> list[str]:
    """The project's dataset names, sorted: the choices of an "Add to dataset" picker."""
    stmt = (select(Dataset.name).join(Project, Project.id == Dataset.project_id)
            .where(Project.name == project).order_by(Dataset.name))
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def get_dataset(engine: Engine, project: str, name: str, version: int | None = None) -> dict[str, Any]:
    """A dataset, its versions (newest first) and the examples of `version` (default: the latest)."""
    with engine.connect() as conn:
        dataset_id = _dataset_id(conn, project, name)
        vid, number = _version_id(conn, dataset_id, name, version)
        head = conn.execute(select(Dataset.description, Dataset.created_us).where(Dataset.id == dataset_id)).one()
        versions = [dict(r._mapping) for r in conn.execute(
            select(DatasetVersion.version, DatasetVersion.message, DatasetVersion.example_count, DatasetVersion.created_us)
            .where(DatasetVersion.dataset_id == dataset_id).order_by(DatasetVersion.version.desc()))]
        rows = conn.execute(select(DatasetExample.__table__).join(
            DatasetVersionExample, DatasetVersionExample.example_id == DatasetExample.id)
            .where(DatasetVersionExample.version_id == vid).order_by(DatasetExample.id)).mappings().all()
    examples = [{"id": r["id"], **{k: r[k] for k in EXAMPLE_FIELDS}} for r in rows]
    return {"name": name, "description": head.description, "created_us": head.created_us, "version": number,
            "versions": versions, "examples": examples}


def _check_members(conn: Connection, project: str, dataset: str, version: int, example_ids: set[Any]) -> int:
    """The dataset's id, refusing results for examples outside the version (nothing stored)."""
    dataset_id = _dataset_id(conn, project, dataset)
    members = set(_member_ids(conn, _version_id(conn, dataset_id, dataset, version)[0]))
    strangers = sorted(example_ids - members)
    if strangers:
        raise InvalidInput(f"examples {strangers[:10]} are not in dataset {dataset!r} v{version}; nothing stored")
    return dataset_id


def _insert_results(conn: Connection, exp_id: int, results: Sequence[dict[str, Any]]) -> None:
    if results:
        conn.execute(ExperimentResult.__table__.insert(),
                     [{"experiment_id": exp_id, **{k: r.get(k) for k in RESULT_FIELDS}} for r in results])


def create_experiment(engine: Engine, project: str, dataset: str, version: int, fields: dict[str, Any], *,
                      results: Sequence[dict[str, Any]] = (), total: int | None = None) -> int:
    """Store an experiment (name, task, evaluators, summary): finished with its `results`, or, given
    `total`, `running` with progress 0 of `total` until `finish_experiment`/`fail_experiment`."""
    with write_transaction(engine) as conn:
        dataset_id = _check_members(conn, project, dataset, version, {r.get("example_id") for r in results})
        now = now_us()
        state = {"status": "done", "done": len(results), "total": len(results)} if total is None else \
            {"status": "running", "done": 0, "total": total}
        row = {"dataset_id": dataset_id, "dataset_version": version, "created_us": now, "updated_us": now, **state,
               **{k: fields.get(k) for k in ("name", "task", "evaluators", "summary")}}
        exp_id = conn.execute(Experiment.__table__.insert().returning(Experiment.id), row).scalar_one()
        _insert_results(conn, exp_id, results)
    return exp_id


def insert_experiment(engine: Engine, project: str, dataset: str, version: int, fields: dict[str, Any],
                      results: Sequence[dict[str, Any]]) -> int:
    """Store a finished experiment and its per-example results at once."""
    return create_experiment(engine, project, dataset, version, fields, results=results)


def set_experiment_progress(engine: Engine, exp_id: int, done: int) -> None:
    """Progress of a running experiment; also revives one a server start wrongly took for dead."""
    with write_transaction(engine) as conn:
        conn.execute(update(Experiment).where(Experiment.id == exp_id, Experiment.status.in_(("running", "interrupted")))
                     .values(status="running", done=done, updated_us=now_us()))


def finish_experiment(engine: Engine, exp_id: int, summary: dict[str, Any], results: Sequence[dict[str, Any]]) -> None:
    """A running experiment's results and summary, and status `done`, in one transaction."""
    with write_transaction(engine) as conn:
        _insert_results(conn, exp_id, results)
        conn.execute(update(Experiment).where(Experiment.id == exp_id).values(
            status="done", summary=summary, done=Experiment.total, error=None, updated_us=now_us()))


def fail_experiment(engine: Engine, exp_id: int, error: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(Experiment).where(Experiment.id == exp_id).values(
            status="failed", error=error, updated_us=now_us()))


def _experiment_select() -> Any:
    return (select(Experiment.id, Experiment.name, Experiment.dataset_version, Experiment.task, Experiment.evaluators,
                   Experiment.summary, Experiment.created_us, Experiment.status, Experiment.error, Experiment.done,
                   Experiment.total, Experiment.updated_us, Dataset.name.label("dataset"))
            .join(Dataset, Dataset.id == Experiment.dataset_id).join(Project, Project.id == Dataset.project_id))


def list_experiments(engine: Engine, project: str, dataset: str | None = None) -> list[dict[str, Any]]:
    """The project's experiments (optionally of one dataset), newest first."""
    stmt = _experiment_select().where(Project.name == project)
    if dataset is not None:
        stmt = stmt.where(Dataset.name == dataset)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.order_by(Experiment.id.desc()))]


def get_experiment(engine: Engine, project: str, experiment_id: int) -> dict[str, Any]:
    """One experiment with each result beside its example's input and expected output."""
    with engine.connect() as conn:
        head = conn.execute(_experiment_select().where(Project.name == project, Experiment.id == experiment_id)).first()
        if head is None:
            raise NotFound(f"project {project!r} has no experiment {experiment_id}; list them with `tenbin datasets show`")
        rows = conn.execute(select(ExperimentResult.__table__, DatasetExample.input, DatasetExample.expected)
                            .join(DatasetExample, DatasetExample.id == ExperimentResult.example_id)
                            .where(ExperimentResult.experiment_id == experiment_id)
                            .order_by(ExperimentResult.example_id)).mappings().all()
    results = [{k: r[k] for k in (*RESULT_FIELDS, "input", "expected")} for r in rows]
    return {**dict(head._mapping), "results": results}
