"""The Alerts and Monitors pages in a real browser: alerts with their numbers, cluster link, escaped
LLM report and webhook delivery; acknowledging one; creating a monitor (inline errors), checking it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenbin.analytics import monitors
from tenbin.loopback import LoopbackServer, free_port
from tenbin.server.app import create_app
from tenbin.store import analyses, migrate
from tenbin.store.engine import make_engine
from tenbin.store.lookup import now_us
from tests.monitor_helpers import HOUR_US, cluster_metrics, rated_spans, saved_analysis
from tests.ui.conftest import XSS

PROJECT = "alert-shop"
ALERTS = f"/projects/{PROJECT}/alerts"
MONITORS = f"/projects/{PROJECT}/monitors"


@pytest.fixture
def alert_server(tmp_path, monkeypatch) -> Iterator[tuple[LoopbackServer, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Two fired alerts: a thumbs-down one whose webhook was down, and a drift one naming cluster 1,
    whose LLM report carries an XSS payload (its dead webhook is on loopback, allowed here)."""
    monkeypatch.setenv("TENBIN_WEBHOOK_ALLOW_PRIVATE", "1")
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    rated_spans(engine, now_us() - HOUR_US // 2, ups=4, downs=16, project=PROJECT)
    analysis_id = saved_analysis(engine, PROJECT, {0: cluster_metrics(40, 1.0, 0.1, 400.0),
                                                   1: cluster_metrics(30, 9.0, 0.2, 450.0)})
    analyses.set_report(engine, analysis_id, 1, f"About: webhooks.\nProblem: {XSS}\nFix: add docs.", {"model": "m"})
    thumbs = monitors.create(engine, PROJECT, {"name": "bad answers", "kind": "thumbs_down_rate", "threshold": 0.3,
                                               "min_samples": 10, "webhook_url": f"http://127.0.0.1:{free_port()}/x"})
    drift = monitors.create(engine, PROJECT, {"name": "new topics", "kind": "drift", "cluster": "each",
                                              "threshold": 4, "min_samples": 10})
    policy = monitors.webhooks.Policy(timeout_s=1, attempts=2, backoff_s=0.01)
    ids = {"thumbs": monitors.check(engine, thumbs["id"], policy=policy)["alert_id"],
           "drift": monitors.check(engine, drift["id"])["alert_id"], "analysis": analysis_id}
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv, ids
    engine.dispose()


def test_alerts_page_shows_numbers_cluster_report_and_delivery_and_acknowledges(
        page: Page, alert_server) -> None:  # type: ignore[no-untyped-def]
    srv, ids = alert_server
    page.goto(f"{srv.url}{ALERTS}")
    expect(page.get_by_role("link", name="Alerts", exact=True)).to_have_class("active")
    drift = page.locator(f"#alerts tr[data-alert='{ids['drift']}']")
    expect(drift).to_contain_text("cluster 1 (topic 1) drift ratio 9.00 (n=30) is above 4.00")
    link = drift.locator("a.cluster-link")
    expect(link).to_have_attribute("href", f"/projects/{PROJECT}/embeddings/{ids['analysis']}/clusters/1")
    drift.get_by_text("LLM report").click()
    expect(drift.locator(".report")).to_contain_text("Problem: <script>window.__xss=1</script>")
    assert page.evaluate("window.__xss") is None
    thumbs = page.locator(f"#alerts tr[data-alert='{ids['thumbs']}']")
    expect(thumbs).to_contain_text("thumbs-down rate 80% (n=20) is above 30%")
    expect(thumbs.locator(".delivery-failed")).to_have_text("failed")
    expect(thumbs.locator(".delivery-error")).to_contain_text("Connect")
    thumbs.get_by_role("button", name=f"Acknowledge alert {ids['thumbs']}").click()
    expect(page.locator(f"#alerts tr[data-alert='{ids['thumbs']}']")).to_have_count(0)
    expect(page.get_by_role("link", name="Open (1)")).to_be_visible()
    page.get_by_role("link", name="All").click()
    expect(page.locator(f"#alerts tr[data-alert='{ids['thumbs']}'] .status")).to_contain_text("acknowledged by ui")


def test_monitors_page_creates_with_inline_errors_and_checks_now(page: Page, alert_server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = alert_server
    page.goto(f"{srv.url}{MONITORS}")
    expect(page.locator("#monitors tr[data-monitor]")).to_have_count(2)
    expect(page.locator("#monitors tr", has_text="bad answers").locator(".state")).to_have_text("firing")
    page.get_by_label("Name").fill("slow billing")
    page.get_by_label("Kind").select_option("latency_p95")
    page.get_by_label("Comparison").select_option("relative")
    page.get_by_label("Threshold").fill("0.5")
    page.get_by_label("Filter").fill('metadata["task"] == "billing"')
    page.get_by_role("button", name="Create monitor").click()
    expect(page.get_by_role("alert")).to_contain_text("does not fit a relative latency_p95 monitor; give a ratio above 1")
    expect(page.get_by_label("Filter")).to_have_value('metadata["task"] == "billing"')
    page.get_by_label("Threshold").fill("1.5")
    page.get_by_label("Window").fill("30m")
    page.get_by_role("button", name="Create monitor").click()
    row = page.locator("#monitors tr", has_text="slow billing")
    expect(row).to_contain_text("relative > 1.5")
    expect(row).to_contain_text("window 30m")
    row.get_by_role("button", name="Check now slow billing").click()
    expect(page.locator("#checked")).to_contain_text("Checked slow billing: insufficient data")
    page.get_by_label("Default webhook URL").fill("ftp://hooks.example.com")
    page.locator("#webhook-form").get_by_role("button", name="Save").click()
    expect(page.locator("#webhook-form [role=alert]")).to_contain_text("must start with http:// or https://")
    page.get_by_label("Default webhook URL").fill("https://hooks.example.com/shop")
    page.locator("#webhook-form").get_by_role("button", name="Save").click()
    expect(page.get_by_label("Default webhook URL")).to_have_value("https://hooks.example.com/shop")
    expect(page.locator("#monitors tr", has_text="slow billing")).to_contain_text("project's")
    page.get_by_label("Name").fill("slow tasks")
    page.get_by_label("Kind").select_option("latency_p95")
    page.get_by_label("Threshold").fill("3000")
    page.get_by_label("Group by").fill("colour")
    page.get_by_role("button", name="Create monitor").click()
    expect(page.locator("#monitor-form [role=alert]")).to_contain_text("cannot group by 'colour'")
    page.get_by_label("Group by").fill("metadata.task")
    page.get_by_role("button", name="Create monitor").click()
    expect(page.locator("#monitors tr", has_text="slow tasks")).to_contain_text("each metadata.task")
