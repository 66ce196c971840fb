"""Segment-aware monitors (`group_by`) and `tenbin.Client`'s analysis/monitor/alert methods, over
real HTTP: a grouped monitor names the segment over its threshold without a filter naming it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine

from tenbin import Client
from tenbin.analytics import monitors
from tenbin.errors import InvalidInput
from tenbin.store.lookup import now_us
from tests.conftest import RunningServer
from tests.monitor_helpers import (
    HOUR_US,
    cluster_metrics,
    rated_spans,
    saved_analysis,
    timed_spans,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SLOW = {"name": "slow tasks", "kind": "latency_p95", "threshold": 1000, "min_samples": 10, "group_by": "metadata.task"}


def _tasks(engine: Engine, start_us: int, slow_ms: float = 4000.0) -> None:
    """`billing` fast, `summarize` slow, `rare` slow but with too few spans to judge."""
    timed_spans(engine, start_us, [200.0] * 20, metadata={"task": "billing"})
    timed_spans(engine, start_us, [slow_ms] * 20, metadata={"task": "summarize"})
    timed_spans(engine, start_us, [9000.0] * 3, metadata={"task": "rare"})


def test_a_grouped_monitor_fires_naming_only_the_segment_over_the_threshold(engine: Engine,
                                                                             server: RunningServer) -> None:
    _tasks(engine, now_us() - HOUR_US // 2)
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        created = http.post("/projects/p/monitors", json=SLOW)
        assert created.status_code == 201 and created.json()["group_by"] == "metadata.task", created.text
        fired = http.post(f"/monitors/{created.json()['id']}/check").json()
        [alert] = http.get("/projects/p/alerts").json()
    assert fired["status"] == "firing" and fired["details"]["firing"] == ["summarize"], fired
    assert '"summarize"' in fired["message"] and "billing" not in fired["message"], fired["message"]
    groups = {g["group"]: g for g in fired["details"]["groups"]}
    assert {k: g["status"] for k, g in groups.items()} == {"summarize": "firing", "billing": "ok",
                                                          "rare": "insufficient_data"}
    assert groups["summarize"]["n"] == 20 and fired["value"] == pytest.approx(4000.0)
    assert '"summarize"' in alert["message"] and alert["value"] == pytest.approx(4000.0)


@SQLITE_ONLY
def test_a_relative_grouped_monitor_compares_each_group_with_its_own_previous_window(engine: Engine) -> None:
    now = now_us()
    _tasks(engine, now - 3 * HOUR_US // 2, slow_ms=3000.0)
    _tasks(engine, now - HOUR_US // 2, slow_ms=3300.0)
    timed_spans(engine, now - HOUR_US // 2, [900.0] * 20, metadata={"task": "new"})
    made = monitors.create(engine, "p", {**SLOW, "comparison": "relative", "threshold": 1.5})
    quiet = monitors.check(engine, made["id"])
    groups = {g["group"]: g["status"] for g in quiet["details"]["groups"]}
    assert quiet["status"] == "ok" and groups["summarize"] == "ok" and groups["new"] == "insufficient_data", quiet
    timed_spans(engine, now - HOUR_US // 4, [5000.0] * 20, metadata={"task": "billing"})
    fired = monitors.check(engine, made["id"])
    assert fired["status"] == "firing" and fired["details"]["firing"] == ["billing"], fired


@SQLITE_ONLY
def test_a_bad_group_by_is_refused_over_rest_with_what_to_use(engine: Engine, server: RunningServer) -> None:
    cases = [({"group_by": "colour"}, "cannot group by 'colour'; use metadata.<key> or one of"),
             ({"group_by": "metadata."}, "needs a key, e.g. metadata.task"),
             ({"kind": "drift", "threshold": 3}, "group_by checks each segment of a thumbs_down_rate, latency_p95 or eval_rate"),
             ({"group_by": 7}, "group_by")]
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        for change, message in cases:
            answer = http.post("/projects/p/monitors", json={**SLOW, **change})
            assert answer.status_code in (400, 422) and message in answer.text, (change, answer.text)
        assert http.get("/projects/p/monitors").json() == []
        made = http.post("/projects/p/monitors", json=SLOW).json()
        cleared = http.patch(f"/monitors/{made['id']}", json={"group_by": None})
        assert cleared.status_code == 200 and cleared.json()["group_by"] is None


@SQLITE_ONLY
def test_client_lists_analyses_and_refuses_a_run_without_embeddings(engine: Engine, server: RunningServer) -> None:
    rated_spans(engine, now_us() - HOUR_US // 2, ups=1, downs=0)
    run_id = saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0)})
    with Client(server.url) as client:
        assert [a["id"] for a in client.analyses("p")] == [run_id]
        assert [c["cluster"] for c in client.analysis(run_id)["clusters"]] == [0]
        with pytest.raises(InvalidInput, match="no input embeddings yet; run `tenbin embed"):
            client.start_analysis("p", baseline="7d", window="24h")


@SQLITE_ONLY
def test_client_creates_checks_and_lists_monitors_alerts_and_online_rules(engine: Engine,
                                                                          server: RunningServer) -> None:
    rated_spans(engine, now_us() - HOUR_US // 2, ups=2, downs=18)
    with Client(server.url) as client:
        made = client.create_monitor("p", name="bad answers", kind="thumbs_down_rate", threshold=0.3, min_samples=10)
        assert [m["id"] for m in client.monitors("p")] == [made["id"]]
        assert client.check_monitor(made["id"])["status"] == "firing"
        assert [a["monitor_name"] for a in client.alerts("p", status="open")] == ["bad answers"]
        with pytest.raises(InvalidInput, match="group_by"):
            client.create_monitor("p", name="x", kind="drift", threshold=3, group_by="metadata.task")
        httpx.post(f"{server.url}/api/v1/projects/p/online-evals",
                   json={"name": "answers", "evaluators": ["json_valid"]}).raise_for_status()
        assert [r["name"] for r in client.online_rules("p")] == ["answers"]
