"""The Online evals page in a real browser: create a rule (bad filter and unknown evaluator shown
inline, nothing stored), see its backlog, run it now, disable/enable, see the judge result with its
score and explanation on the trace page, delete; user text is escaped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import tenbin
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.engine import make_engine
from tests.ui.conftest import XSS

PROJECT = "live-ui"
PAGE = f"/projects/{PROJECT}/online-evals"
STRICT = "You are a STRICT grader."


@pytest.fixture
def live(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A server (no background ticks) whose judges use a scripted model, with three answered questions."""
    monkeypatch.setenv("TENBIN_ONLINE_EVAL_INTERVAL", "0")

    def script(messages: list[dict[str, Any]]) -> str:
        if STRICT in messages[0]["content"]:
            return '{"label": "irrelevant", "explanation": "strict template"}'
        return '{"label": "relevant", "explanation": "it names the Billing page"}'

    with ScriptedLLM(script=script) as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
        with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
            yield {"url": srv.url, "trace": ask(srv.url, 3)}
        engine.dispose()


def ask(url: str, n: int) -> str:
    """`n` answered questions in the project; the last one's trace id."""
    tenbin.init(url, project=PROJECT)
    try:
        for i in range(n):
            with tenbin.span("answer", kind="llm", input=f"How do refunds work? ({i})") as span:
                span.set_output("Open Billing → Refunds.")
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return span.trace_id or ""


def create(page: Page, name: str, filter: str, evaluators: str, rate: str = "1", backfill: bool = True) -> None:
    form = page.locator("#rule-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Filter").fill(filter)
    form.get_by_label("Evaluators").fill(evaluators)
    form.get_by_label("Sampling rate").fill(rate)
    if backfill:
        form.get_by_label("Backfill").check()
    form.get_by_role("button", name="Create rule").click()


def test_create_run_toggle_and_delete_a_rule_with_errors_inline(page: Page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"] + PAGE)
    expect(page.get_by_role("heading", name="No online eval rules yet")).to_be_visible()
    expect(page.get_by_role("link", name="Online evals")).to_have_class("active")

    create(page, "relevance", 'kind = "LLM"', "answer_relevance")
    expect(page.get_by_role("alert")).to_contain_text("use == to compare")
    expect(page.locator("#rule-form").get_by_label("Evaluators")).to_have_value("answer_relevance")
    create(page, "relevance", 'kind == "LLM"', "answer_relevance, nope")
    expect(page.get_by_role("alert")).to_contain_text("unknown evaluator 'nope'")
    create(page, "relevance", 'kind == "LLM"', "answer_relevance", rate="1.5")
    expect(page.get_by_role("alert")).to_contain_text("sampling_rate must be greater than 0 and at most 1")
    expect(page.locator("#rules")).to_have_count(0)

    create(page, "relevance", 'kind == "LLM"', "answer_relevance, json_valid")
    row = page.locator("#rules tr[data-rule='relevance']")
    expect(row.locator(".backlog")).to_have_text("3")
    expect(row.locator(".state")).to_have_text("ok")

    row.get_by_role("button", name="Run now relevance").click()
    expect(page.locator("#ran")).to_contain_text("3 evaluated")
    expect(row.locator(".evaluated")).to_have_text("3")
    expect(row.locator(".backlog")).to_have_text("0")

    row.get_by_role("button", name="Disable relevance").click()
    expect(row.locator(".state")).to_have_text("disabled")
    row.get_by_role("button", name="Enable relevance").click()
    expect(row.locator(".state")).to_have_text("ok")

    page.goto(f"{live['url']}/traces/{live['trace']}")
    item = page.locator(".feedback-item").filter(has_text="answer_relevance")
    expect(item).to_contain_text("answer_relevance: relevant")
    expect(item).to_contain_text("score 1.00")
    expect(item).to_contain_text("it names the Billing page")
    expect(item).to_contain_text("online rule relevance")

    page.goto(live["url"] + PAGE)
    page.locator("#rules tr[data-rule='relevance']").get_by_role("button", name="Delete relevance").click()
    expect(page.get_by_role("heading", name="No online eval rules yet")).to_be_visible()


def test_user_text_in_a_rule_is_escaped(page: Page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"] + PAGE)
    create(page, "escaped", f"input == {XSS!r}", "json_valid", backfill=False)
    expect(page.locator("#rules tr[data-rule='escaped'] code")).to_have_text(f"input == {XSS!r}")
    create(page, "broken", XSS, "json_valid")
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.evaluate("window.__xss") is None


def test_a_judge_template_is_edited_in_the_registry_and_the_rule_then_uses_it(page: Page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"] + PAGE)
    create(page, "relevance", 'kind == "LLM"', "answer_relevance")
    row = page.locator("#rules tr[data-rule='relevance']")
    row.get_by_role("button", name="Run now relevance").click()
    expect(page.locator("#ran")).to_contain_text("3 evaluated")

    page.get_by_role("link", name="answer_relevance ✎").click()
    expect(page).to_have_url(f"{live['url']}/projects/{PROJECT}/prompts/tenbin-judge-answer_relevance")
    expect(page.locator("tr[data-version='1']")).to_contain_text("tenbin")
    page.get_by_role("link", name="Open in playground").click()
    page.get_by_label("Message 1").fill(STRICT)
    for name, value in (("input", "How do refunds work?"), ("output", "Open Billing."), ("labels", "relevant, irrelevant")):
        page.get_by_label(name, exact=True).fill(value)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#answer .content")).to_contain_text("irrelevant")
    page.get_by_label("Commit message").fill("stricter")
    page.get_by_label("Label to move").fill("production")
    page.get_by_role("button", name="Save version").click()
    expect(page.locator("tr[data-version='2'] .badge")).to_have_text("production")
    page.goto(f"{live['url']}/projects/{PROJECT}/prompts")
    expect(page.locator("tr[data-prompt='tenbin-judge-answer_relevance'] .role")).to_have_text(
        "· template of the answer_relevance judge")

    trace = ask(live["url"], 1)
    page.goto(live["url"] + PAGE)
    page.locator("#rules tr[data-rule='relevance']").get_by_role("button", name="Run now relevance").click()
    expect(page.locator("#ran")).to_contain_text("2 evaluated")  # the new answer and the playground's traced run
    page.goto(f"{live['url']}/traces/{trace}")
    item = page.locator(".feedback-item").filter(has_text="answer_relevance")
    expect(item).to_contain_text("answer_relevance: irrelevant")
    expect(item).to_contain_text("answer_relevance@v2")
