"""Writing spans: idempotent inserts plus the per-trace summary row, in the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from tenbin.store.engine import dumps_json
from tenbin.store.models import Project, Span, Trace, utcnow

_spans = Span.__table__
_traces = Trace.__table__
_projects = Project.__table__


def _insert(conn: Connection, table: Any) -> Any:
    return _dialect_module(conn.dialect).insert(table)


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
    """Insert span rows (with `project_id` set; other keys are ignored); a span already stored is
    left as it is, and each row's trace summary is created or widened."""
    if not rows:
        return
    encode_json(rows)
    _insert_many(conn, _SPANS, rows)
    _upsert_traces(conn, rows)


CHUNK_ROWS = (256, 32, 4, 1)
"""Rows per multi-row INSERT: a batch is cut greedily into these sizes, so each dialect compiles
(and the driver prepares) at most four statement shapes per table."""


class _Table:
    """How rows of one table are written: its statement (given the VALUES rows) and columns."""

    def __init__(self, table: Table, keys: Sequence[str], build: Callable[[Dialect, list[dict[str, Any]]], Any]):
        self.name, self.keys, self.build = table.name, tuple(keys), build

    def values(self, row: dict[str, Any]) -> list[Any]:
        return [row.get(key) for key in self.keys]


JSON_ENCODED = "_json_encoded"
"""Marks a span row whose JSON columns hold encoded text (see `encode_json`)."""
_SPAN_JSON = tuple(c.name for c in _spans.columns if isinstance(c.type, JSON))


def encode_json(rows: list[dict[str, Any]]) -> None:
    """Encode the JSON columns of span rows in place, as the engine's serializer would; rows already
    encoded are left alone. Ingest calls this before queueing, in the submitting thread, so the single
    writer thread spends its time in the database (the encoding was a tenth of its time per span)."""
    for row in rows:
        if row.get(JSON_ENCODED):
            continue
        for key in _SPAN_JSON:
            if row.get(key) is not None:
                row[key] = dumps_json(row[key])
        row[JSON_ENCODED] = True


@dataclass(frozen=True)
class _Shape:
    """One compiled multi-row statement. Its parameters run row by row, each row in the table's
    `keys` order (checked when compiled), so a chunk's values are passed flattened as they are."""

    sql: str
    names: tuple[str, ...] | None  # None: positional paramstyle (SQLite's qmark)

    def params(self, values: list[list[Any]]) -> Any:
        flat = chain.from_iterable(values)
        return tuple(flat) if self.names is None else dict(zip(self.names, flat))


_SHAPES: dict[tuple[str, str, str, int], _Shape] = {}


def _shape(dialect: Dialect, table: _Table, rows: int) -> _Shape:
    cache_key = (table.name, dialect.name, dialect.paramstyle, rows)
    if cache_key not in _SHAPES:
        names = [f"{k}__{i}" for i in range(rows) for k in table.keys]
        compiled = table.build(dialect, [{k: bindparam(f"{k}__{i}") for k in table.keys} for i in range(rows)]
                               ).compile(dialect=dialect)
        if compiled.positiontup is not None and list(compiled.positiontup) != names:
            raise AssertionError(f"{table.name}: SQLAlchemy ordered the INSERT parameters unexpectedly")
        _SHAPES[cache_key] = _Shape(str(compiled), None if compiled.positiontup is not None else tuple(names))
    return _SHAPES[cache_key]


def _insert_many(conn: Connection, table: _Table, rows: list[dict[str, Any]]) -> None:
    """Write rows with multi-row statements compiled once per shape, fed plain driver parameters.

    Ingest's hot path. SQLAlchemy's per-row parameter processing was a third of the writer's Python
    time; and `executemany` releases and retakes the GIL once per row, so while the server's other
    thread decodes requests the writer waited up to a switch interval for every row. One statement
    per chunk takes the GIL once per chunk.
    """
    values = [table.values(row) for row in rows]
    most = _max_rows(conn, len(table.keys))
    start = 0
    while start < len(values):
        size = next(n for n in CHUNK_ROWS if n <= min(most, len(values) - start))
        shape = _shape(conn.dialect, table, size)
        conn.exec_driver_sql(shape.sql, shape.params(values[start:start + size]))
        start += size


def _max_rows(conn: Connection, columns: int) -> int:
    """Rows one statement may carry under the driver's bound-parameter limit (SQLite's is 32,766 since
    3.32 but may be compiled lower, e.g. 999; PostgreSQL's protocol allows 65,535)."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    else:
        limit = 65_535
    return max(1, limit // columns)


def _dialect_module(dialect: Dialect) -> Any:
    return postgresql if dialect.name == "postgresql" else sqlite


def _span_insert(dialect: Dialect, values: list[dict[str, Any]]) -> Any:
    return _dialect_module(dialect).insert(_spans).values(values).on_conflict_do_nothing(index_elements=["span_id"])


_TRACE_KEYS = ["trace_id", "project_id", "start_us", "end_us", "root_span_id", "session_id", "user_id"]


def _trace_upsert(dialect: Dialect, values: list[dict[str, Any]]) -> Any:
    """Insert a trace's summary, or widen the stored one: earliest start, latest end, first root,
    session and user."""
    stmt = _dialect_module(dialect).insert(_traces).values(values)
    least, greatest = (func.least, func.greatest) if dialect.name == "postgresql" else (func.min, func.max)
    return stmt.on_conflict_do_update(
        index_elements=["trace_id"],
        set_={
            "start_us": least(_traces.c.start_us, stmt.excluded.start_us),
            "end_us": greatest(_traces.c.end_us, stmt.excluded.end_us),
            "root_span_id": func.coalesce(_traces.c.root_span_id, stmt.excluded.root_span_id),
            "session_id": func.coalesce(_traces.c.session_id, stmt.excluded.session_id),
            "user_id": func.coalesce(_traces.c.user_id, stmt.excluded.user_id),
        },
    )


NOT_INGESTED = ("cost_computed",)
"""Span columns ingest leaves NULL: tenbin's cost job sets them later (see `tenbin.costs`)."""
_SPANS = _Table(_spans, [c.name for c in _spans.columns if c.name not in NOT_INGESTED], _span_insert)
_TRACES = _Table(_traces, _TRACE_KEYS, _trace_upsert)


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
    _insert_many(conn, _TRACES, sorted(traces.values(), key=lambda t: t["trace_id"]))
