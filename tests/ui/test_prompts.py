"""Prompt pages in a real browser: list, versions with labels, diff, moving a label (CSRF-checked)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer
from tenbin.prompts import registry
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.ui.conftest import XSS

PROJECT = "prompt-shop"
PROMPTS = f"/projects/{PROJECT}/prompts"


@pytest.fixture
def prompt_server(tmp_path) -> Iterator[LoopbackServer]:  # type: ignore[no-untyped-def]
    """A server with prompt `greeting` v1..v3 (production → v1) and one whose text is an XSS payload."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    migrate.upgrade(engine)
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hello {{ name }}.\nHow can I help?",
                                    "message": "first", "author": "ana"})
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hi {{ name }}!\nHow can I help?",
                                    "model": "smollm2-135m-instruct", "message": "friendlier"})
    registry.push(engine, PROJECT, {"name": "greeting", "messages": [{"role": "system", "content": "Be brief."},
                                                                     {"role": "user", "content": "Greet {{ name }}"}]})
    registry.move_label(engine, PROJECT, "greeting", "production", 1, author="ana")
    registry.push(engine, PROJECT, {"name": "xss", "template": XSS, "message": XSS})
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv
    engine.dispose()


def test_prompts_list_shows_versions_and_labels(page: Page, prompt_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(prompt_server.url + PROMPTS)
    row = page.locator("tr[data-prompt='greeting']")
    expect(row.locator("td").nth(1)).to_have_text("v3")
    expect(row.locator(".badge")).to_have_text("production → v1")
    expect(page.get_by_role("link", name="Prompts")).to_have_class("active")
    row.get_by_role("link", name="greeting").click()
    expect(page).to_have_url(f"{prompt_server.url}{PROMPTS}/greeting")
    expect(page.locator("tr[data-version='1'] .badge")).to_have_text("production")
    expect(page.get_by_role("region", name="Selected version")).to_contain_text("Be brief.")
    page.get_by_role("link", name="v2", exact=True).click()
    expect(page.locator("#template")).to_have_text("Hi {{ name }}!\nHow can I help?")


def test_diff_view_marks_added_and_removed_lines(page: Page, prompt_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{prompt_server.url}{PROMPTS}/greeting")
    page.get_by_label("From version").select_option("1")
    page.get_by_label("To version").select_option("2")
    page.get_by_role("button", name="Show diff").click()
    expect(page.get_by_role("heading", name="greeting: v1 → v2")).to_be_visible()
    expect(page.locator(".diff-del")).to_have_text(["-Hello {{ name }}."])
    expect(page.locator(".diff-add")).to_have_text(["+Hi {{ name }}!"])
    expect(page.locator(".diff-same")).to_contain_text(["How can I help?"])
    expect(page.locator("#field-diff")).to_contain_text("smollm2-135m-instruct")


def test_moving_a_label_updates_the_page_and_the_audit_log(page: Page, prompt_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{prompt_server.url}{PROMPTS}/greeting")
    page.get_by_label("Label", exact=True).fill("production")
    page.get_by_label("Version", exact=True).select_option("3")
    page.get_by_label("Reason").fill("chat format")
    page.get_by_role("button", name="Move label").click()
    expect(page.locator("tr[data-version='3'] .badge")).to_have_text("production")
    first = page.locator("#audit tbody tr").first
    expect(first).to_contain_text("production")
    expect(first).to_contain_text("v1")
    expect(first).to_contain_text("chat format")
    api = httpx.get(f"{prompt_server.url}/api/v1{PROMPTS}/greeting", params={"label": "production"})
    assert api.json()["version"] == 3
    page.get_by_label("Label", exact=True).fill("latest")
    page.get_by_role("button", name="Move label").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot be moved")


def test_label_form_without_csrf_token_is_refused(prompt_server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{prompt_server.url}{PROMPTS}/greeting/labels", data={"label": "production", "version": "2"})
    assert r.status_code == 403
    api = httpx.get(f"{prompt_server.url}/api/v1{PROMPTS}/greeting", params={"label": "production"})
    assert api.json()["version"] == 1


def test_prompt_text_is_escaped_and_unknown_prompts_explain(page: Page, prompt_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{prompt_server.url}{PROMPTS}/xss")
    expect(page.locator("#template")).to_have_text(XSS)
    assert page.evaluate("window.__xss") is None
    page.goto(f"{prompt_server.url}{PROMPTS}/nope")
    expect(page.get_by_text("no prompt named 'nope'")).to_be_visible()
