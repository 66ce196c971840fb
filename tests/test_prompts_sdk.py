"""`tenbin.get_prompt` against a real server: cache, stale-while-revalidate, fallback, span attributes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

import tenbin
from tenbin.errors import TenbinError
from tenbin.prompts import registry
from tenbin.sdk.prompts import clear_cache
from tenbin.server.app import create_app
from tenbin.store.models import Span
from tests.conftest import RunningServer

PROJECT = "sdk-prompts"


@pytest.fixture
def sdk(server: RunningServer, engine: Engine) -> Iterator[RunningServer]:
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hello {{ name }}!"})
    registry.push(engine, PROJECT, {"name": "greeting", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Greet {{ name }}"}]})
    registry.move_label(engine, PROJECT, "greeting", "production", 1)
    clear_cache()
    assert tenbin.init(server.url, project=PROJECT)
    yield server
    tenbin.shutdown()
    clear_cache()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _spans(engine: Engine) -> dict[str, Any]:
    assert tenbin.flush()
    with engine.connect() as conn:
        return {row.name: row for row in conn.execute(select(Span))}


def test_render_by_label_and_version(sdk) -> None:  # type: ignore[no-untyped-def]
    prod = tenbin.get_prompt("greeting")
    assert (prod.version, prod.label, prod.is_fallback) == (1, "production", False)
    assert prod.render(name="Ana") == "Hello Ana!"
    pinned = tenbin.get_prompt("greeting", version=2)
    assert pinned.render(name="Bo") == [{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "Greet Bo"}]
    with pytest.raises(tenbin.errors.InvalidInput, match="missing variable"):
        prod.render()


def test_rendered_prompt_lands_on_the_current_and_the_llm_span(sdk, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    prompt = tenbin.get_prompt("greeting", version=2)
    with tenbin.span("answer", kind="chain"):
        prompt.render(name="Ana")
        with tenbin.span("chat", kind="llm"):
            pass
        with tenbin.span("lookup", kind="tool"):
            pass
    with tenbin.span("later-call", kind="llm"):
        pass
    spans = _spans(engine)
    for name in ("answer", "chat"):
        row = spans[name]
        assert (row.prompt_name, row.prompt_version) == ("greeting", "2"), name
        assert row.prompt_template == "[system]\nBe brief.\n\n[user]\nGreet {{ name }}"
        assert row.prompt_variables == {"name": "Ana"}
    assert spans["lookup"].prompt_name is None
    assert spans["later-call"].prompt_name is None


def test_rendered_outside_any_span_goes_on_the_next_llm_span_only(sdk, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    tenbin.get_prompt("greeting").render(name="Cy")
    with tenbin.span("first", kind="llm"):
        pass
    with tenbin.span("second", kind="llm"):
        pass
    spans = _spans(engine)
    assert (spans["first"].prompt_name, spans["first"].prompt_version) == ("greeting", "1")
    assert spans["second"].prompt_name is None


def test_cache_serves_until_ttl_then_refreshes_in_the_background(sdk, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    assert tenbin.get_prompt("greeting").version == 1
    registry.move_label(engine, PROJECT, "greeting", "production", 2)
    assert tenbin.get_prompt("greeting").version == 1
    assert tenbin.get_prompt("greeting", cache_ttl=0).version == 1
    _wait_for(lambda: tenbin.get_prompt("greeting").version == 2, "the background refresh")


def test_a_stopped_server_leaves_cached_and_fallback_prompts_working(engine: Engine) -> None:
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hello {{ name }}!"})
    registry.move_label(engine, PROJECT, "greeting", "production", 1)
    clear_cache()
    with RunningServer(create_app(engine=engine, auth=False)) as srv:
        tenbin.init(srv.url, project=PROJECT)
        assert tenbin.get_prompt("greeting").render(name="Ana") == "Hello Ana!"
    try:
        stale = tenbin.get_prompt("greeting", cache_ttl=0)
        assert stale.version == 1 and stale.render(name="Bo") == "Hello Bo!"
        fallback = tenbin.get_prompt("farewell", fallback="Bye {name}")
        assert fallback.is_fallback and fallback.version is None
        assert fallback.render(name="Bo") == "Bye Bo"
        with pytest.raises(TenbinError, match="pass fallback="):
            tenbin.get_prompt("farewell")
        assert tenbin.get_prompt("greeting", cache_ttl=0).render(name="Cy") == "Hello Cy!"
    finally:
        tenbin.shutdown()
        clear_cache()


def test_unknown_prompt_uses_the_fallback_or_says_what_exists(sdk) -> None:  # type: ignore[no-untyped-def]
    assert tenbin.get_prompt("greeting", label="canary", fallback="Hi").is_fallback
    with pytest.raises(tenbin.errors.NotFound, match="labels are: production"):
        tenbin.get_prompt("greeting", label="canary")
    with pytest.raises(tenbin.errors.InvalidInput, match="not both"):
        tenbin.get_prompt("greeting", label="production", version=1)


def test_without_a_server_configured_the_fallback_is_used(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TENBIN_ENDPOINT", raising=False)
    tenbin.shutdown()
    clear_cache()
    assert tenbin.get_prompt("x", fallback="Hi {{ who }}").render(who="you") == "Hi you"
    with pytest.raises(TenbinError, match="TENBIN_ENDPOINT"):
        tenbin.get_prompt("x")
