"""Dataset and experiment pages in a real browser: list, create from a filter, add to a dataset by
span id (CSRF-checked, inline errors), experiment results, and the side-by-side comparison."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import tenbin
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import datasets as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.ui.conftest import XSS

PROJECT = "data-shop"
DATASETS = f"/projects/{PROJECT}/datasets"


def scored(ids: list[int], scores: list[float], labels: list[str], output: str) -> list[dict[str, Any]]:
    return [{"example_id": i, "output": f"{output} {n}", "latency_ms": 12.0,
             "scores": [{"evaluator": "qa_correctness", "score": s, "label": lab, "explanation": "why"}]}
            for n, (i, s, lab) in enumerate(zip(ids, scores, labels))]


@pytest.fixture
def data_server(tmp_path) -> Iterator[tuple[LoopbackServer, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Dataset `faq` (3 examples, one an XSS payload) with experiments A and B, and two traced spans."""
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    migrate.upgrade(engine)
    store.create_dataset(engine, PROJECT, "faq", [{"input": "refunds?", "expected": "Billing"},
                                                  {"input": {"question": "office?"}, "expected": "Oslo"},
                                                  {"input": XSS, "expected": XSS}], description="support questions")
    ids = [e["id"] for e in store.get_dataset(engine, PROJECT, "faq")["examples"]]
    a = store.insert_experiment(engine, PROJECT, "faq", 1, {"name": "support@v1", "summary": {"examples": 3, "errors": 0, "scores": {}}},
                                scored(ids, [1.0, 0.0, 1.0], ["correct", "incorrect", "correct"], "answer A"))
    b = store.insert_experiment(engine, PROJECT, "faq", 1, {"name": "support@v2", "summary": {"examples": 3, "errors": 0, "scores": {}}},
                                scored(ids, [1.0, 1.0, 1.0], ["correct", "correct", "correct"], XSS))
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        tenbin.init(srv.url, project=PROJECT)
        try:
            with tenbin.span("answer", input="How do refunds work?", metadata={"reference": "Billing"}) as span:
                span.set_output("Billing")
            tenbin.flush()
        finally:
            tenbin.shutdown()
        yield srv, {"a": a, "b": b, "span": span.span_id, "ids": ids}
    engine.dispose()


def test_comparison_page_shows_aggregate_deltas_and_side_by_side_rows(page: Page, data_server) -> None:  # type: ignore[no-untyped-def]
    srv, seeded = data_server
    page.goto(f"{srv.url}{DATASETS}/faq")
    page.get_by_label("Experiment A").select_option(str(seeded["a"]))
    page.get_by_label("Experiment B").select_option(str(seeded["b"]))
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="support@v2 vs support@v1")).to_be_visible()
    agg = page.locator("#aggregates tr[data-evaluator='qa_correctness']")
    expect(agg.locator(".delta")).to_have_text("+0.333")
    expect(agg.locator(".interval")).to_have_text("[-1.101, +1.768]")
    expect(agg.locator("td").nth(1)).to_have_text("3")
    changed = page.locator(f"#rows tr[data-example='{seeded['ids'][1]}'] td[data-evaluator='qa_correctness']")
    expect(changed).to_contain_text("incorrect → correct")
    expect(changed).to_have_class("changed")
    expect(page.locator(f"#rows tr[data-example='{seeded['ids'][0]}']")).to_contain_text("answer A 0")
    assert page.evaluate("window.__xss") is None


def test_experiment_page_lists_each_example_with_its_scores(page: Page, data_server) -> None:  # type: ignore[no-untyped-def]
    srv, seeded = data_server
    page.goto(f"{srv.url}{DATASETS}/faq")
    page.get_by_role("link", name="support@v1").click()
    row = page.locator(f"#results tr[data-example='{seeded['ids'][1]}']")
    expect(row).to_contain_text("answer A 1")
    expect(row).to_contain_text("incorrect 0.00")
    expect(page.get_by_role("link", name="Datasets", exact=True).first).to_be_visible()


def test_add_to_dataset_by_span_id_makes_a_new_version_and_bad_input_shows_inline(page: Page, data_server) -> None:  # type: ignore[no-untyped-def]
    srv, seeded = data_server
    page.goto(srv.url + DATASETS)
    expect(page.locator("tr[data-dataset='faq'] td").nth(2)).to_have_text("3")
    page.get_by_role("link", name="faq").click()
    page.get_by_label("Span ids").fill("0000000000000000")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page.get_by_role("alert")).to_contain_text("no span with id '0000000000000000'")
    page.get_by_label("Span ids").fill(seeded["span"])
    page.get_by_label("Message").fill("from a trace")
    page.get_by_role("button", name="Add to dataset").click()
    expect(page.locator("tr[data-version='2']")).to_contain_text("from a trace")
    expect(page.locator("#examples")).to_contain_text(seeded["span"])
    expect(page.locator("#examples tbody tr")).to_have_count(4)


def test_create_dataset_from_a_filter(page: Page, data_server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = data_server
    page.goto(srv.url + DATASETS)
    page.get_by_label("Name").fill("refunds")
    page.get_by_label("Filter").fill('name == "answer"')
    page.get_by_role("button", name="Create dataset").click()
    expect(page).to_have_url(f"{srv.url}{DATASETS}/refunds?added=1")
    expect(page.locator("#examples")).to_contain_text("How do refunds work?")
    expect(page.locator("#examples")).to_contain_text("Billing")
