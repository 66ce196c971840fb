"""Evaluate from the UI, in Chromium, the server's model a scripted judge: ticked traces on the traces list
(their root spans) scored by a code check and an LLM judge, shown on a results page and stored as feedback
that the trace pages show; "Evaluate this span" on a trace page; refusals inline with nothing stored (no
trace ticked, no evaluator, a span without a reference, no reachable LLM); forged POSTs refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

import tenbin
from tenbin.evals.tracing import EVALS_PROJECT
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import migrate, queries
from tenbin.store.engine import make_engine
from tests.llm_helpers import configured_llm
from tests.ui.conftest import XSS

PROJECT = "judged-shop"
TRACES = f"/projects/{PROJECT}/traces"
QUESTIONS = [  # input, output, reference
    ("How do refunds work?", '{"answer": "See Billing"}', "Billing"),
    ("Where is the office?", "no idea", "Oslo"),
    ("When are you open?", "9 to 5", None),
]


def judge(messages: list[dict[str, Any]]) -> str:
    """qa_correctness: correct iff the answer holds the reference; an incorrect verdict explains with an XSS payload."""
    prompt = messages[-1]["content"]
    reference = prompt.split("REFERENCE: ")[1].split("\n")[0]
    answer = prompt.split("ANSWER: ")[1].split("\n")[0]
    if reference in answer:
        return '{"label": "correct", "explanation": "it names %s"}' % reference
    return '{"label": "incorrect", "explanation": "%s"}' % XSS.replace('"', '\\"')


@dataclass
class Shop:
    srv: LoopbackServer
    engine: Engine
    model: ScriptedLLM
    traces: list[dict[str, str]]
    """Per question: trace_id and root (span id)."""


@pytest.fixture
def shop(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    """Three one-span traces of QUESTIONS (the third without a reference) on a server whose model is `judge`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'eval.db'}")
    migrate.upgrade(engine)
    with configured_llm(monkeypatch, judge) as model, LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        tenbin.init(srv.url, project=PROJECT)
        traces = []
        try:
            for question, output, reference in QUESTIONS:
                with tenbin.span("answer", input=question, metadata={"reference": reference} if reference else None) as root:
                    root.set_output(output)
                traces.append({"trace_id": root.trace_id, "root": root.span_id})
            tenbin.flush()
        finally:
            tenbin.shutdown()
        yield Shop(srv, engine, model, traces)
    engine.dispose()


def feedback(shop: Shop, trace: dict[str, str]) -> dict[str, tuple[str | None, float | None, str]]:
    """The span's stored feedback as REST returns it: name → (label, value, source)."""
    span = httpx.get(f"{shop.srv.url}/api/v1/spans/{trace['root']}").raise_for_status().json()
    return {f["name"]: (f["label"], f["value"], f["source"]) for f in span["feedback"]}


def choose(page: Page, *names: str) -> None:
    """Open the checklist (it is closed until an error) and tick `names`."""
    control = page.get_by_role("group", name="Evaluate", exact=True)
    if control.locator("details").get_attribute("open") is None:
        control.get_by_text("Choose evaluators").click()
    for name in names:
        control.locator(f"[data-evaluator='{name}'] input[type=checkbox]").check()


def tick(page: Page, trace: dict[str, str]) -> None:
    page.get_by_label(f"Select trace {trace['trace_id']}").check()


def test_two_ticked_traces_scored_by_a_check_and_a_judge_show_on_the_results_and_trace_pages(page: Page, shop: Shop) -> None:
    first, second, _ = shop.traces
    page.goto(shop.srv.url + TRACES)
    expect(page.locator("[data-ticked-count]")).to_have_text("0")
    tick(page, first)
    tick(page, second)
    expect(page.locator("[data-ticked-count]")).to_have_text("2")
    choose(page, "json_valid", "qa_correctness")
    expect(page.locator("[data-evaluator='qa_correctness'] .badge.judge")).to_have_text("LLM judge")
    expect(page.locator("[data-evaluator='qa_correctness'] .badge.needs")).to_have_text("needs the span's metadata.reference")
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation of 2 spans")
    expect(page.get_by_role("status")).to_contain_text("4 results stored as feedback")
    expect(page.locator("#summary tr[data-evaluator='qa_correctness']")).to_contain_text("0.500")
    row = page.locator(f"#results tr[data-span='{first['root']}'][data-evaluator='qa_correctness']")
    expect(row).to_contain_text("correct")
    expect(row).to_contain_text("1.00")
    expect(row).to_contain_text("it names Billing")
    wrong = page.locator(f"#results tr[data-span='{second['root']}'][data-evaluator='qa_correctness']")
    expect(wrong).to_contain_text("incorrect")
    expect(wrong).to_contain_text("<script>")
    expect(page.locator(f"#results tr[data-span='{second['root']}'][data-evaluator='json_valid']")).to_contain_text("fail")
    assert page.evaluate("window.__xss") is None
    assert feedback(shop, first) == {"json_valid": ("pass", 1.0, "code"), "qa_correctness": ("correct", 1.0, "llm")}
    assert feedback(shop, second) == {"json_valid": ("fail", 0.0, "code"), "qa_correctness": ("incorrect", 0.0, "llm")}
    assert feedback(shop, shop.traces[2]) == {}
    judged = queries.list_spans(shop.engine, queries.SpanQuery(EVALS_PROJECT)).items
    assert [s["name"] for s in judged] == ["judge.qa_correctness"] * 2
    row.get_by_role("link", name="answer").click()
    expect(page).to_have_url(f"{shop.srv.url}/traces/{first['trace_id']}?span={first['root']}#feedback")
    section = page.get_by_role("region", name="Feedback")
    expect(section.locator(".feedback-item")).to_have_count(2)
    expect(section).to_contain_text("qa_correctness: correct")
    expect(section).to_contain_text("json_valid: pass")


def refused(page: Page, message: str) -> None:
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(message)


def test_refusals_on_the_list_are_inline_keep_the_choice_and_store_nothing_until_skipping(page: Page, shop: Shop) -> None:
    _, second, third = shop.traces
    page.goto(f"{shop.srv.url}{TRACES}?filter=name+%3D%3D+%22answer%22")
    refused(page, "select at least one trace (tick its box) to evaluate")
    tick(page, second)
    tick(page, third)
    refused(page, "choose at least one evaluator")
    choose(page, "qa_correctness")
    refused(page, f"evaluator 'qa_correctness' needs the field 'reference' on span {third['root']}, which is empty")
    expect(page.get_by_label(f"Select trace {third['trace_id']}")).to_be_checked()
    expect(page.locator("[data-ticked-count]")).to_have_text("2")
    expect(page.locator("[data-evaluator='qa_correctness'] input[type=checkbox]")).to_be_checked()
    expect(page.get_by_label("Filter")).to_have_value('name == "answer"')
    assert feedback(shop, second) == {} and feedback(shop, third) == {} and shop.model.requests == []
    page.get_by_label("skip spans that lack a needed field").check()
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("1 result stored as feedback on the spans; 1 skipped")
    skipped = page.locator(f"#skipped tr[data-span='{third['root']}']")
    expect(skipped).to_contain_text("needs the field 'reference'")
    expect(skipped.get_by_role("link", name="answer")).to_have_attribute("href", f"/traces/{third['trace_id']}?span={third['root']}#feedback")
    page.locator("nav.crumbs").get_by_role("link", name="Traces").click()
    expect(page.get_by_label("Filter")).to_have_value('name == "answer"')
    assert feedback(shop, second) == {"qa_correctness": ("incorrect", 0.0, "llm")} and feedback(shop, third) == {}


def test_evaluate_this_span_on_its_trace_page(page: Page, shop: Shop) -> None:
    first, _, third = shop.traces
    page.goto(f"{shop.srv.url}/traces/{third['trace_id']}")
    section = page.get_by_role("region", name="Evaluate this span")
    choose(page, "qa_correctness")
    section.get_by_role("button", name="Evaluate", exact=True).click()
    expect(section.get_by_role("alert")).to_contain_text("needs the field 'reference'")
    expect(section.get_by_role("alert")).to_contain_text("set metadata['reference'] on the span")
    assert feedback(shop, third) == {}
    choose(page, "json_valid")
    section.get_by_label("skip spans that lack a needed field").check()
    section.get_by_role("button", name="Evaluate", exact=True).click()
    expect(section.get_by_role("status")).to_have_text(
        "1 result stored: see Feedback above. Skipped for a missing field: qa_correctness (needs the span's metadata.reference).")
    assert feedback(shop, third) == {"json_valid": ("fail", 0.0, "code")}
    page.goto(f"{shop.srv.url}/traces/{first['trace_id']}")
    choose(page, "contains", "qa_correctness")
    section.get_by_label("Parameters of contains").fill('{"text": "billing"}')
    section.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page).to_have_url(f"{shop.srv.url}/traces/{first['trace_id']}?span={first['root']}&evaluated=2#feedback")
    expect(section.get_by_role("status")).to_contain_text("2 results stored")
    feedback_section = page.get_by_role("region", name="Feedback")
    expect(feedback_section).to_contain_text("contains: pass")
    expect(feedback_section).to_contain_text("qa_correctness: correct")
    expect(feedback_section).to_contain_text("“it names Billing”")
    assert feedback(shop, first) == {"contains": ("pass", 1.0, "code"), "qa_correctness": ("correct", 1.0, "llm")}


def test_a_judge_without_a_reachable_model_is_refused_inline_and_stores_nothing(page: Page, shop: Shop,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    first = shop.traces[0]
    page.goto(shop.srv.url + TRACES)
    tick(page, first)
    choose(page, "json_valid", "qa_correctness")
    refused(page, "cannot reach the LLM server at http://127.0.0.1:9/v1 (TENBIN_LLM_BASE_URL)")
    assert feedback(shop, first) == {}


def post(shop: Shop, path: str, data: dict[str, str]) -> httpx.Response:
    return httpx.post(shop.srv.url + path, data=data, cookies={"tenbin_csrf": "t"}, timeout=30)


def test_http_posts_refuse_a_missing_or_forged_csrf_token_and_a_span_from_another_trace(shop: Shop) -> None:
    first, second, _ = shop.traces
    on_list, on_trace = TRACES + "/evaluate", f"/traces/{second['trace_id']}/evaluate"
    fields = {"span_id": first["root"], "eval.json_valid": "on"}
    assert post(shop, on_list, fields).status_code == 403
    assert post(shop, on_list, {**fields, "csrf": "forged"}).status_code == 403
    assert post(shop, on_trace, {**fields, "span_id": second["root"]}).status_code == 403
    elsewhere = post(shop, on_trace, {**fields, "csrf": "t"})
    assert elsewhere.status_code == 404 and f"has no span &#39;{first['root']}&#39;" in elsewhere.text
    unknown = post(shop, on_list, {**fields, "eval.nope": "on", "csrf": "t"})
    assert unknown.status_code == 400 and "unknown evaluator &#39;nope&#39;" in unknown.text
    assert feedback(shop, first) == {} and feedback(shop, second) == {}
    done = post(shop, on_list, {**fields, "csrf": "t"})
    assert done.status_code == 200 and "1 result stored as feedback" in done.text
    assert feedback(shop, first) == {"json_valid": ("pass", 1.0, "code")}
