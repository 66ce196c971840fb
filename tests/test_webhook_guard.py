"""The SSRF guard on alert webhooks: URLs reaching loopback, private, link-local and other non-public
addresses (however spelled) are refused when saved over REST and again when an alert is sent;
TENBIN_WEBHOOK_ALLOW_PRIVATE=1 lets them through for local use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.analytics import monitors, webhooks
from tenbin.errors import InvalidInput
from tests.conftest import RunningServer
from tests.monitor_helpers import HOUR_US, T0, rated_spans, receiver

SPEC = {"name": "bad answers", "kind": "thumbs_down_rate", "threshold": 0.3, "min_samples": 10}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FAST = webhooks.Policy(timeout_s=2.0, attempts=3, backoff_s=0.01)
ALLOW = "TENBIN_WEBHOOK_ALLOW_PRIVATE"


@pytest.fixture
def rising(engine: Engine) -> Engine:
    """A store where a thumbs-down monitor fires when checked by `check`."""
    rated_spans(engine, T0 + HOUR_US, ups=5, downs=15)
    return engine


def check(engine: Engine, monitor: dict[str, Any]) -> dict[str, Any]:
    return monitors.check(engine, monitor["id"], at_us=T0 + 2 * HOUR_US, policy=FAST)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),          # 127.0.0.1 as one decimal number
    ("http://0x7f.1/hook", "loopback"),              # 127.0.0.1 in hex, short form
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped IPv6
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://[fd00::1]/hook", "private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://100.64.0.1/hook", "not globally routable"),  # carrier-grade NAT
])
def test_non_public_webhook_hosts_are_refused_however_spelled(
        url: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    with pytest.raises(InvalidInput, match=rf"\({reason} address\).*{ALLOW}=1"):
        webhooks.check_url(url)


def test_public_hosts_pass_the_guard_without_being_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    assert webhooks.check_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"
    assert webhooks.check_url("https://[2606:4700::1111]/hook") == "https://[2606:4700::1111]/hook"


@SQLITE_ONLY
def test_private_webhooks_are_refused_on_save_over_rest_and_nothing_is_stored(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        for url in ("http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data/"):
            answer = http.post("/projects/p/monitors", json={**SPEC, "webhook_url": url})
            assert answer.status_code == 400 and ALLOW in answer.json()["detail"], answer.text
            setting = http.put("/projects/p/alert-settings", json={"webhook_url": url})
            assert setting.status_code == 400 and "webhooks may only call public hosts" in setting.json()["detail"]
        assert http.get("/projects/p/monitors").json() == []
        assert http.get("/projects/p/alert-settings").json()["webhook_url"] is None
        public = http.post("/projects/p/monitors", json={**SPEC, "webhook_url": "https://93.184.216.34/hook"})
        assert public.status_code == 201 and public.json()["webhook_url"] == "https://93.184.216.34/hook"
        moved = http.patch(f"/monitors/{public.json()['id']}", json={"webhook_url": "http://192.168.1.1/hook"})
        assert moved.status_code == 400
        assert http.get(f"/monitors/{public.json()['id']}").json()["webhook_url"] == "https://93.184.216.34/hook"


@SQLITE_ONLY
def test_a_loopback_webhook_saved_while_allowed_is_refused_at_send_time_once_disallowed(
        rising: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    with receiver() as hook:
        monitor = monitors.create(rising, "p", {**SPEC, "webhook_url": hook.hook_url})
        monkeypatch.setenv(ALLOW, "0")
        result = check(rising, monitor)
        assert hook.bodies == []
    assert result["status"] == "firing" and result["delivery"]["status"] == "failed"
    assert result["delivery"]["attempts"] == 0 and "(loopback address)" in result["delivery"]["error"]
    [alert] = monitors.list_alerts(rising, "p")
    assert alert["delivery_status"] == "failed" and ALLOW in alert["delivery_error"]


@SQLITE_ONLY
def test_the_allow_setting_lets_a_loopback_receiver_get_its_alerts(
        rising: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    with receiver() as hook:
        monitors.set_project_webhook(rising, "p", hook.hook_url)
        monitor = monitors.create(rising, "p", SPEC)
        result = check(rising, monitor)
        assert result["delivery"] == {"status": "delivered", "attempts": 1, "error": None}
        assert [b["alert_id"] for b in hook.bodies] == [result["alert_id"]]


@SQLITE_ONLY
def test_the_server_wide_webhook_setting_is_guarded_at_send_time(
        rising: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    monkeypatch.setenv("TENBIN_ALERT_WEBHOOK_URL", "http://169.254.169.254/latest/meta-data/")
    monitor = monitors.create(rising, "p", SPEC)
    result = check(rising, monitor)
    assert result["delivery"]["status"] == "failed" and "(link-local address)" in result["delivery"]["error"]


@SQLITE_ONLY
def test_a_host_name_resolving_to_loopback_is_refused_at_send_time_with_the_error_stored(
        rising: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    with receiver() as hook:
        monitor = monitors.create(rising, "p", {**SPEC, "webhook_url": f"http://localhost:{hook.port}/hook"})
        monkeypatch.delenv(ALLOW)
        result = check(rising, monitor)
        assert hook.bodies == []
    [alert] = monitors.list_alerts(rising, "p")
    assert alert["delivery_status"] == "failed" and alert["delivery_attempts"] == 0
    assert "'http://localhost:" in alert["delivery_error"] and "(loopback address)" in alert["delivery_error"]
    assert result["delivery"]["error"] == alert["delivery_error"]
