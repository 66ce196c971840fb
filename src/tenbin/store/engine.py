"""The one place the SQL dialect is chosen: SQLite (default, embedded) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from tenbin import config


def normalize_url(url: str) -> str:
    """Map `postgresql://` and `postgres://` to the psycopg 3 driver; leave others untouched."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def dumps_json(value: Any) -> str:
    """JSON columns through orjson: span attributes are most of ingest's bytes, and the stdlib
    encoder was a fifth of its CPU. Integers beyond 64 bits, which orjson refuses, fall back."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def make_engine(url: str | None = None) -> Engine:
    """Create the engine for `url` (or TENBIN_DATABASE_URL, or the SQLite default)."""
    url = normalize_url(config.database_url(url))
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_serializer=dumps_json
    )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=dumps_json
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # WAL lets readers run beside the single writer; FULL sync because a span is acknowledged
        # only after its commit, which must survive a power cut.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # Let SQLAlchemy, not the sqlite3 module, open transactions, so SAVEPOINTs work
        # (the per-span fallback of ingest needs them).
        dbapi_conn.isolation_level = None
        dbapi_conn.create_aggregate("tb_percentile", 2, _Percentile)

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        # A transaction that reads then writes must take the write lock up front: two deferred
        # ones that both try to upgrade deadlock, and SQLite fails one at once ("database is locked").
        immediate = conn.get_execution_options().get("tenbin_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class _Percentile:
    """SQLite has no percentile aggregate; PostgreSQL's `percentile_cont` semantics, in Python."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q = 0.5

    def step(self, value: float | None, q: float) -> None:
        if value is not None:
            self.values.append(value)
        self.q = q

    def finalize(self) -> float | None:
        if not self.values:
            return None
        vals = sorted(self.values)
        pos = (len(vals) - 1) * self.q
        lo = int(pos)
        hi = min(lo + 1, len(vals) - 1)
        return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock when it begins."""
    with engine.connect() as conn:
        conn = conn.execution_options(tenbin_write=True)
        with conn.begin():
            yield conn


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
