"""Writing spans: idempotent inserts plus the per-trace summary row, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Connection, Dialect, func, select
from sqlalchemy.dialects import postgresql, sqlite

from tenbin.store.engine import dumps_json
from tenbin.store.models import Project, Span, Trace, utcnow

_spans = Span.__table__
_traces = Trace.__table__
_projects = Project.__table__


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def ensure_projects(conn: Connection, names: set[str]) -> dict[str, int]:
    """Project ids by name, creating missing projects (safe under concurrent writers)."""
    if not names:
        return {}
    rows = conn.execute(select(_projects.c.name, _projects.c.id).where(_projects.c.name.in_(names)))
    ids = {name: pid for name, pid in rows}
    missing = names - ids.keys()
    if missing:
        stmt = _insert(conn, _projects).on_conflict_do_nothing(index_elements=["name"])
        conn.execute(stmt, [{"name": n, "created_at": utcnow()} for n in sorted(missing)])
        rows = conn.execute(select(_projects.c.name, _projects.c.id).where(_projects.c.name.in_(missing)))
        ids.update(dict(rows.all()))
    return ids


def insert_spans(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert span rows (with `project_id` set); a span already stored is left as it is.

    Ingest's hot path: the statement is compiled by SQLAlchemy once per dialect, then the rows go to
    the driver's `executemany` as plain parameters (JSON columns encoded here), which skips
    SQLAlchemy's per-row parameter processing, a third of the writer's Python time.
    """
    if not rows:
        return
    sql, keys, positional = _span_insert(conn.dialect)
    if positional:
        params: list[Any] = [tuple([_encode(key, row.get(key)) for key in keys]) for row in rows]
    else:
        params = [{key: _encode(key, row.get(key)) for key in keys} for row in rows]
    conn.exec_driver_sql(sql, params)
    _upsert_traces(conn, rows)


_JSON_KEYS = frozenset(c.name for c in _spans.columns if isinstance(c.type, JSON))


def _encode(key: str, value: Any) -> Any:
    return dumps_json(value) if value is not None and key in _JSON_KEYS else value


_COMPILED: dict[tuple[str, str], tuple[str, tuple[str, ...], bool]] = {}


def _span_insert(dialect: Dialect) -> tuple[str, tuple[str, ...], bool]:
    """The idempotent span INSERT for `dialect`: SQL text, parameter names in order, positional or not."""
    cache_key = (dialect.name, dialect.paramstyle)
    if cache_key not in _COMPILED:
        module = postgresql if dialect.name == "postgresql" else sqlite
        keys = tuple(c.name for c in _spans.columns)
        compiled = module.insert(_spans).on_conflict_do_nothing(index_elements=["span_id"]).compile(
            dialect=dialect, column_keys=list(keys))
        positional = compiled.positiontup is not None
        _COMPILED[cache_key] = (str(compiled), tuple(compiled.positiontup or keys), positional)
    return _COMPILED[cache_key]


def _upsert_traces(conn: Connection, rows: list[dict[str, Any]]) -> None:
    traces: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = traces.get(r["trace_id"])
        if t is None:
            traces[r["trace_id"]] = {
                "trace_id": r["trace_id"],
                "project_id": r["project_id"],
                "start_us": r["start_us"],
                "end_us": r["end_us"],
                "root_span_id": None if r["parent_id"] else r["span_id"],
                "session_id": r["session_id"],
                "user_id": r["user_id"],
            }
            continue
        t["start_us"] = min(t["start_us"], r["start_us"])
        t["end_us"] = max(t["end_us"], r["end_us"])
        t["root_span_id"] = t["root_span_id"] or (None if r["parent_id"] else r["span_id"])
        t["session_id"] = t["session_id"] or r["session_id"]
        t["user_id"] = t["user_id"] or r["user_id"]
    stmt = _insert(conn, _traces)
    least, greatest = (func.least, func.greatest) if conn.dialect.name == "postgresql" else (func.min, func.max)
    stmt = stmt.on_conflict_do_update(
        index_elements=["trace_id"],
        set_={
            "start_us": least(_traces.c.start_us, stmt.excluded.start_us),
            "end_us": greatest(_traces.c.end_us, stmt.excluded.end_us),
            "root_span_id": func.coalesce(_traces.c.root_span_id, stmt.excluded.root_span_id),
            "session_id": func.coalesce(_traces.c.session_id, stmt.excluded.session_id),
            "user_id": func.coalesce(_traces.c.user_id, stmt.excluded.user_id),
        },
    )
    conn.execute(stmt, sorted(traces.values(), key=lambda t: t["trace_id"]))
