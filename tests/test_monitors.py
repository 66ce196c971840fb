"""Monitors over the real store on SQLite and PostgreSQL: each kind fires on a real change and stays
quiet without one, minimum samples, alert once per transition, webhook delivery and failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin.analytics import monitors
from tenbin.analytics.webhooks import Policy
from tenbin.errors import InvalidInput, NotFound
from tenbin.loopback import free_port
from tenbin.store import analyses
from tests.monitor_helpers import (
    HOUR_US,
    T0,
    cluster_metrics,
    rated_spans,
    receiver,
    saved_analysis,
    timed_spans,
)

NOW = T0 + 2 * HOUR_US
"""Checks run at NOW: the current window is the second hour after T0, the previous one the first."""
FAST = Policy(timeout_s=2.0, attempts=3, backoff_s=0.01)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For checks whose SQL other tests already run on both dialects: saves PostgreSQL set-up time."""


@pytest.fixture(autouse=True)
def loopback_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These receivers listen on loopback, which the SSRF guard refuses unless allowed."""
    monkeypatch.setenv("TENBIN_WEBHOOK_ALLOW_PRIVATE", "1")


def thumbs_monitor(engine: Engine, **fields: Any) -> dict[str, Any]:
    spec = {"name": "thumbs", "kind": "thumbs_down_rate", "threshold": 0.3, "min_samples": 10, **fields}
    return monitors.create(engine, "p", spec)


def test_thumbs_down_rate_fires_when_the_rate_rises_over_the_threshold(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=8, downs=12)
    monitor = thumbs_monitor(engine)
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert result["status"] == "firing"
    assert result["value"] == pytest.approx(0.6) and result["n"] == 20
    assert result["window_start_us"] == T0 + HOUR_US and result["window_end_us"] == NOW
    [alert] = monitors.list_alerts(engine, "p")
    assert alert["id"] == result["alert_id"] and alert["kind"] == "thumbs_down_rate"
    assert alert["value"] == pytest.approx(0.6) and alert["threshold"] == 0.3 and alert["delivery_status"] == "none"
    assert monitors.get_monitor(engine, monitor["id"])["state"] == "firing"


@SQLITE_ONLY
def test_thumbs_down_rate_stays_quiet_when_answers_are_liked(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=18, downs=2)
    result = monitors.check(engine, thumbs_monitor(engine)["id"], at_us=NOW)
    assert result["status"] == "ok" and result["value"] == pytest.approx(0.1)
    assert monitors.list_alerts(engine, "p") == []


@SQLITE_ONLY
def test_too_few_ratings_never_fire_and_leave_the_state_alone(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=1, downs=1)
    monitor = thumbs_monitor(engine, min_samples=5)
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert result["status"] == "insufficient_data" and result["alert_id"] is None
    assert "2 samples, the monitor needs 5" in result["message"]
    assert monitors.get_monitor(engine, monitor["id"])["state"] == "ok"


def test_relative_thumbs_down_compares_with_the_previous_window(engine: Engine) -> None:
    rated_spans(engine, T0, ups=18, downs=2)
    rated_spans(engine, T0 + HOUR_US, ups=10, downs=10)
    rated_spans(engine, T0, ups=18, downs=2, project="q")
    rated_spans(engine, T0 + HOUR_US, ups=18, downs=2, project="q")
    spec = {"name": "rising", "kind": "thumbs_down_rate", "comparison": "relative", "threshold": 0.2, "min_samples": 10}
    result = monitors.check(engine, monitors.create(engine, "p", spec)["id"], at_us=NOW)
    assert result["status"] == "firing" and result["value"] == pytest.approx(0.5)
    assert result["reference"] == pytest.approx(0.1) and result["reference_n"] == 20
    steady = monitors.check(engine, monitors.create(engine, "q", spec)["id"], at_us=NOW)
    assert steady["status"] == "ok" and steady["value"] == pytest.approx(0.1)


def test_latency_p95_fires_on_a_slowdown_against_the_previous_window_only(engine: Engine) -> None:
    timed_spans(engine, T0, [100.0] * 30)
    timed_spans(engine, T0 + HOUR_US, [100.0] * 20 + [900.0] * 10)
    monitor = monitors.create(engine, "p", {"name": "slow", "kind": "latency_p95", "comparison": "relative",
                                            "threshold": 1.5, "min_samples": 20})
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert result["status"] == "firing" and result["value"] == pytest.approx(900.0)
    assert result["reference"] == pytest.approx(100.0) and "9.00×" in result["message"]
    quiet = monitors.create(engine, "p", {"name": "quiet", "kind": "latency_p95", "comparison": "relative",
                                          "threshold": 1.5, "min_samples": 20})
    assert monitors.check(engine, quiet["id"], at_us=T0 + HOUR_US)["status"] == "insufficient_data"


def test_filter_and_prompt_version_narrow_the_spans_checked(engine: Engine) -> None:
    timed_spans(engine, T0 + HOUR_US, [3000.0] * 10, prompt_name="support", prompt_version="2")
    timed_spans(engine, T0 + HOUR_US, [100.0] * 10, prompt_name="support", prompt_version="1")
    v1 = monitors.create(engine, "p", {"name": "v1", "kind": "latency_p95", "threshold": 2000, "min_samples": 5,
                                       "prompt": "support@1"})
    v2 = monitors.create(engine, "p", {"name": "v2", "kind": "latency_p95", "threshold": 2000, "min_samples": 5,
                                       "prompt": "support@2", "filter": 'kind == "LLM"'})
    assert monitors.check(engine, v1["id"], at_us=NOW)["status"] == "ok"
    assert monitors.check(engine, v2["id"], at_us=NOW)["status"] == "firing"
    assert v2["prompt"] == "support@2"


def test_a_monitor_in_alarm_alerts_once_and_again_only_after_recovering(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=2, downs=18)
    rated_spans(engine, T0 + 2 * HOUR_US, ups=20, downs=0)
    rated_spans(engine, T0 + 3 * HOUR_US, ups=0, downs=20)
    monitor = thumbs_monitor(engine)
    first = monitors.check(engine, monitor["id"], at_us=NOW)
    again = monitors.check(engine, monitor["id"], at_us=NOW + 1)
    assert first["alert_id"] is not None and again["status"] == "firing" and again["alert_id"] is None
    recovered = monitors.check(engine, monitor["id"], at_us=NOW + HOUR_US)
    assert recovered["status"] == "ok" and recovered["state"] == "ok"
    [alert] = monitors.list_alerts(engine, "p")
    assert alert["resolved_us"] is not None
    second = monitors.check(engine, monitor["id"], at_us=NOW + 2 * HOUR_US)
    assert second["alert_id"] not in (None, first["alert_id"])
    assert len(monitors.list_alerts(engine, "p")) == 2
    assert [e["status"] for e in monitors.evaluations(engine, monitor["id"])] == ["firing", "ok", "firing", "firing"]


def test_webhook_receives_the_alert_as_documented_json(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=5, downs=15)
    with receiver() as hook:
        monitor = thumbs_monitor(engine, webhook_url=hook.hook_url)
        result = monitors.check(engine, monitor["id"], at_us=NOW, policy=FAST)
        assert result["delivery"] == {"status": "delivered", "attempts": 1, "error": None}
        [body] = hook.bodies
    assert body["type"] == "tenbin.alert" and body["alert_id"] == result["alert_id"] and body["project"] == "p"
    assert body["monitor"]["name"] == "thumbs" and body["monitor"]["kind"] == "thumbs_down_rate"
    assert body["value"] == pytest.approx(0.75) and body["threshold"] == 0.3 and body["n"] == 20
    assert body["window"]["end"].startswith("2026-") and body["cluster"] is None
    assert "75%" in body["text"] and "thumbs-down rate" in body["message"]
    alert = monitors.list_alerts(engine, "p")[0]
    assert alert["delivery_status"] == "delivered" and alert["delivery_attempts"] == 1


def test_a_failing_webhook_is_retried_then_recorded_without_breaking_the_check(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=5, downs=15)
    with receiver(status=503) as hook:
        flaky = thumbs_monitor(engine, webhook_url=hook.hook_url)
        result = monitors.check(engine, flaky["id"], at_us=NOW, policy=FAST)
        assert len(hook.bodies) == 3
    assert result["status"] == "firing" and result["delivery"]["status"] == "failed"
    assert "HTTP 503" in result["delivery"]["error"]
    down = thumbs_monitor(engine, name="down", webhook_url=f"http://127.0.0.1:{free_port()}/hook")
    result = monitors.check(engine, down["id"], at_us=NOW, policy=FAST)
    assert result["status"] == "firing" and result["delivery"]["attempts"] == 3
    alerts = {a["monitor_id"]: a for a in monitors.list_alerts(engine, "p")}
    assert alerts[down["id"]]["delivery_status"] == "failed" and "Connect" in alerts[down["id"]]["delivery_error"]
    assert alerts[flaky["id"]]["delivery_status"] == "failed"


def test_a_monitor_without_its_own_webhook_posts_to_the_projects(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=5, downs=15)
    with receiver() as project_hook, receiver() as own_hook:
        monitors.set_project_webhook(engine, "p", project_hook.hook_url)
        plain = thumbs_monitor(engine)
        own = thumbs_monitor(engine, name="own", webhook_url=own_hook.hook_url)
        monitors.check(engine, plain["id"], at_us=NOW, policy=FAST)
        monitors.check(engine, own["id"], at_us=NOW, policy=FAST)
        assert [b["monitor"]["name"] for b in project_hook.bodies] == ["thumbs"]
        assert [b["monitor"]["name"] for b in own_hook.bodies] == ["own"]
    assert monitors.set_project_webhook(engine, "p", "") is None and monitors.project_webhook(engine, "p") is None
    with pytest.raises(InvalidInput, match="must start with http"):
        monitors.set_project_webhook(engine, "p", "hooks.example.com/x")


@SQLITE_ONLY
def test_run_monitors_checks_only_enabled_monitors_that_are_due(engine: Engine) -> None:
    rated_spans(engine, T0 + HOUR_US, ups=5, downs=15)
    due = thumbs_monitor(engine, interval_s=600)
    off = thumbs_monitor(engine, name="off", enabled=False)
    assert [r["monitor_id"] for r in monitors.run_monitors(engine, at_us=NOW)] == [due["id"]]
    assert monitors.run_monitors(engine, at_us=NOW + 300 * 1_000_000) == []
    assert len(monitors.run_monitors(engine, at_us=NOW + 600 * 1_000_000)) == 1
    assert monitors.evaluations(engine, off["id"]) == []
    stopping = threading.Event()
    stopping.set()
    assert monitors.run_monitors(engine, at_us=NOW + 2 * 600 * 1_000_000, stop=stopping) == []


def test_cluster_monitors_name_the_worst_cluster_of_the_newest_analysis(engine: Engine) -> None:
    rated_spans(engine, T0, ups=1, downs=0)
    saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0), 1: cluster_metrics(30, 8.0, 0.7, 450.0),
                                 2: cluster_metrics(3, 20.0, 1.0, 9000.0), -1: cluster_metrics(50, 30.0, 0.9, 9e4)})
    drift = monitors.create(engine, "p", {"name": "new topics", "kind": "drift", "cluster": "each", "threshold": 3,
                                          "min_samples": 10})
    result = monitors.check(engine, drift["id"])
    assert result["status"] == "firing" and result["cluster"] == 1 and result["value"] == 8.0
    [alert] = monitors.list_alerts(engine, "p", analysis_id=result["analysis_id"])
    assert alert["cluster"] == 1 and monitors.list_alerts(engine, "p", analysis_id=result["analysis_id"] + 1) == []
    worse = monitors.create(engine, "p", {"name": "worse than all", "kind": "thumbs_down_rate", "cluster": "each",
                                          "comparison": "relative", "threshold": 0.3, "min_samples": 10})
    result = monitors.check(engine, worse["id"])
    assert result["status"] == "firing" and result["cluster"] == 1 and result["reference"] == pytest.approx(0.1)


def test_a_cluster_alert_posts_the_cluster_its_label_and_its_report(engine: Engine) -> None:
    rated_spans(engine, T0, ups=1, downs=0)
    analysis_id = saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0),
                                               1: cluster_metrics(30, 8.0, 0.7, 450.0)})
    analyses.set_report(engine, analysis_id, 1, "About: webhooks. Problem: no docs. Fix: write them.")
    with receiver() as hook:
        monitor = monitors.create(engine, "p", {"name": "new topics", "kind": "drift", "cluster": "each",
                                                "threshold": 3, "min_samples": 10, "webhook_url": hook.hook_url})
        monitors.check(engine, monitor["id"], policy=FAST)
        [body] = hook.bodies
    assert body["cluster"] == {"analysis_id": analysis_id, "cluster": 1, "label": "topic 1", "size": 30,
                               "report": "About: webhooks. Problem: no docs. Fix: write them."}
    assert body["analysis"]["id"] == analysis_id and body["value"] == 8.0 and body["threshold"] == 3.0
    assert body["message"] == "cluster 1 (topic 1) drift ratio 8.00 (n=30) is above 3.00"
    assert monitors.list_alerts(engine, "p")[0]["report"].startswith("About: webhooks.")


@SQLITE_ONLY
def test_a_numbered_cluster_is_pinned_to_its_analysis(engine: Engine) -> None:
    rated_spans(engine, T0, ups=1, downs=0)
    first = saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0)}, summary={"production": {"count": 100, "latency_p95_ms": 100.0}})
    monitor = monitors.create(engine, "p", {"name": "c0 slow", "kind": "latency_p95", "cluster": 0,
                                            "comparison": "relative", "threshold": 2, "min_samples": 10})
    assert monitor["analysis_id"] == first and monitor["cluster"] == "0"
    saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 100.0)})
    result = monitors.check(engine, monitor["id"])
    assert result["analysis_id"] == first and result["status"] == "firing" and "4.00×" in result["message"]
    with pytest.raises(NotFound, match="has no cluster 7; its clusters are: 0"):
        monitors.create(engine, "p", {"name": "x", "kind": "drift", "cluster": 7, "threshold": 3})


@SQLITE_ONLY
def test_global_drift_reads_the_newest_analysis_or_says_there_is_none(engine: Engine) -> None:
    rated_spans(engine, T0, ups=1, downs=0)
    monitor = monitors.create(engine, "p", {"name": "global", "kind": "drift", "threshold": 0.05, "min_samples": 1})
    assert monitors.check(engine, monitor["id"])["status"] == "no_data"
    saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0)}, drift={"mmd2": 0.2, "p_value": 0.2})
    result = monitors.check(engine, monitor["id"])
    assert result["status"] == "ok" and "p = 0.2 is not below 0.05" in result["message"]
    saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0)}, drift={"mmd2": 0.2, "p_value": 0.002})
    result = monitors.check(engine, monitor["id"])
    assert result["status"] == "firing" and result["value"] == 0.2 and "(p = 0.002)" in result["message"]


BAD_SPECS = [
    ({"kind": "errors"}, "unknown kind 'errors'; choose one of: thumbs_down_rate, latency_p95, drift, eval_rate"),
    ({"threshold": 1.5}, "threshold 1.5 does not fit a absolute thumbs_down_rate monitor; give a rate"),
    ({"kind": "latency_p95", "comparison": "relative", "threshold": 0.5}, "give a ratio above 1"),
    ({"webhook_url": "ftp://hooks.example.com/x"}, "must start with http:// or https://"),
    ({"filter": "latency_ms >"}, "filter"),
    ({"prompt": "support@x"}, "NAME or NAME@VERSION"),
    ({"min_samples": 0}, "min_samples must be between 1"),
    ({"colour": "red"}, "unknown field(s) ['colour']"),
    ({"kind": "drift", "threshold": 3, "filter": 'kind == "LLM"'}, "drift or cluster monitor reads an analysis"),
    ({"analysis_id": 1}, "analysis_id pins a cluster or drift monitor"),
]


@SQLITE_ONLY
def test_bad_monitor_specs_are_refused_with_the_reason_and_store_nothing(engine: Engine) -> None:
    rated_spans(engine, T0, ups=1, downs=0)
    for spec, message in BAD_SPECS:
        with pytest.raises(InvalidInput) as info:
            monitors.create(engine, "p", {"name": "bad", "kind": "thumbs_down_rate", "threshold": 0.3, **spec})
        assert message in str(info.value), spec
    assert monitors.list_monitors(engine, "p") == []
