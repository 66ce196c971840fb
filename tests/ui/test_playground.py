"""The playground in a real browser against a real server and the scripted LLM: render, run, save;
errors explained in place; HTML typed into a variable stays text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer, free_port
from tenbin.prompts import registry
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.ui.conftest import XSS

PROJECT = "pg-shop"
PLAYGROUND = f"/projects/{PROJECT}/playground"


def echo(messages: list[dict[str, Any]]) -> str:
    return f"echo: {messages[-1]['content']}"


@pytest.fixture
def pg(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoopbackServer, ScriptedLLM]]:  # type: ignore[no-untyped-def]
    """A server with prompt `support` v1 (a chat) and the scripted LLM configured as the server's model."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pg.db'}")
    migrate.upgrade(engine)
    registry.push(engine, PROJECT, {"name": "support", "messages": [
        {"role": "system", "content": "You answer for Acme."}, {"role": "user", "content": "Question: {{ question }}"}]})
    registry.move_label(engine, PROJECT, "support", "production", 1)
    with ScriptedLLM(script=echo) as model, LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        yield srv, model
    engine.dispose()


def test_render_run_and_save_a_version_from_the_prompt_page(page: Page, pg) -> None:  # type: ignore[no-untyped-def]
    srv, model = pg
    page.goto(f"{srv.url}/projects/{PROJECT}/prompts/support")
    page.get_by_role("link", name="Open in playground").click()
    expect(page.get_by_role("link", name="Playground")).to_have_class("active")
    page.get_by_label("question").fill("Where is my refund?")
    page.get_by_role("button", name="Render").click()
    expect(page.locator("#rendered .content")).to_have_text(["You answer for Acme.", "Question: Where is my refund?"])
    expect(page.locator("#token-count")).to_contain_text("tokens")
    page.get_by_label("Temperature").fill("0.4")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#answer .content")).to_have_text("echo: Question: Where is my refund?")
    assert model.requests[-1]["messages"][-1] == {"role": "user", "content": "Question: Where is my refund?"}
    assert model.requests[-1]["temperature"] == 0.4
    expect(page.locator("#usage")).to_contain_text("prompt")
    page.locator("#trace-link").click()
    expect(page.get_by_text("playground:support").first).to_be_visible()
    page.go_back()
    page.get_by_label("Message 2").fill("Q: {{ question }} (answer in one line)")
    page.get_by_label("Commit message").fill("one-line answers")
    page.get_by_label("Label to move").fill("staging")
    page.get_by_role("button", name="Save version").click()
    expect(page).to_have_url(f"{srv.url}/projects/{PROJECT}/prompts/support")
    v2 = page.locator("tr[data-version='2']")
    expect(v2).to_contain_text("one-line answers")
    expect(v2.locator(".badge")).to_have_text("staging")
    expect(page.locator("#audit tbody tr").first).to_contain_text("ui")
    saved = httpx.get(f"{srv.url}/api/v1/projects/{PROJECT}/prompts/support", params={"label": "staging"}).json()
    assert saved["messages"][1]["content"] == "Q: {{ question }} (answer in one line)"
    assert (saved["model"], saved["params"]["temperature"], saved["author"]) == (model.model, 0.4, "ui")


def test_missing_variable_sandbox_escape_and_unreachable_model_are_explained(  # type: ignore[no-untyped-def]
        page: Page, pg, monkeypatch: pytest.MonkeyPatch) -> None:
    srv, model = pg
    page.goto(f"{srv.url}{PLAYGROUND}?prompt=support")
    page.get_by_role("button", name="Render").click()
    expect(page.get_by_role("alert")).to_contain_text("missing variable(s) ['question']")
    page.get_by_role("button", name="Use plain text").click()
    page.get_by_label("Template").fill("{{ ''.__class__.__mro__ }}")
    page.get_by_role("button", name="Render").click()
    expect(page.get_by_role("alert")).to_contain_text("refused")
    page.get_by_label("Template").fill("Hello {{ name }}")
    page.get_by_role("button", name="Render").click()
    expect(page.get_by_role("alert")).to_contain_text("missing variable(s) ['name']")
    page.get_by_label("name", exact=True).fill("Ana")
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("alert")).to_contain_text("TENBIN_LLM_BASE_URL")
    expect(page.get_by_role("alert")).to_contain_text("tenbin llm serve")
    expect(page.locator("#rendered")).to_contain_text("Hello Ana")
    assert model.requests == []


def test_html_typed_into_a_variable_is_shown_as_text(page: Page, pg) -> None:  # type: ignore[no-untyped-def]
    srv, _model = pg
    page.goto(f"{srv.url}{PLAYGROUND}?prompt=support&version=1")
    page.get_by_label("question").fill(XSS)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#answer .content")).to_have_text(f"echo: Question: {XSS}")
    expect(page.locator("#rendered .content").last).to_have_text(f"Question: {XSS}")
    expect(page.get_by_label("question")).to_have_value(XSS)
    assert page.evaluate("window.__xss") is None


def test_render_and_run_work_without_javascript(browser: Browser, pg) -> None:  # type: ignore[no-untyped-def]
    srv, model = pg
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{srv.url}{PLAYGROUND}?prompt=support")
        page.get_by_label("question").fill("Is there a free plan?")
        page.get_by_role("button", name="Run").click()
        expect(page.locator("#answer .content")).to_have_text("echo: Question: Is there a free plan?")
        assert len(model.requests) == 1
    finally:
        context.close()
