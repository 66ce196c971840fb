"""The one place the SQL dialect is chosen: SQLite (default, embedded) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from tenbin import config


def normalize_url(url: str) -> str:
    """Map `postgresql://` and `postgres://` to the psycopg 3 driver; leave others untouched."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None) -> Engine:
    """Create the engine for `url` (or TENBIN_DATABASE_URL, or the SQLite default)."""
    url = normalize_url(config.database_url(url))
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
        conn.exec_driver_sql("BEGIN")

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


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
