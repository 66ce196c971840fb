"""The scheduler: tasks run periodically, one task's exception neither stops it nor the others,
stop() ends every thread; in the server, online rules tick on it without anyone calling /run."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import Engine

import tenbin
from tenbin.errors import InvalidInput
from tenbin.loopback import LoopbackServer
from tenbin.scheduler import Scheduler
from tenbin.server.app import create_app


def wait_for(condition, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until `condition()` holds (a wait, not a timing assertion: the deadline is generous)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_failing_task_is_logged_and_neither_it_nor_the_others_stop() -> None:
    calls = {"ok": 0, "bad": 0}

    def bad() -> None:
        calls["bad"] += 1
        raise RuntimeError("boom")

    scheduler = Scheduler()
    scheduler.register("ok", 0.01, lambda: calls.__setitem__("ok", calls["ok"] + 1))
    scheduler.register("bad", 0.01, bad)
    scheduler.start()
    try:
        wait_for(lambda: calls["bad"] >= 3 and calls["ok"] >= 3)
    finally:
        scheduler.stop()
    tasks = {t["name"]: t for t in scheduler.tasks()}
    assert tasks["bad"]["failures"] >= 3 and tasks["bad"]["last_error"] == "RuntimeError: boom"
    assert tasks["ok"]["failures"] == 0 and tasks["ok"]["last_error"] is None


def test_stop_waits_for_a_running_task_and_ends_every_thread() -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(5)

    scheduler = Scheduler()
    scheduler.register("slow", 0.01, slow)
    scheduler.start()
    started.wait(5)
    threading.Timer(0.1, release.set).start()
    scheduler.stop()
    assert not any(t.name.startswith("tenbin-task-") for t in threading.enumerate())
    assert scheduler.tasks()[0]["runs"] == 1 and scheduler.stopping.is_set()


def test_register_refuses_a_duplicate_name_and_a_non_positive_interval() -> None:
    scheduler = Scheduler()
    scheduler.register("a", 1, lambda: None)
    with pytest.raises(InvalidInput, match="already registered"):
        scheduler.register("a", 1, lambda: None)
    with pytest.raises(InvalidInput, match="more than 0 seconds"):
        scheduler.register("b", 0, lambda: None)


def test_the_server_runs_enabled_rules_on_its_own_and_stops_its_scheduler(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENBIN_ONLINE_EVAL_INTERVAL", "0.05")
    app = create_app(engine=engine, auth=False)
    with LoopbackServer(app) as srv:
        base = f"{srv.url}/api/v1/projects/tick/online-evals"
        httpx.post(base, json={"name": "auto", "evaluators": ["json_valid"]}).raise_for_status()
        tenbin.init(srv.url, project="tick")
        try:
            with tenbin.span("answer", input="q") as span:
                span.set_output('{"a": 1}')
            tenbin.flush()
        finally:
            tenbin.shutdown()
        wait_for(lambda: httpx.get(f"{base}/auto").json()["evaluated"] == 1)
        feedback = tenbin.Client(srv.url).span(span.span_id or "")["feedback"]
        assert [(f["name"], f["label"]) for f in feedback] == [("json_valid", "pass")]
    assert app.state.scheduler.stopping.is_set()
    assert not any(t.name == "tenbin-task-online-evals" for t in threading.enumerate())


def test_interval_zero_registers_no_online_eval_task(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENBIN_ONLINE_EVAL_INTERVAL", "0")
    app = create_app(engine=engine, auth=False)
    assert "online-evals" not in [t["name"] for t in app.state.scheduler.tasks()]
