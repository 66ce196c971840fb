"""All SQL of automatic prompt generation. Rows in and out are plain dicts; the logic lives in
`tenbin.autoprompt`.

A run is written in steps because it runs in the background: created (`proposing`), its candidates
stored (`scoring`, with the number of (candidate, example) pairs to score), each chunk of results
written in one transaction with the progress counter, then ranked and `done` (or `failed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select, update

from tenbin.errors import NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import (
    Dataset,
    DatasetExample,
    Project,
    PromptCandidate,
    PromptCandidateResult,
    PromptGeneration,
)
from tenbin.store.writes import ensure_projects

RUN_FIELDS = ("id", "dataset_version", "task", "spec", "model", "status", "error", "done", "total", "notes",
              "created_us", "updated_us", "finished_us")
CANDIDATE_FIELDS = ("id", "position", "status", "error", "template", "origin", "summary", "rank", "saved")
RESULT_FIELDS = ("example_id", "output", "error", "latency_ms", "prompt_tokens", "completion_tokens", "score", "scores")
_runs, _candidates, _results = PromptGeneration.__table__, PromptCandidate.__table__, PromptCandidateResult.__table__


def create(engine: Engine, project: str, dataset: str, dataset_version: int, task: str, spec: Mapping[str, Any],
           model: str | None) -> int:
    """A new run in status `proposing`; its id."""
    with write_transaction(engine) as conn:
        project_id = ensure_projects(conn, {project})[project]
        dataset_id = id_by_name(conn, Dataset, project, dataset, "dataset")
        now = now_us()
        row = {"project_id": project_id, "dataset_id": dataset_id, "dataset_version": dataset_version, "task": task,
               "spec": dict(spec), "model": model, "status": "proposing", "done": 0, "total": 0, "notes": [],
               "created_us": now, "updated_us": now}
        return conn.execute(_runs.insert().returning(_runs.c.id), row).scalar_one()


def set_candidates(engine: Engine, run_id: int, candidates: Sequence[Mapping[str, Any]], total: int,
                   notes: Sequence[str]) -> dict[int, int]:
    """Store the proposed candidates and move the run to `scoring`; candidate ids by position."""
    with write_transaction(engine) as conn:
        ids = {}
        for c in candidates:
            row = {"generation_id": run_id, **{k: c.get(k) for k in ("position", "status", "error", "template", "origin")}}
            ids[c["position"]] = conn.execute(_candidates.insert().returning(_candidates.c.id), row).scalar_one()
        conn.execute(update(PromptGeneration).where(PromptGeneration.id == run_id).values(
            status="scoring", total=total, notes=list(notes), updated_us=now_us()))
    return ids


def add_results(engine: Engine, run_id: int, candidate_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
    """One chunk of a candidate's results and the run's progress, in one transaction."""
    with write_transaction(engine) as conn:
        if rows:
            conn.execute(_results.insert(), [{"candidate_id": candidate_id, **{k: r.get(k) for k in RESULT_FIELDS}}
                                             for r in rows])
        conn.execute(update(PromptGeneration).where(PromptGeneration.id == run_id).values(
            done=PromptGeneration.done + len(rows), updated_us=now_us()))


def finish(engine: Engine, run_id: int, status: str, *, error: str | None = None,
           summaries: Mapping[int, Mapping[str, Any]] | None = None, ranks: Mapping[int, int] | None = None) -> None:
    """End the run: each candidate's summary and rank (by candidate id), the final status."""
    with write_transaction(engine) as conn:
        for candidate_id, summary in (summaries or {}).items():
            conn.execute(update(PromptCandidate).where(PromptCandidate.id == candidate_id).values(
                summary=dict(summary), rank=(ranks or {}).get(candidate_id)))
        now = now_us()
        conn.execute(update(PromptGeneration).where(PromptGeneration.id == run_id).values(
            status=status, error=error, updated_us=now, finished_us=now))


def mark_saved(engine: Engine, candidate_id: int, name: str, version: int) -> None:
    """Remember that a candidate was saved as `name` v`version` (shown on the run page)."""
    with write_transaction(engine) as conn:
        saved = conn.execute(select(PromptCandidate.saved).where(PromptCandidate.id == candidate_id)).scalar() or []
        conn.execute(update(PromptCandidate).where(PromptCandidate.id == candidate_id).values(
            saved=[*saved, {"name": name, "version": version}]))


def _run_select() -> Any:
    return (select(*(getattr(PromptGeneration, f) for f in RUN_FIELDS), Project.name.label("project"),
                   Dataset.name.label("dataset"))
            .join(Project, Project.id == PromptGeneration.project_id)
            .join(Dataset, Dataset.id == PromptGeneration.dataset_id))


def list_runs(engine: Engine, project: str, limit: int = 100) -> list[dict[str, Any]]:
    """The project's runs, newest first, each with its best candidate's summary."""
    with engine.connect() as conn:
        runs = [dict(r._mapping) for r in conn.execute(
            _run_select().where(Project.name == project).order_by(PromptGeneration.id.desc()).limit(limit))]
        best = {r.generation_id: dict(r._mapping) for r in conn.execute(
            select(PromptCandidate.generation_id, PromptCandidate.position, PromptCandidate.summary)
            .where(PromptCandidate.generation_id.in_([r["id"] for r in runs]), PromptCandidate.rank == 1))}
    return [{**r, "best": best.get(r["id"])} for r in runs]


def get(engine: Engine, run_id: int, *, results: bool = True) -> dict[str, Any]:
    """A run with its candidates (ranked first, in rank order, then the rest by position) and, when
    `results`, each candidate's per-example results beside the example's input and expected output."""
    with engine.connect() as conn:
        head = conn.execute(_run_select().where(PromptGeneration.id == run_id)).first()
        if head is None:
            raise NotFound(f"there is no prompt generation run {run_id}; list them with "
                           "GET /api/v1/projects/{project}/prompt-generations")
        rows = conn.execute(select(*(getattr(PromptCandidate, f) for f in CANDIDATE_FIELDS))
                            .where(PromptCandidate.generation_id == run_id)).mappings().all()
        candidates = sorted((dict(r) for r in rows), key=lambda c: (c["rank"] is None, c["rank"] or 0, c["position"]))
        by_candidate: dict[int, list[dict[str, Any]]] = {}
        if results and candidates:
            found = conn.execute(select(_results, DatasetExample.input, DatasetExample.expected)
                                 .join(DatasetExample, DatasetExample.id == _results.c.example_id)
                                 .where(_results.c.candidate_id.in_([c["id"] for c in candidates]))
                                 .order_by(_results.c.example_id)).mappings().all()
            for r in found:
                by_candidate.setdefault(r["candidate_id"], []).append(
                    {k: r[k] for k in (*RESULT_FIELDS, "input", "expected")})
    out = dict(head._mapping)
    out["candidates"] = [{**c, **({"results": by_candidate.get(c["id"], [])} if results else {})} for c in candidates]
    return out
