"""All SQL of prompt A/B experiments and per-version performance; rows are plain dicts and the
statistics live in `tenbin.prompts.stats`.

An arm's spans are the project's spans stamped with the prompt's name and the arm's version
(`Prompt.render` stamps them) that started inside the experiment's window. Its metric values are
the feedback rows with the metric's name on those spans' traces (on any span, or the trace).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.models import Feedback, Project, Prompt, PromptExperiment, PromptExposure, Span
from tenbin.store.lookup import now_us
from tenbin.store.prompts import _insert, _prompt_id
from tenbin.store.queries import iso

_experiments = PromptExperiment.__table__
RUNNING, STOPPED = "running", "stopped"
EVAL_SOURCES = ("llm", "code")


def _row(row: Any, prompt: str) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "name", "status", "arms", "metric", "guardrails", "author",
                               "started_us", "ended_us", "promoted_version")}
    return {**out, "prompt": prompt, "started": iso(row["started_us"]), "ended": iso(row["ended_us"])}


def create(engine: Engine, project: str, prompt: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert a running experiment; refused while another one runs on the same prompt."""
    with write_transaction(engine) as conn:
        prompt_id = _prompt_id(conn, project, prompt, lock=True)
        running = conn.execute(select(PromptExperiment.id, PromptExperiment.name).where(
            PromptExperiment.prompt_id == prompt_id, PromptExperiment.status == RUNNING)).first()
        if running is not None:
            raise InvalidInput(f"experiment {running.id} ({running.name!r}) is already running on prompt {prompt!r}; "
                               "stop it before starting another")
        row = {**fields, "prompt_id": prompt_id, "status": RUNNING, "started_us": now_us()}
        row["id"] = conn.execute(_experiments.insert().returning(PromptExperiment.id), row).scalar_one()
        full = conn.execute(select(_experiments).where(PromptExperiment.id == row["id"])).mappings().one()
    return _row(full, prompt)


def _query(project: str) -> Any:
    return (select(_experiments, Prompt.name.label("prompt_name")).join(Prompt, Prompt.id == PromptExperiment.prompt_id)
            .join(Project, Project.id == Prompt.project_id).where(Project.name == project))


def get(engine: Engine, project: str, experiment_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(_query(project).where(PromptExperiment.id == experiment_id)).mappings().first()
    if row is None:
        raise NotFound(f"project {project!r} has no prompt experiment {experiment_id}; "
                       f"list them at /api/v1/projects/{project}/prompt-experiments")
    return _row(row, row["prompt_name"])


def list_all(engine: Engine, project: str, prompt: str | None = None) -> list[dict[str, Any]]:
    """Experiments of the project (of one prompt when given), newest first."""
    stmt = _query(project).order_by(PromptExperiment.id.desc())
    if prompt is not None:
        stmt = stmt.where(Prompt.name == prompt)
    with engine.connect() as conn:
        return [_row(r, r["prompt_name"]) for r in conn.execute(stmt).mappings()]


def running_for(engine: Engine, project: str, prompt: str) -> dict[str, Any] | None:
    found = [e for e in list_all(engine, project, prompt) if e["status"] == RUNNING]
    return found[0] if found else None


def expose(engine: Engine, experiment_id: int, unit: str, arm: int, version: int) -> None:
    """Log a unit's first exposure; a repeat (even a concurrent one) changes nothing."""
    with write_transaction(engine) as conn:
        stmt = _insert(conn, PromptExposure.__table__).on_conflict_do_nothing(index_elements=["experiment_id", "unit"])
        conn.execute(stmt, {"experiment_id": experiment_id, "unit": unit, "arm": arm, "version": version,
                            "exposed_us": now_us()})


def exposure_counts(engine: Engine, experiment_id: int, arms: int) -> list[int]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(PromptExposure.arm, func.count()).where(
            PromptExposure.experiment_id == experiment_id).group_by(PromptExposure.arm)).all())
    return [int(rows.get(i, 0)) for i in range(arms)]


def close(engine: Engine, experiment_id: int, promoted: int | None) -> bool:
    """Mark a running experiment stopped; False when it was not running (already stopped)."""
    with write_transaction(engine) as conn:
        done = conn.execute(update(PromptExperiment).where(
            PromptExperiment.id == experiment_id, PromptExperiment.status == RUNNING)
            .values(status=STOPPED, ended_us=now_us(), promoted_version=promoted))
    return done.rowcount == 1


def _arm_spans(project: str, prompt: str, version: int, start_us: int, end_us: int) -> Any:
    project_id = select(Project.id).where(Project.name == project).scalar_subquery()
    return and_(Span.project_id == project_id, Span.prompt_name == prompt, Span.prompt_version == str(version),
                Span.start_us >= start_us, Span.start_us < end_us)


def arm_metric(engine: Engine, project: str, prompt: str, versions: Sequence[int], window: tuple[int, int],
               metric_name: str, kind: str) -> list[dict[str, float]]:
    """Per version: traces, and count / sum / sum of squares of the metric's feedback values."""
    out = []
    with engine.connect() as conn:
        for version in versions:
            spans = _arm_spans(project, prompt, version, *window)
            traces = select(Span.trace_id).where(spans).distinct()
            conds = [Feedback.trace_id.in_(traces), Feedback.name == metric_name, Feedback.value.is_not(None)]
            if kind == "thumbs":
                conds.append(Feedback.kind == "thumbs")
            elif kind == "eval":
                conds.append(Feedback.source.in_(EVAL_SOURCES))
            n, total, sq = conn.execute(select(func.count(), func.sum(Feedback.value),
                                               func.sum(Feedback.value * Feedback.value)).where(*conds)).one()
            n_traces = conn.execute(select(func.count()).select_from(traces.subquery())).scalar_one()
            out.append({"n": int(n), "total": float(total or 0), "total_sq": float(sq or 0), "traces": int(n_traces)})
    return out


def version_extras(engine: Engine, project: str, prompt: str, width_us: int, start_us: int | None,
                   end_us: int | None) -> list[dict[str, Any]]:
    """Per (bucket, version): cost, and the mean of each eval score (feedback from llm or code)."""
    bucket = (Span.start_us // width_us) * width_us
    with engine.connect() as conn:
        project_id = select(Project.id).where(Project.name == project).scalar_subquery()
        conds = [Span.project_id == project_id, Span.prompt_name == prompt]
        conds += [Span.start_us >= start_us] if start_us is not None else []
        conds += [Span.start_us < end_us] if end_us is not None else []
        cost = conn.execute(select(bucket.label("b"), Span.prompt_version, func.sum(Span.cost))
                            .where(*conds).group_by("b", Span.prompt_version)).all()
        joined = or_(Feedback.span_id == Span.span_id, and_(Feedback.span_id.is_(None), Feedback.trace_id == Span.trace_id))
        evals = conn.execute(select(bucket.label("b"), Span.prompt_version, Feedback.name, func.avg(Feedback.value),
                                    func.count()).select_from(Span).join(Feedback, joined)
                             .where(*conds, Feedback.source.in_(EVAL_SOURCES), Feedback.value.is_not(None))
                             .group_by("b", Span.prompt_version, Feedback.name)).all()
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for b, version, total in cost:
        rows[(b, version)] = {"cost": total, "evals": {}}
    for b, version, name, mean, n in evals:
        rows.setdefault((b, version), {"cost": None, "evals": {}})["evals"][name] = {"mean": mean, "n": n}
    return [{"bucket": iso(b), "version": v, **vals} for (b, v), vals in sorted(rows.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))]
