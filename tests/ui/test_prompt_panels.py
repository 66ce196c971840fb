"""The prompt page's panels in a real browser: per-version metric charts and tables (two versions
picked to compare), the prompt's A/B experiments and the "New experiment" form."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenbin.client import Client
from tenbin.loopback import LoopbackServer
from tenbin.prompts import registry
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.otlp_data import llm_attrs, make_request, make_span

PROJECT = "panels"
PAGE = f"/projects/{PROJECT}/prompts/greeting"
TRAFFIC = {1: (0.3, 100.0), 2: (0.8, 300.0), 3: (0.5, 50.0)}
"""version → (thumbs-up share, latency in ms) of its 10 spans."""


def _traffic(url: str) -> None:
    """10 LLM spans per version over OTLP, with thumbs on each and a `helpfulness` eval score on v2's."""
    spans, feedback = [], []
    for version, (up, latency) in TRAFFIC.items():
        for i in range(10):
            attrs = {**llm_attrs(), "llm.prompt_template.name": "greeting", "llm.prompt_template.version": str(version),
                     "llm.cost.total": 0.001 * version}
            spans.append(make_span("llm", attrs=attrs, duration_ms=latency))
            feedback.append((spans[-1].span_id.hex(), version, 1.0 if i < up * 10 else 0.0))
    r = httpx.post(f"{url}/v1/traces", content=make_request(spans, PROJECT).SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    with Client(url) as client:
        for span_id, version, thumb in feedback:
            client.feedback(span_id, kind="thumbs", value=thumb)
            if version == 2:
                client.feedback(span_id, kind="score", name="helpfulness", value=0.75, source="llm")


@pytest.fixture
def panel_server(tmp_path) -> Iterator[LoopbackServer]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'panels.db'}")
    migrate.upgrade(engine)
    for text in ("Hello {{ name }}", "Hi {{ name }}!", "Hey {{ name }}"):
        registry.push(engine, PROJECT, {"name": "greeting", "template": text})
    registry.move_label(engine, PROJECT, "greeting", "production", 1)
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        _traffic(srv.url)
        yield srv
    engine.dispose()


def chart(page: Page, name: str, expr: str) -> object:
    return page.evaluate(f"document.getElementById('chart-{name}').data.map((t) => {expr})")


def test_prompt_page_charts_two_versions_and_compares_the_ones_picked(page: Page, panel_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(panel_server.url + PAGE)
    expect(page.locator("#version-totals tbody tr")).to_have_count(2)
    expect(page.locator("#version-totals tr[data-total='1']")).to_contain_text("30% of 10")
    expect(page.locator("#version-totals tr[data-total='3']")).to_contain_text("50% of 10")
    page.get_by_label("Compare version").select_option("1")
    page.get_by_label("With version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#version-totals tr[data-total='2']")).to_contain_text("80% of 10")
    expect(page.locator("#version-totals tr[data-total='2'] td").nth(6)).to_have_text("0.0200")
    expect(page.locator("#chart-thumbs .main-svg").first).to_be_visible()
    assert chart(page, "thumbs", "[t.name, t.y]") == [["v1", [30]], ["v2", [80]]]
    assert chart(page, "evals", "t.name") == ["v1 helpfulness", "v2 helpfulness"]
    assert chart(page, "latency", "t.name") == ["v1 p50", "v2 p50", "v1 p95", "v2 p95"]
    assert chart(page, "tokens", "t.y[0]") == [150, 150]
    page.locator("#performance-table summary").click()
    expect(page.locator("#performance-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="diff v1 → v2")).to_be_visible()


def test_new_experiment_form_starts_one_listed_on_the_prompt_page(page: Page, panel_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(panel_server.url + PAGE)
    expect(page.locator("#prompt-experiments")).to_have_count(0)
    page.locator("#new-experiment summary").click()
    expect(page.get_by_label("Weight of v3")).to_have_value("0.5")
    page.get_by_label("Weight of v2").fill("0.2")
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_role("alert")).to_contain_text("sum to 1.2")
    page.get_by_label("Weight of v3").fill("0.3")
    page.get_by_label("Experiment name").fill("warmer greetings")
    page.get_by_role("button", name="Start experiment").click()
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("tr[data-arm='1']")).to_contain_text("control")
    page.locator("#back-to-prompt").click()
    row = page.locator("#prompt-experiments tr[data-experiment]")
    expect(row).to_contain_text("warmer greetings")
    expect(row).to_contain_text("running")
    expect(row.locator(".badge")).to_have_text(["v1 · 0.5", "v2 · 0.2", "v3 · 0.3"])
    expect(page.locator("#new-experiment")).to_have_count(0)
    expect(page.get_by_text("stop it before starting another")).to_be_visible()
