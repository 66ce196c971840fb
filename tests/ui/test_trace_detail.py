"""The trace page: span tree and waterfall, chat messages, documents, exceptions, feedback, safety."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlencode

import httpx
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.engine import make_engine
from tenbin.store.keys import create_key
from tests.otlp_data import make_request, make_span
from tests.ui.conftest import XSS

TRACES = "/projects/acme-support/traces"


def open_first_trace(page: Page, base: str, filter_text: str) -> None:
    """Open the newest trace the filter finds, from the traces list like a user would."""
    page.goto(f"{base}{TRACES}?{urlencode({'filter': filter_text})}")
    page.locator("tr.trace-row a.trace-name").first.click()
    expect(page.get_by_role("region", name="Span tree")).to_be_visible()


def select_span(page: Page, name: str) -> None:
    page.get_by_role("region", name="Span tree").get_by_role("link", name=name).click()
    expect(page.get_by_role("region", name="Span detail").get_by_role("heading", level=2, name=name, exact=True)).to_be_visible()


def detail(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name="Span detail")


def test_llm_span_shows_the_chat_tokens_and_prompt_template(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'metadata["task"] == "setup"')
    answer = detail(page).locator("pre.io").last.inner_text()  # the root "turn" span is selected first
    expect(page.locator(".span-row.selected")).to_contain_text("turn")
    select_span(page, "ChatCompletion")
    expect(page).to_have_url(re.compile(r"\?span=[0-9a-f]{16}$"))
    expect(detail(page).locator(".message.role-system")).to_contain_text("You are the Acme Notes support assistant.")
    expect(detail(page).locator(".message.role-user")).to_contain_text("Question:")
    expect(detail(page).locator(".message.role-assistant .content")).to_have_text(answer)
    expect(detail(page).locator(".tokens")).to_contain_text("total")
    expect(detail(page).get_by_role("heading", name="Prompt template")).to_contain_text("v2")
    expect(detail(page).locator("table.variables")).to_contain_text("question")
    expect(page.locator(".span-row.selected .bar.kind-LLM")).to_have_attribute("style", re.compile(r"width: [1-9]"))


def test_collapsing_a_span_hides_its_children(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'metadata["task"] == "api"')
    llm = page.get_by_role("region", name="Span tree").get_by_role("link", name="ChatCompletion")
    expect(llm).to_be_visible()
    page.locator("details.span-node > summary").filter(has_text="generate_answer").locator(".span-latency").click()
    expect(llm).to_be_hidden()


def test_retriever_span_lists_documents_with_scores(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'metadata["task"] == "troubleshooting"')
    select_span(page, "search_docs")
    docs = detail(page).locator("li.document")
    expect(docs.first).to_be_visible()
    expect(docs.first.locator(".score")).to_have_text(re.compile(r"^score \d+\.\d+$"))
    expect(docs.first.locator("code")).to_have_text(re.compile(r"^trouble-"))


def test_tool_error_span_shows_the_exception_with_its_stack(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'status == "ERROR"')
    expect(detail(page).locator("pre.io").first).to_contain_text("Premium plan")
    select_span(page, "sql_query")
    exc = detail(page).get_by_role("group", name="Exception")
    expect(exc.locator(".exc-type")).to_have_text("LookupError")
    expect(exc.locator(".exc-message")).to_have_text("no plan named 'premium'")
    expect(exc.locator("pre.stacktrace")).to_contain_text("Traceback (most recent call last)")
    expect(detail(page).get_by_role("heading", name="Tool call: sql_query")).to_be_visible()
    expect(detail(page).locator("pre.io").first).to_contain_text('"plan": "premium"')


def test_thumbs_down_from_the_page_is_listed_on_the_span_after_reload(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'metadata["task"] == "api"')
    select_span(page, "ChatCompletion")
    span_url = page.url
    expect(detail(page).locator(".feedback-item")).to_have_count(0)
    detail(page).get_by_label("Comment").fill("cites the wrong page")
    detail(page).get_by_role("button", name="Thumbs down").click()
    expect(page).to_have_url(span_url + "#feedback")
    page.reload()
    item = detail(page).locator(".feedback-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("👎 down")
    expect(item).to_contain_text("cites the wrong page")
    expect(item).to_contain_text("human")


def test_bad_score_shows_an_error_and_records_nothing(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'metadata["task"] == "japanese"')
    select_span(page, "ChatCompletion")
    span_url = page.url
    detail(page).get_by_label("Score", exact=True).fill("very good")
    detail(page).get_by_role("button", name="Save score").click()
    expect(detail(page).get_by_role("alert")).to_contain_text("the score must be a number")
    expect(detail(page).get_by_label("Score", exact=True)).to_have_value("very good")
    page.goto(span_url)
    expect(detail(page).locator(".feedback-item")).to_have_count(0)
    detail(page).get_by_label("Score", exact=True).fill("0.75")
    detail(page).get_by_role("button", name="Save score").click()
    expect(detail(page).locator(".feedback-item")).to_contain_text("score = 0.75")


def test_feedback_post_without_csrf_token_is_refused(ui_server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(ui_server.url + TRACES, params={"filter": 'metadata["task"] == "setup"'})
    trace_path = r.text.split('class="trace-name"')[0].rsplit('href="', 1)[1].split('"')[0]
    r = httpx.post(f"{ui_server.url}{trace_path}/feedback", data={"give": "up", "csrf": "forged"},
                   cookies={"tenbin_csrf": "real"})
    assert r.status_code == 403 and "reload the page" in r.text


def test_orphan_span_is_a_root_marked_parent_not_received(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    trace_id = os.urandom(16)
    orphan = make_span("lonely_call", trace_id=trace_id, parent_id=os.urandom(8), attrs={
        "openinference.span.kind": "LLM",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_plan",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": json.dumps({"plan": "team"}),
    })
    body = make_request([orphan], project="edge-cases").SerializeToString()
    r = httpx.post(f"{ui_server.url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    page.goto(f"{ui_server.url}/traces/{trace_id.hex()}")
    expect(page.locator(".span-row").filter(has_text="lonely_call")).to_contain_text("parent not received")
    expect(detail(page).locator(".tool-call")).to_contain_text("lookup_plan")
    expect(detail(page).locator(".tool-call pre")).to_contain_text('"plan": "team"')
    page.goto(f"{ui_server.url}/traces/{trace_id.hex()}?span=0000000000000000")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_xss_payload_on_the_trace_page_stays_inert_text(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    open_first_trace(page, ui_server.url, 'session_id == "xss-session"')
    expect(detail(page).locator("pre.io").first).to_have_text(XSS)
    select_span(page, "ChatCompletion")
    expect(detail(page).locator(".message.role-user")).to_contain_text(XSS)
    expect(detail(page).locator("table.variables")).to_contain_text(XSS)
    assert page.evaluate("window.__xss") is None


def test_with_auth_a_read_key_cannot_give_feedback_or_see_other_projects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with LoopbackServer(create_app(engine=engine, auth=True)) as srv:
        traces = {}
        for project in ("alpha", "beta"):
            span = make_span("answer", trace_id=os.urandom(16))
            r = httpx.post(f"{srv.url}/v1/traces", content=make_request([span]).SerializeToString(),
                           headers={"content-type": "application/x-protobuf",
                                    "authorization": f"Bearer {create_key(engine, project)}"})
            assert r.status_code == 200
            traces[project] = span.trace_id.hex()
        with httpx.Client(base_url=srv.url, cookies={"tenbin_key": create_key(engine, "alpha", "read")}) as client:
            page = client.get(f"/traces/{traces['alpha']}")
            assert page.status_code == 200 and "can only read" in page.text
            r = client.post(f"/traces/{traces['alpha']}/feedback",
                            data={"give": "down", "span_id": span_id_of(page.text), "csrf": client.cookies["tenbin_csrf"]})
            assert r.status_code == 403 and "write scope" in r.text
            assert client.get(f"/traces/{traces['beta']}").status_code == 404
    engine.dispose()


def span_id_of(html: str) -> str:
    return re.search(r"\?span=([0-9a-f]{16})", html).group(1)  # type: ignore[union-attr]
