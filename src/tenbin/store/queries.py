"""Read queries for spans, traces and sessions. All SQL for reads lives here and in `metrics.py`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, case, func, select

from tenbin.errors import InvalidInput, NotFound
from tenbin.filters import compile_filter
from tenbin.store.models import Feedback, Project, Span, Trace
from tenbin.store.pages import Page, keyset, page_of

SPAN_SORTS = {"start_time": Span.start_us, "latency_ms": Span.latency_ms}
TRACE_SORTS = {"start_time": Trace.start_us, "latency_ms": Trace.latency_us}


@dataclass
class SpanQuery:
    """What every list takes: a project, an optional filter expression and time range (µs)."""

    project: str
    filter: str = ""
    start_us: int | None = None
    end_us: int | None = None


def iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def span_dict(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["start_time"], d["end_time"] = iso(d["start_us"]), iso(d["end_us"])
    return d


def list_projects(engine: Engine) -> list[dict[str, Any]]:
    stmt = (
        select(Project.name, Project.created_at, func.count(Trace.trace_id).label("trace_count"),
               func.max(Trace.start_us).label("last_start_us"))
        .outerjoin(Trace, Trace.project_id == Project.id)
        .group_by(Project.id)
        .order_by(Project.name)
    )
    with engine.connect() as conn:
        return [
            {"name": r.name, "created_at": r.created_at.isoformat() if r.created_at else None,
             "trace_count": r.trace_count, "last_trace_time": iso(r.last_start_us)}
            for r in conn.execute(stmt)
        ]


def project_id(conn: Any, name: str) -> int:
    pid = conn.execute(select(Project.id).where(Project.name == name)).scalar()
    if pid is None:
        raise NotFound(f"no project named {name!r}; a project appears when its first span arrives")
    return pid


def span_conditions(conn: Any, q: SpanQuery) -> list[Any]:
    conds = [Span.project_id == project_id(conn, q.project), compile_filter(q.filter)]
    if q.start_us is not None:
        conds.append(Span.start_us >= q.start_us)
    if q.end_us is not None:
        conds.append(Span.start_us < q.end_us)
    return conds


def _sort(sorts: dict[str, Any], sort: str) -> Any:
    if sort not in sorts:
        raise InvalidInput(f"cannot sort by {sort!r}; choose one of: {', '.join(sorts)}")
    return sorts[sort]


def list_spans(engine: Engine, q: SpanQuery, limit: int = 50, cursor: str | None = None,
               sort: str = "start_time", descending: bool = True) -> Page:
    key = _sort(SPAN_SORTS, sort)
    with engine.connect() as conn:
        stmt = select(Span, key.label("_key")).where(*span_conditions(conn, q))
        rows = [span_dict(r) for r in conn.execute(keyset(stmt, key, Span.span_id, descending, cursor, limit))]
    page = page_of(rows, limit, "_key", "span_id")
    for item in page.items:
        item.pop("_key")
    return page


def list_traces(engine: Engine, q: SpanQuery, limit: int = 50, cursor: str | None = None,
                sort: str = "start_time", descending: bool = True) -> Page:
    """Traces in the project, newest first; with a filter, those with at least one matching span."""
    key = _sort(TRACE_SORTS, sort)
    with engine.connect() as conn:
        pid = project_id(conn, q.project)
        stmt = select(Trace, key.label("_key")).where(Trace.project_id == pid)
        if q.start_us is not None:
            stmt = stmt.where(Trace.start_us >= q.start_us)
        if q.end_us is not None:
            stmt = stmt.where(Trace.start_us < q.end_us)
        if q.filter.strip():
            matching = select(Span.span_id).where(Span.trace_id == Trace.trace_id, compile_filter(q.filter))
            stmt = stmt.where(matching.exists())
        rows = [dict(r._mapping) for r in conn.execute(keyset(stmt, key, Trace.trace_id, descending, cursor, limit))]
        page = page_of(rows, limit, "_key", "trace_id")
        _decorate_traces(conn, page.items)
    return page


def _decorate_traces(conn: Any, traces: list[dict[str, Any]]) -> None:
    """Add root-span fields, span/token/cost/error totals and feedback to a page of traces; `cost_computed`
    says whether any of the cost was computed by tenbin from model prices."""
    ids = [t["trace_id"] for t in traces]
    if not ids:
        return
    totals = {
        r.trace_id: r
        for r in conn.execute(
            select(Span.trace_id, func.count().label("span_count"),
                   func.sum(Span.total_tokens).label("total_tokens"), func.sum(Span.cost).label("cost"),
                   func.max(case((Span.cost_computed.is_(True), 1), else_=0)).label("cost_computed"),
                   func.sum(case((Span.status == "ERROR", 1), else_=0)).label("error_count"))
            .where(Span.trace_id.in_(ids)).group_by(Span.trace_id)
        )
    }
    roots = _root_spans(conn, traces)
    feedback = feedback_summary(conn, [r["span_id"] for r in roots.values()])
    for t in traces:
        t.pop("_key", None)
        tot, root = totals.get(t["trace_id"]), roots.get(t["trace_id"], {})
        t.update(
            start_time=iso(t["start_us"]), end_time=iso(t["end_us"]),
            latency_ms=(t["end_us"] - t["start_us"]) / 1000,
            span_count=tot.span_count if tot else 0, total_tokens=tot.total_tokens if tot else None,
            cost=tot.cost if tot else None, cost_computed=bool(tot and tot.cost_computed),
            error_count=tot.error_count if tot else 0,
            root=root, feedback=feedback.get(root.get("span_id"), {}),
        )


ROOT_FIELDS = (Span.span_id, Span.trace_id, Span.name, Span.kind, Span.status, Span.input_value,
               Span.output_value, Span.model, Span.prompt_name, Span.prompt_version, Span.session_step)


def _root_spans(conn: Any, traces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each trace's root span; a trace whose root never arrived shows its earliest span."""
    root_ids = [t["root_span_id"] for t in traces if t["root_span_id"]]
    out = {r.trace_id: dict(r._mapping) for r in conn.execute(select(*ROOT_FIELDS).where(Span.span_id.in_(root_ids)))}
    for t in traces:
        if t["trace_id"] not in out:
            first = conn.execute(
                select(*ROOT_FIELDS).where(Span.trace_id == t["trace_id"]).order_by(Span.start_us).limit(1)
            ).first()
            if first:
                out[t["trace_id"]] = dict(first._mapping)
    return out


def feedback_summary(conn: Any, span_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per span: {name: {"count", "mean"}} over its feedback (thumbs: mean = thumbs-up rate)."""
    if not span_ids:
        return {}
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    stmt = (
        select(Feedback.span_id, Feedback.name, func.count().label("n"), func.avg(Feedback.value).label("mean"))
        .where(Feedback.span_id.in_(span_ids)).group_by(Feedback.span_id, Feedback.name)
    )
    for r in conn.execute(stmt):
        out[r.span_id][r.name] = {"count": r.n, "mean": r.mean}
    return dict(out)


def get_trace(engine: Engine, trace_id: str, project: str | None = None) -> dict[str, Any]:
    """One trace as a tree; spans whose parent never arrived are shown as extra roots."""
    with engine.connect() as conn:
        trace = conn.execute(
            select(Trace, Project.name.label("project")).join(Project, Project.id == Trace.project_id)
            .where(Trace.trace_id == trace_id)
        ).first()
        if trace is None or (project is not None and trace.project != project):
            raise NotFound(f"no trace with id {trace_id!r}")
        spans = [span_dict(r) for r in conn.execute(select(Span).where(Span.trace_id == trace_id).order_by(Span.start_us))]
        feedback = list_feedback(conn, trace_id)
    by_id = {s["span_id"]: {**s, "children": [], "feedback": []} for s in spans}
    for f in feedback:
        if f["span_id"] in by_id:
            by_id[f["span_id"]]["feedback"].append(f)
    roots = []
    for s in by_id.values():
        parent = by_id.get(s["parent_id"]) if s["parent_id"] else None
        s["orphan"] = bool(s["parent_id"]) and parent is None
        (parent["children"] if parent else roots).append(s)
    t = dict(trace._mapping)
    costs = [s["cost"] for s in spans if s["cost"] is not None]
    return {**t, "start_time": iso(t["start_us"]), "end_time": iso(t["end_us"]),
            "latency_ms": (t["end_us"] - t["start_us"]) / 1000, "span_count": len(spans), "roots": roots,
            "cost": sum(costs) if costs else None, "cost_computed": any(s["cost_computed"] for s in spans)}


def get_span(engine: Engine, span_id: str, project: str | None = None) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(Span, Project.name.label("project")).join(Project, Project.id == Span.project_id)
            .where(Span.span_id == span_id)
        ).first()
        if row is None or (project is not None and row.project != project):
            raise NotFound(f"no span with id {span_id!r}")
        span = span_dict(row)
        span["feedback"] = list_feedback(conn, span["trace_id"], span_id)
    return span


def list_feedback(conn: Any, trace_id: str, span_id: str | None = None) -> list[dict[str, Any]]:
    """Feedback of a trace, oldest first; only one span's when `span_id` is given."""
    stmt = select(Feedback).where(Feedback.trace_id == trace_id)
    if span_id is not None:
        stmt = stmt.where(Feedback.span_id == span_id)
    rows = conn.execute(stmt.order_by(Feedback.id))
    return [{**dict(r._mapping), "created_at": iso(r.created_us)} for r in rows]


def get_session(engine: Engine, project: str, session_id: str) -> dict[str, Any]:
    """A conversation: its traces in order, each a turn with step, latency, input/output, feedback."""
    with engine.connect() as conn:
        pid = project_id(conn, project)
        traces = [dict(r._mapping) for r in conn.execute(
            select(Trace).where(Trace.project_id == pid, Trace.session_id == session_id).order_by(Trace.start_us)
        )]
        if not traces:
            raise NotFound(f"no session {session_id!r} in project {project!r}")
        _decorate_traces(conn, traces)
    turns = []
    for i, t in enumerate(traces, start=1):
        root = t["root"]
        turns.append({
            "step": root.get("session_step") or i, "trace_id": t["trace_id"], "start_time": t["start_time"],
            "latency_ms": t["latency_ms"], "input": root.get("input_value"), "output": root.get("output_value"),
            "status": root.get("status"), "feedback": t["feedback"], "total_tokens": t["total_tokens"],
        })
    return {"session_id": session_id, "project": project, "user_id": traces[0]["user_id"], "turns": turns}
