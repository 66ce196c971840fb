"""The project overview in a real browser: charts, headline numbers against the REST API,
thumbs-down counting, slowest and worst-rated traces, filter scoping and the empty state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer

PROJECT = "acme-support"


def api(server: LoopbackServer, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.url}/api/v1{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def open_overview(page: Page, server: LoopbackServer, query: str = "") -> None:
    page.goto(f"{server.url}/projects/{PROJECT}{query}")


def test_overview_draws_six_plotly_charts(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server)
    expect(page.locator(".js-plotly-plot")).to_have_count(6)
    for chart in ("count", "latency", "tokens", "errors", "thumbs_rate", "thumbs"):
        expect(page.locator(f"#chart-{chart} svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-count .bars path").first).to_be_attached()


def test_headline_numbers_match_the_metrics_api(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server)
    totals = api(ui_server, f"/projects/{PROJECT}/metrics")[0]
    project = next(p for p in api(ui_server, "/projects") if p["name"] == PROJECT)
    expect(page.locator("#stat-spans .value")).to_have_text(str(totals["count"]))
    expect(page.locator("#stat-traces .value")).to_have_text(str(project["trace_count"]))
    for stat, key in (("p50", "latency_p50_ms"), ("p95", "latency_p95_ms"), ("errors", "error_rate"),
                      ("thumbs", "thumbs_up_rate")):
        shown = float(page.locator(f"#stat-{stat} .value").get_attribute("title") or "nan")
        assert shown == pytest.approx(totals[key]), stat
    expect(page.locator("#stat-errors .value")).to_have_text(f"{totals['error_rate'] * 100:.1f}%")
    downs = round(totals["thumbs_count"] * (1 - totals["thumbs_up_rate"]))
    assert downs > 0
    expect(page.locator("#stat-thumbs")).to_contain_text(f"thumbs-down: {downs} of {totals['thumbs_count']}")


def test_a_thumbs_down_sent_through_the_api_is_counted_after_reload(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server)
    before = int(page.locator(".thumbs-down").inner_text())
    trace = api(ui_server, f"/projects/{PROJECT}/traces", limit=1)["items"][0]
    r = httpx.post(f"{ui_server.url}/api/v1/spans/{trace['root']['span_id']}/feedback",
                   json={"kind": "thumbs", "value": 0, "author": "browser-test"})
    assert r.status_code == 201, r.text
    page.reload()
    expect(page.locator(".thumbs-down")).to_have_text(str(before + 1))


def test_slowest_traces_are_ordered_by_latency_and_open(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server)
    cells = page.locator("#slowest td.latency")
    expect(cells).to_have_count(10)
    latencies = [float(c) for c in cells.evaluate_all("cells => cells.map(c => c.dataset.ms)")]
    assert latencies == sorted(latencies, reverse=True)
    slowest = api(ui_server, f"/projects/{PROJECT}/traces", sort="latency_ms", limit=1)["items"][0]
    assert latencies[0] == pytest.approx(slowest["latency_ms"])
    page.locator("#slowest tbody a").first.click()
    expect(page).to_have_url(f"{ui_server.url}/traces/{slowest['trace_id']}")
    expect(page.locator("main")).to_contain_text(slowest["trace_id"])


def test_worst_rated_traces_have_thumbs_down_and_open(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server)
    rows = page.locator("#worst tbody tr")
    expect(rows.first).to_be_visible()
    downs = [int(t) for t in page.locator("#worst td.bad").all_inner_texts()]
    assert downs and all(d >= 1 for d in downs)
    href = rows.first.locator("a").get_attribute("href") or ""
    rows.first.locator("a").click()
    expect(page).to_have_url(f"{ui_server.url}{href}")
    expect(page.locator("main")).to_contain_text(href.rsplit("/", 1)[1])


def test_filter_scopes_the_headline_numbers(page: Page, ui_server: LoopbackServer) -> None:
    billing = 'metadata["task"] == "billing"'
    open_overview(page, ui_server)
    page.get_by_label("Filter").fill(billing)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{ui_server.url}/projects/{PROJECT}?filter=metadata%5B%22task%22%5D+%3D%3D+%22billing%22&range=all")
    count = api(ui_server, f"/projects/{PROJECT}/metrics", filter=billing)[0]["count"]
    assert count < api(ui_server, f"/projects/{PROJECT}/metrics")[0]["count"]
    expect(page.locator("#stat-spans .value")).to_have_text(str(count))


def test_bad_filter_shows_its_error_next_to_the_box(page: Page, ui_server: LoopbackServer) -> None:
    open_overview(page, ui_server, "?filter=kind+%3D%3D")
    expect(page.get_by_role("alert")).to_contain_text("invalid filter syntax")
    expect(page.get_by_label("Filter")).to_have_value("kind ==")
    expect(page.locator(".js-plotly-plot")).to_have_count(0)


def test_unknown_project_explains_how_to_send_data(page: Page, ui_server: LoopbackServer) -> None:
    response = page.goto(f"{ui_server.url}/projects/brand-new-app")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="No data for project “brand-new-app” yet")).to_be_visible()
    expect(page.locator("pre").first).to_contain_text(f"{ui_server.url}/v1/traces")
    expect(page.locator("pre").first).to_contain_text("openinference.project.name=brand-new-app")
