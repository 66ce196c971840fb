"""Label moves and saves made in the UI record who made them: the signed-in key's name with
TENBIN_AUTH=1, "ui" when there are no keys."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.loopback import LoopbackServer
from tenbin.prompts import registry
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.keys import create_key

PROJECT = "authors"
CSRF = {"tenbin_csrf": "token"}


@pytest.fixture
def store(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    for text in ("Hi {{ name }}", "Hello {{ name }}"):
        registry.push(engine, PROJECT, {"name": "greeting", "template": text})
    yield engine
    engine.dispose()


def move(url: str, cookies: dict[str, str], version: int) -> httpx.Response:
    return httpx.post(f"{url}/projects/{PROJECT}/prompts/greeting/labels", cookies={**CSRF, **cookies},
                      data={"csrf": "token", "label": "production", "version": str(version)})


def test_label_moves_record_the_signed_in_key_name(store: Engine) -> None:
    named = create_key(store, PROJECT, name="ana-laptop")
    unnamed = create_key(store, PROJECT)
    with LoopbackServer(create_app(engine=store, auth=True)) as srv:
        assert move(srv.url, {"tenbin_key": named}, 1).status_code == 303
        assert move(srv.url, {"tenbin_key": unnamed}, 2).status_code == 303
    authors = [m["author"] for m in registry.audit_log(store, PROJECT, "greeting")]
    assert authors == [f"key {unnamed[:10]}", "ana-laptop"]


def test_without_auth_the_author_is_ui(store: Engine) -> None:
    with LoopbackServer(create_app(engine=store, auth=False)) as srv:
        assert move(srv.url, {}, 2).status_code == 303
    assert [m["author"] for m in registry.audit_log(store, PROJECT, "greeting")] == ["ui"]
