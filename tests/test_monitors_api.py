"""Monitors and alerts over real HTTP: CRUD, check now, alert list and acknowledgement, bad input
refused with a clear 4xx, and the server's scheduler checking due monitors by itself."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.lookup import now_us
from tests.conftest import RunningServer
from tests.monitor_helpers import HOUR_US, cluster_metrics, rated_spans, saved_analysis

SPEC = {"name": "bad answers", "kind": "thumbs_down_rate", "threshold": 0.3, "min_samples": 10}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For checks whose SQL other tests already run on both dialects: saves PostgreSQL set-up time."""


def test_monitor_lifecycle_check_and_acknowledge_over_rest(engine: Engine, server: RunningServer) -> None:
    rated_spans(engine, now_us() - HOUR_US // 2, ups=4, downs=16)
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        created = http.post("/projects/p/monitors", json={**SPEC, "threshold": 0.9})
        assert created.status_code == 201, created.text
        mid = created.json()["id"]
        assert [m["name"] for m in http.get("/projects/p/monitors").json()] == ["bad answers"]
        assert http.post(f"/monitors/{mid}/check").json()["status"] == "ok"
        changed = http.patch(f"/monitors/{mid}", json={"threshold": 0.3})
        assert changed.status_code == 200 and changed.json()["threshold"] == 0.3
        fired = http.post(f"/monitors/{mid}/check").json()
        assert fired["status"] == "firing" and fired["alert_id"] is not None
        detail = http.get(f"/monitors/{mid}").json()
        assert detail["state"] == "firing" and [e["status"] for e in detail["evaluations"]] == ["firing", "ok"]
        [alert] = http.get("/projects/p/alerts", params={"status": "open"}).json()
        assert alert["monitor_name"] == "bad answers" and alert["value"] == pytest.approx(0.8)
        acked = http.post(f"/projects/p/alerts/{alert['id']}/acknowledge", json={"by": "ana"}).json()
        assert acked["acknowledged_by"] == "ana" and acked["acknowledged"] is not None
        assert http.get("/projects/p/alerts", params={"status": "open"}).json() == []
        assert http.delete(f"/monitors/{mid}").json() == {"deleted": mid}
        gone = http.get(f"/monitors/{mid}")
        assert gone.status_code == 404 and "tenbin monitors ls" in gone.json()["detail"]


@SQLITE_ONLY
def test_bad_monitor_requests_get_a_clear_4xx_and_store_nothing(engine: Engine, server: RunningServer) -> None:
    rated_spans(engine, now_us() - HOUR_US // 2, ups=1, downs=0)
    saved_analysis(engine, "p", {0: cluster_metrics(40, 1.0, 0.1, 400.0), 1: cluster_metrics(40, 9.0, 0.1, 400.0)})
    cases = [
        ({"kind": "errors"}, 400, "unknown kind 'errors'; choose one of"),
        ({"threshold": 2}, 400, "give a rate between 0 and 1"),
        ({"kind": "drift", "cluster": 9, "threshold": 3}, 404, "has no cluster 9; its clusters are: 0, 1"),
        ({"webhook_url": "file:///etc/passwd"}, 400, "must start with http:// or https://"),
        ({"filter": 'kind = "LLM"'}, 400, "filter"),
    ]
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        for change, status, message in cases:
            answer = http.post("/projects/p/monitors", json={**SPEC, **change})
            assert answer.status_code == status and message in answer.json()["detail"], (change, answer.text)
        assert http.post("/projects/p/monitors", json={"name": "x", "kind": "drift"}).status_code == 422
        assert http.get("/projects/p/monitors").json() == []
        assert http.post("/monitors/999/check").status_code == 404
        assert http.post("/projects/p/alerts/999/acknowledge").status_code == 404
        ok = http.post("/projects/p/monitors", json=SPEC).json()
        refused = http.patch(f"/monitors/{ok['id']}", json={"comparison": "relative", "threshold": 2})
        assert refused.status_code == 400 and "a rise in rate between 0 and 1" in refused.json()["detail"]
        assert http.get(f"/monitors/{ok['id']}").json()["comparison"] == "absolute"
        bad_hook = http.put("/projects/p/alert-settings", json={"webhook_url": "mailto:ops@example.com"})
        assert bad_hook.status_code == 400 and "must start with http:// or https://" in bad_hook.json()["detail"]
        set_hook = http.put("/projects/p/alert-settings", json={"webhook_url": "https://hooks.example.com/t"})
        assert set_hook.json()["webhook_url"] == "https://hooks.example.com/t"
        assert http.get("/projects/p/alert-settings").json()["webhook_url"] == "https://hooks.example.com/t"


def test_the_server_checks_due_monitors_on_its_scheduler(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_MONITOR_INTERVAL", "0.2")
    rated_spans(engine, now_us() - HOUR_US // 2, ups=2, downs=18)
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv, httpx.Client(base_url=f"{srv.url}/api/v1") as http:
        http.post("/projects/p/monitors", json=SPEC).raise_for_status()
        deadline = time.monotonic() + 20
        while not http.get("/projects/p/alerts").json() and time.monotonic() < deadline:
            time.sleep(0.1)
        [alert] = http.get("/projects/p/alerts").json()
    assert alert["kind"] == "thumbs_down_rate" and alert["value"] == pytest.approx(0.9)
