"""Add to dataset from the traces list (ticked rows, "select all", with and without JavaScript), from
a trace page (the shown span), and CSV/JSONL uploads on the dataset pages; the expected output taken
from the span's reference, its output or nothing; errors inline, nothing stored, CSRF checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

import tenbin
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import datasets as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.ui.conftest import XSS

PROJECT = "pick-shop"
TRACES = f"/projects/{PROJECT}/traces"
DATASETS = f"/projects/{PROJECT}/datasets"
QUESTIONS = [("How do refunds work?", "Billing answers refunds"), ("Where is the office?", "Oslo"), (XSS, XSS)]


def answer(reference: str) -> str:
    """A root span's output: not its reference, so a test sees which one became the expected output."""
    return f"Answer: {reference}"


@dataclass
class Shop:
    srv: LoopbackServer
    engine: Engine
    traces: list[dict[str, Any]]
    """Per question: trace_id, root (span id), child (span id of its `lookup` span)."""


@pytest.fixture
def shop(tmp_path) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    """Dataset `faq` (one example) and three traces: a root `answer` span (input, answer(reference), a reference)
    with a child `lookup` span; the third trace's text is an XSS payload."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pick.db'}")
    migrate.upgrade(engine)
    store.create_dataset(engine, PROJECT, "faq", [{"input": "hours?", "expected": "9 to 5"}])
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        tenbin.init(srv.url, project=PROJECT)
        traces = []
        try:
            for question, reference in QUESTIONS:
                with tenbin.span("answer", input=question, metadata={"reference": reference}) as root:
                    with tenbin.span("lookup", kind="retriever", input=f"search: {question}") as child:
                        child.set_output("doc-1")
                    root.set_output(answer(reference))
                traces.append({"trace_id": root.trace_id, "root": root.span_id, "child": child.span_id})
            tenbin.flush()
        finally:
            tenbin.shutdown()
        yield Shop(srv, engine, traces)
    engine.dispose()


def tick(page: Page, trace: dict[str, Any]) -> None:
    page.get_by_label(f"Select trace {trace['trace_id']}").check()


def versions(shop: Shop, name: str) -> list[int]:
    return [v["version"] for v in store.get_dataset(shop.engine, PROJECT, name)["versions"]]


def test_two_ticked_traces_become_a_new_dataset_of_their_root_spans(page: Page, shop: Shop) -> None:
    page.goto(shop.srv.url + TRACES)
    expect(page.locator("tr.trace-row")).to_have_count(3)
    tick(page, shop.traces[0])
    tick(page, shop.traces[1])
    page.get_by_label("New dataset name").fill("picked")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/picked?added=2")
    expect(page.get_by_role("status")).to_have_text("Added 2 examples; the latest version is v1.")
    rows = page.locator("#examples tbody tr")
    expect(rows).to_have_count(2)
    for trace, (question, reference) in zip(shop.traces[:2], QUESTIONS):
        row = rows.filter(has_text=trace["root"])
        expect(row.locator("td").nth(1)).to_have_text(question)
        expect(row.locator("td").nth(2)).to_have_text(reference)
    expect(page.locator("#examples")).not_to_contain_text(shop.traces[0]["child"])
    assert {e["source_span_id"] for e in store.get_dataset(shop.engine, PROJECT, "picked")["examples"]} == \
        {shop.traces[0]["root"], shop.traces[1]["root"]}


def test_select_all_then_untick_one_adds_the_rest_as_a_new_version(page: Page, shop: Shop) -> None:
    page.goto(shop.srv.url + TRACES)
    page.get_by_label("Select all traces on this page").check()
    for trace in shop.traces:
        expect(page.get_by_label(f"Select trace {trace['trace_id']}")).to_be_checked()
    page.get_by_label(f"Select trace {shop.traces[2]['trace_id']}").uncheck()
    expect(page.get_by_label("Select all traces on this page")).not_to_be_checked()
    page.get_by_label("Existing dataset").select_option("faq")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/faq?added=2")
    expect(page.locator("tr[data-version='2']")).to_contain_text("2 spans added from the traces")
    expect(page.locator("#examples tbody tr")).to_have_count(3)
    assert versions(shop, "faq") == [2, 1]


def test_select_all_works_without_javascript(browser: Browser, shop: Shop) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(shop.srv.url + TRACES)
        page.get_by_label("Select all traces on this page").check()
        expect(page.get_by_label(f"Select trace {shop.traces[0]['trace_id']}")).not_to_be_checked()
        page.get_by_label("Existing dataset").select_option("faq")
        page.get_by_role("button", name="Add to dataset").click()
        expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/faq?added=3")
        expect(page.locator("#examples tbody tr")).to_have_count(4)
        expect(page.locator("#examples")).to_contain_text(XSS)
    finally:
        context.close()


def refused(page: Page, message: str) -> None:
    """Press Add to dataset and expect `message` inline."""
    page.get_by_role("button", name="Add to dataset").click()
    expect(page.get_by_role("alert")).to_contain_text(message)


def test_bad_choices_on_the_list_show_inline_keep_the_view_and_store_nothing(page: Page, shop: Shop) -> None:
    first = shop.traces[0]
    page.goto(f"{shop.srv.url}{TRACES}?filter=name+%3D%3D+%22answer%22")
    refused(page, "select at least one trace (tick its box) to add to a dataset")
    tick(page, first)
    refused(page, "choose a dataset, or type a name to create a new one")
    expect(page.get_by_label(f"Select trace {first['trace_id']}")).to_be_checked()
    expect(page.get_by_label("Filter")).to_have_value('name == "answer"')
    page.get_by_label("Existing dataset").select_option("faq")
    page.get_by_label("New dataset name").fill("other")
    refused(page, "choose the dataset 'faq' or type a new name, not both")
    page.get_by_label("Existing dataset").select_option("")
    page.get_by_label("New dataset name").fill("faq")
    refused(page, "dataset 'faq' already exists")
    assert store.dataset_names(shop.engine, PROJECT) == ["faq"] and versions(shop, "faq") == [1]
    assert page.evaluate("window.__xss") is None


def test_add_the_shown_span_from_the_trace_page(page: Page, shop: Shop) -> None:
    trace = shop.traces[1]
    page.goto(f"{shop.srv.url}/traces/{trace['trace_id']}")
    page.get_by_role("region", name="Span tree").get_by_role("link", name="lookup").click()
    section = page.get_by_role("region", name="Add this span to a dataset")
    section.get_by_role("button", name="Add to dataset").click()
    expect(section.get_by_role("alert")).to_contain_text("choose a dataset")
    expect(page.get_by_role("region", name="Span detail").get_by_role("heading", level=2, name="lookup")).to_be_visible()
    section.get_by_label("Existing dataset").select_option("faq")
    section.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/faq?added=1")
    row = page.locator("#examples tbody tr").filter(has_text=trace["child"])
    expect(row.locator("td").nth(1)).to_have_text("search: Where is the office?")
    assert versions(shop, "faq") == [2, 1]


def test_the_spans_output_as_expected_output_from_the_list_kept_on_an_error(page: Page, shop: Shop) -> None:
    page.goto(shop.srv.url + TRACES)
    tick(page, shop.traces[0])
    expect(page.get_by_label("Expected output")).to_have_value("reference")
    page.get_by_label("Expected output").select_option(label="the span's output")
    refused(page, "choose a dataset, or type a name to create a new one")
    expect(page.get_by_label("Expected output")).to_have_value("output")
    page.get_by_label("New dataset name").fill("golden")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/golden?added=1")
    row = page.locator("#examples tbody tr").filter(has_text=shop.traces[0]["root"])
    expect(row.locator("td").nth(2)).to_have_text(answer(QUESTIONS[0][1]))


def test_the_dataset_form_takes_no_expected_output_and_keeps_the_choice_on_an_error(page: Page, shop: Shop) -> None:
    page.goto(f"{shop.srv.url}{DATASETS}/faq")
    page.get_by_label("Filter").fill('name == "nothing"')
    page.get_by_label("Expected output").select_option("none")
    refused(page, "no spans of project 'pick-shop' match")
    expect(page.get_by_label("Expected output")).to_have_value("none")
    page.get_by_label("Filter").fill('name == "answer"')
    page.get_by_label("Limit").fill("1")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/faq?added=1")
    (added,) = [e for e in store.get_dataset(shop.engine, PROJECT, "faq")["examples"] if e["source_span_id"]]
    assert added["expected"] is None and added["source_span_id"] == shop.traces[2]["root"]


def post(shop: Shop, path: str, data: dict[str, str], cookie: str = "t") -> httpx.Response:
    return httpx.post(shop.srv.url + path, data=data, cookies={"tenbin_csrf": cookie})


def test_http_posts_refuse_a_missing_csrf_token_an_unknown_dataset_or_span(shop: Shop) -> None:
    root, child = shop.traces[0]["root"], shop.traces[0]["child"]
    add = TRACES + "/add-to-dataset"
    assert post(shop, add, {"span_id": root, "new_name": "x"}).status_code == 403
    assert post(shop, add, {"span_id": root, "new_name": "x", "csrf": "forged"}).status_code == 403
    unknown = post(shop, add, {"span_id": root, "dataset": "nope", "csrf": "t"})
    assert unknown.status_code == 400 and "has no dataset named &#39;nope&#39;; datasets are: faq" in unknown.text
    ghost = post(shop, add, {"span_id": "0000000000000000", "new_name": "x", "csrf": "t"})
    assert ghost.status_code == 400 and "no span with id &#39;0000000000000000&#39;" in ghost.text
    on_trace = f"/traces/{shop.traces[1]['trace_id']}/add-to-dataset"
    assert post(shop, on_trace, {"span_id": child, "dataset": "faq"}).status_code == 403
    elsewhere = post(shop, on_trace, {"span_id": child, "dataset": "faq", "csrf": "t"})
    assert elsewhere.status_code == 400 and "has no span" in elsewhere.text
    choice = post(shop, add, {"span_id": root, "new_name": "x", "expected_from": "gold", "csrf": "t"})
    assert choice.status_code == 400 and "expected_from must be one of reference, output, none" in choice.text
    assert store.dataset_names(shop.engine, PROJECT) == ["faq"] and versions(shop, "faq") == [1]
    made = post(shop, add, {"span_id": root, "new_name": "x", "csrf": "t"})
    assert made.status_code == 303 and made.headers["location"] == f"{DATASETS}/x?added=1"


def upload(page: Page, name: str, text: str) -> None:
    page.get_by_label("CSV or JSONL file").set_input_files(
        files=[{"name": name, "mimeType": "text/plain", "buffer": text.encode()}])


def test_upload_a_csv_as_a_new_dataset_and_jsonl_as_a_new_version(page: Page, shop: Shop) -> None:
    page.goto(shop.srv.url + DATASETS)
    page.get_by_label("Name", exact=True).fill("uploaded")
    upload(page, "faq.csv", 'input,expected,topic\nrefunds?,Billing,money\n"a, b",Oslo,\n')
    page.get_by_role("button", name="Create dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/uploaded?added=2")
    rows = page.locator("#examples tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("refunds?")
    expect(rows.first).to_contain_text("Billing")
    expect(rows.first).to_contain_text('"topic": "money"')
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("a, b")
    page.goto(f"{shop.srv.url}{DATASETS}/faq")
    lines = [{"input": {"question": "office?"}, "expected": "Oslo"}, {"input": "hours?", "metadata": {"k": 1}}]
    upload(page, "more.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page).to_have_url(f"{shop.srv.url}{DATASETS}/faq?added=2")
    expect(page.locator("#examples tbody tr")).to_have_count(3)
    expect(page.locator("#examples")).to_contain_text('"question": "office?"')
    assert versions(shop, "faq") == [2, 1]


def test_a_bad_upload_names_every_bad_line_and_stores_nothing(page: Page, shop: Shop) -> None:
    page.goto(f"{shop.srv.url}{DATASETS}/faq")
    upload(page, "bad.jsonl", '{"input": "ok"}\n{"input": ""}\n{"input": "fine"}\nnot json\n')
    refused(page, "2 bad row(s), nothing imported")
    expect(page.get_by_role("alert")).to_contain_text("line 2: `input` is missing or empty")
    expect(page.get_by_role("alert")).to_contain_text("line 4: not valid JSON")
    assert versions(shop, "faq") == [1]
    upload(page, "notes.txt", "input\nx\n")
    refused(page, "dataset files are .csv or .jsonl; got 'txt'")
    page.get_by_label("Span ids").fill(shop.traces[0]["root"])
    upload(page, "ok.csv", "input\nx\n")
    refused(page, "give one source of examples, not span ids and a file")
    page.goto(shop.srv.url + DATASETS)
    page.get_by_label("Name", exact=True).fill("broken")
    upload(page, "broken.csv", "question,expected\nx,y\n")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.get_by_role("alert")).to_contain_text("needs a header row with an `input` column")
    assert store.dataset_names(shop.engine, PROJECT) == ["faq"] and versions(shop, "faq") == [1]
