"""Embedding analysis runs and their results (tables in store/models/analyses.py, migration 0007).

Tables
- `analyses`: one row per run. `params` (JSON) holds what was asked — window, baseline, field,
  embedding model, filter — and the UMAP/HDBSCAN settings used; `status` goes queued → running →
  done | failed, with `stage`/`progress` (0..1) while running and `error` when it failed;
  `n_production`/`n_baseline` count the points; `drift` (JSON) is the global drift (method,
  statistic, p-value, centroid distance); `summary` (JSON) the whole-selection metrics that cluster
  lifts compare against.
- `analysis_clusters`: one row per (run, cluster). Cluster -1 is HDBSCAN's noise: stored with its
  metrics, never ranked (`problem_score`/`rank` null). `metrics` (JSON) is the per-cluster table
  row (shares, drift ratio, thumbs-down rate and lift, scores, latency, tokens, top metadata values,
  prompt versions, `sample_span_ids` nearest the centre); `rank` 1 is the worst problem. `report`
  and `report_details` are null until the LLM report job writes them with `set_report`.
- `analysis_points`: one row per (run, side, span): side is "production" or "baseline" (a span can
  be on both sides, e.g. a dataset baseline built from recent spans), its cluster, 2D (x, y) and 3D
  (x3, y3, z3) display coordinates.

Read functions: `get_analysis`, `list_analyses`, `clusters(analysis_id)`, `points(analysis_id)`
(with the span fields a scatter colours by), `samples(analysis_id, cluster)` and
`cluster_span_ids`. The pipeline writes with `create_analysis`, `set_progress`, `save_results`
and `fail_analysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, case, delete, func, select, update

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.analysis_inputs import span_feedback_join
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Feedback, Project, Span, Trace
from tenbin.store.models.analyses import Analysis, AnalysisCluster, AnalysisPoint
from tenbin.store.queries import iso, project_id

SIDES = ("production", "baseline")
NOISE = -1
_ANALYSIS_FIELDS = ("id", "params", "status", "stage", "progress", "error", "n_production", "n_baseline",
                    "drift", "summary", "created_us", "finished_us")
_POINT_FIELDS = ("span_id", "side", "cluster", "x", "y", "x3", "y3", "z3")
_INSERT_CHUNK = 5000


def create_analysis(engine: Engine, project: str, params: dict[str, Any]) -> int:
    """A new run in status `queued`; returns its id."""
    with write_transaction(engine) as conn:
        pid = project_id(conn, project)
        return int(conn.execute(Analysis.__table__.insert().values(
            project_id=pid, params=params, status="queued", progress=0.0, created_us=now_us(), updated_us=now_us())
            .returning(Analysis.id)).scalar_one())


def set_progress(engine: Engine, analysis_id: int, stage: str, progress: float) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(Analysis).where(Analysis.id == analysis_id).values(
            status="running", stage=stage, progress=max(0.0, min(1.0, progress)), updated_us=now_us()))


def fail_analysis(engine: Engine, analysis_id: int, error: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(Analysis).where(Analysis.id == analysis_id).values(
            status="failed", error=error, finished_us=now_us()))


def save_results(engine: Engine, analysis_id: int, *, drift: dict[str, Any], summary: dict[str, Any],
                 clusters: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]]) -> None:
    """Write a finished run's clusters and points and mark it done, all in one transaction."""
    n_prod = sum(1 for p in points if p["side"] == "production")
    with write_transaction(engine) as conn:
        conn.execute(delete(AnalysisPoint).where(AnalysisPoint.analysis_id == analysis_id))
        conn.execute(delete(AnalysisCluster).where(AnalysisCluster.analysis_id == analysis_id))
        if clusters:
            conn.execute(AnalysisCluster.__table__.insert(), [{"analysis_id": analysis_id, **c} for c in clusters])
        for i in range(0, len(points), _INSERT_CHUNK):
            conn.execute(AnalysisPoint.__table__.insert(),
                         [{"analysis_id": analysis_id, **p} for p in points[i:i + _INSERT_CHUNK]])
        conn.execute(update(Analysis).where(Analysis.id == analysis_id).values(
            status="done", stage="done", progress=1.0, drift=drift, summary=summary, n_production=n_prod,
            n_baseline=len(points) - n_prod, finished_us=now_us()))


def _analysis_dict(row: Any, project: str) -> dict[str, Any]:
    out = {f: getattr(row, f) for f in _ANALYSIS_FIELDS}
    out.update(project=project, created_time=iso(row.created_us), finished_time=iso(row.finished_us))
    return out


def _row(conn: Any, analysis_id: int, project: str | None) -> tuple[Any, str]:
    stmt = (select(Analysis.__table__, Project.name.label("project_name"))
            .join(Project, Project.id == Analysis.project_id).where(Analysis.id == analysis_id))
    found = conn.execute(stmt).first()
    if found is None or (project is not None and found.project_name != project):
        where = f" in project {project!r}" if project else ""
        raise NotFound(f"no analysis {analysis_id}{where}; list them with `tenbin analyze --list` "
                       "or GET /api/v1/projects/<project>/analyses")
    return found, found.project_name


def get_analysis(engine: Engine, analysis_id: int, project: str | None = None) -> dict[str, Any]:
    """The run's status, parameters, global drift and summary (clusters and points are separate reads)."""
    with engine.connect() as conn:
        row, name = _row(conn, analysis_id, project)
    return _analysis_dict(row, name)


def list_analyses(engine: Engine, project: str, limit: int = 50) -> list[dict[str, Any]]:
    """The project's runs, newest first."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000; got {limit}")
    with engine.connect() as conn:
        pid = project_id(conn, project)
        rows = conn.execute(select(Analysis.__table__).where(Analysis.project_id == pid)
                            .order_by(Analysis.created_us.desc(), Analysis.id.desc()).limit(limit)).all()
    return [_analysis_dict(r, project) for r in rows]


def delete_analysis(engine: Engine, analysis_id: int, project: str | None = None) -> None:
    with write_transaction(engine) as conn:
        _row(conn, analysis_id, project)
        conn.execute(delete(Analysis).where(Analysis.id == analysis_id))


def clusters(engine: Engine, analysis_id: int) -> list[dict[str, Any]]:
    """The run's clusters, worst problem (rank 1) first; the noise cluster (-1), unranked, last."""
    unranked_last = case((AnalysisCluster.rank.is_(None), 1), else_=0)
    with engine.connect() as conn:
        _row(conn, analysis_id, None)
        rows = conn.execute(select(AnalysisCluster.__table__).where(AnalysisCluster.analysis_id == analysis_id)
                            .order_by(unranked_last, AnalysisCluster.rank, AnalysisCluster.cluster)).all()
    return [{"cluster": r.cluster, "size": r.size, "label": r.label, "problem_score": r.problem_score,
             "rank": r.rank, "metrics": r.metrics, "report": r.report, "report_details": r.report_details}
            for r in rows]


def set_report(engine: Engine, analysis_id: int, cluster: int, report: str | None,
               details: dict[str, Any] | None = None) -> None:
    """Store (or clear) the LLM report of one cluster."""
    with write_transaction(engine) as conn:
        found = conn.execute(update(AnalysisCluster).where(
            AnalysisCluster.analysis_id == analysis_id, AnalysisCluster.cluster == cluster)
            .values(report=report, report_details=details))
        if found.rowcount == 0:
            raise NotFound(f"analysis {analysis_id} has no cluster {cluster}")


def cluster_span_ids(engine: Engine, analysis_id: int, cluster: int | None = None,
                     side: str | None = None) -> list[str]:
    """Span ids of the run (optionally of one cluster and/or side), in a stable order."""
    stmt = select(AnalysisPoint.span_id).where(AnalysisPoint.analysis_id == analysis_id)
    if cluster is not None:
        stmt = stmt.where(AnalysisPoint.cluster == cluster)
    if side is not None:
        stmt = stmt.where(AnalysisPoint.side == _check_side(side))
    with engine.connect() as conn:
        return list(dict.fromkeys(conn.execute(stmt.order_by(AnalysisPoint.span_id)).scalars()))


def _check_side(side: str) -> str:
    if side not in SIDES:
        raise InvalidInput(f"side must be one of {', '.join(SIDES)}; got {side!r}")
    return side


def points(engine: Engine, analysis_id: int, cluster: int | None = None) -> list[dict[str, Any]]:
    """Every point with what a scatter colours by: prompt name/version, latency, metadata and the
    span's thumbs (mean of its own and its trace's thumbs feedback: 1 = up, 0 = down, None: none)."""
    thumbs = (select(AnalysisPoint.span_id, func.avg(Feedback.value).label("thumbs"))
              .join(Span, Span.span_id == AnalysisPoint.span_id).join(Trace, Trace.trace_id == Span.trace_id)
              .join(Feedback, span_feedback_join())
              .where(AnalysisPoint.analysis_id == analysis_id, Feedback.kind == "thumbs")
              .group_by(AnalysisPoint.span_id).subquery())
    stmt = (select(*(getattr(AnalysisPoint, f) for f in _POINT_FIELDS), Span.prompt_name, Span.prompt_version,
                   Span.latency_ms, Span.meta.label("metadata"), thumbs.c.thumbs)
            .join(Span, Span.span_id == AnalysisPoint.span_id)
            .outerjoin(thumbs, thumbs.c.span_id == AnalysisPoint.span_id)
            .where(AnalysisPoint.analysis_id == analysis_id)
            .order_by(AnalysisPoint.side, AnalysisPoint.span_id))
    if cluster is not None:
        stmt = stmt.where(AnalysisPoint.cluster == cluster)
    with engine.connect() as conn:
        _row(conn, analysis_id, None)
        return [dict(r._mapping) for r in conn.execute(stmt)]


def samples(engine: Engine, analysis_id: int, cluster: int, limit: int = 5) -> list[dict[str, Any]]:
    """The cluster's representative spans (nearest its centre, as the run chose them), with their text."""
    with engine.connect() as conn:
        _row(conn, analysis_id, None)
        metrics = conn.execute(select(AnalysisCluster.metrics).where(
            AnalysisCluster.analysis_id == analysis_id, AnalysisCluster.cluster == cluster)).scalar()
        if metrics is None:
            raise NotFound(f"analysis {analysis_id} has no cluster {cluster}")
        ids = list(metrics.get("sample_span_ids") or [])[:limit]
        rows = {r.span_id: dict(r._mapping) for r in conn.execute(
            select(Span.span_id, Span.trace_id, Span.name, Span.start_us, Span.latency_ms, Span.input_value,
                   Span.output_value, Span.prompt_name, Span.prompt_version, Span.meta.label("metadata"))
            .where(Span.span_id.in_(ids)))}
    return [{**rows[s], "start_time": iso(rows[s]["start_us"])} for s in ids if s in rows]
