"""The overview's Evaluations panel in a real browser: per-evaluator numbers on a constructed project
(checked against the REST endpoint), the score chart, links to the traces holding a label, the empty
state; and an eval_rate monitor created through the Monitors form, fired by Check now."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.lookup import now_us
from tests.monitor_helpers import HOUR_US, judged_spans, timed_spans

PROJECT, QUIET = "eval-shop", "quiet-shop"


@pytest.fixture(scope="module")
def eval_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """`eval-shop`: 10 spans judged by qa_correctness in the last hour (6 correct, 3 incorrect, 1
    unparseable); `quiet-shop`: spans without any evaluation."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('evals') / 'tenbin.db'}")
    migrate.upgrade(engine)
    start = now_us() - HOUR_US // 2
    judged_spans(engine, start, {"correct": 6, "incorrect": 3}, project=PROJECT)
    judged_spans(engine, start + 600_000_000, {"unparseable": 1}, project=PROJECT)
    timed_spans(engine, start, [100.0] * 3, project=QUIET)
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv
    engine.dispose()


def test_panel_shows_results_label_fractions_and_mean_score_like_the_api(page: Page, eval_server: LoopbackServer) -> None:
    page.goto(f"{eval_server.url}/projects/{PROJECT}")
    row = page.locator("#evals-table tr[data-evaluator='qa_correctness']")
    expect(row.locator(".results")).to_have_text("10")
    expect(row.locator(".mean-score")).to_have_text("0.67")
    expect(row.locator(".sources")).to_have_text("llm")
    expect(row.locator(".labels a")).to_have_text(["correct 60.0%", "incorrect 30.0%", "unparseable 10.0%"])
    api = httpx.get(f"{eval_server.url}/api/v1/projects/{PROJECT}/metrics/evals").json()["evaluators"][0]
    assert float(row.locator(".mean-score").get_attribute("title") or "nan") == pytest.approx(api["mean_score"])
    expect(page.locator("#chart-evals svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-evals .scatterlayer .trace")).to_have_count(1)


def test_a_label_links_to_the_traces_with_that_label(page: Page, eval_server: LoopbackServer) -> None:
    page.goto(f"{eval_server.url}/projects/{PROJECT}")
    page.locator("#evals-table a[data-label='incorrect']").click()
    expect(page.locator("#filter")).to_have_value('feedback["qa_correctness"] == "incorrect"')
    expect(page.locator(".traces-table .trace-row")).to_have_count(3)
    page.go_back()
    page.locator("#evals-table a.evaluator").click()
    expect(page.locator("#filter")).to_have_value('feedback["qa_correctness"] is not None')
    expect(page.locator(".traces-table .trace-row")).to_have_count(10)


def test_a_filter_narrows_the_panel_and_a_project_without_results_shows_the_empty_state(
        page: Page, eval_server: LoopbackServer) -> None:
    page.goto(f"{eval_server.url}/projects/{PROJECT}?filter=feedback%5B%22qa_correctness%22%5D+%3D%3D+%22incorrect%22")
    row = page.locator("#evals-table tr[data-evaluator='qa_correctness']")
    expect(row.locator(".results")).to_have_text("3")
    expect(row.locator(".labels a")).to_have_text(["incorrect 100.0%"])
    page.goto(f"{eval_server.url}/projects/{QUIET}")
    expect(page.locator("#stat-spans .value")).to_have_text("3")
    expect(page.locator("#evals-empty")).to_contain_text("No evaluation results on these spans yet")
    expect(page.locator("#evals-table")).to_have_count(0)
    expect(page.locator("#chart-evals")).to_have_count(0)


def test_an_eval_rate_monitor_from_the_form_fires_on_check(page: Page, eval_server: LoopbackServer) -> None:
    page.goto(f"{eval_server.url}/projects/{PROJECT}/monitors")
    page.get_by_label("Kind").select_option("eval_rate")
    for field, value in {"Name": "wrong answers", "Threshold": "0.2", "Min samples": "5",
                         "Evaluator": "qa_correctness"}.items():
        page.get_by_label(field, exact=True).fill(value)
    page.get_by_role("button", name="Create monitor").click()
    expect(page.locator("#monitor-form [role=alert]")).to_contain_text("an eval_rate monitor needs label")
    expect(page.get_by_label("Evaluator")).to_have_value("qa_correctness")
    page.get_by_label("Label", exact=True).fill("incorrect")
    page.get_by_role("button", name="Create monitor").click()
    row = page.locator("#monitors tr", has_text="wrong answers")
    expect(row).to_contain_text("results of qa_correctness labelled incorrect")
    row.get_by_role("button", name="Check now wrong answers").click()
    expect(page.locator("#checked")).to_contain_text('firing — qa_correctness "incorrect" rate 30% (n=10) is above 20%')
