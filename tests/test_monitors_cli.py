"""`tenbin monitors add/ls/check/show/alerts/ack/rm` and `tenbin report` against a real server."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.llm.scripted import ScriptedLLM
from tenbin.store.lookup import now_us
from tests.conftest import RunningServer
from tests.monitor_helpers import HOUR_US, rated_spans, seeded_analysis

runner = CliRunner()
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _cli(server: RunningServer, *args: str, project: bool = True) -> Any:
    extra = ["-p", "p"] if project else []
    return runner.invoke(app, [*args, *extra, "--endpoint", server.url], terminal_width=250)


def test_add_check_alert_acknowledge_and_remove_from_the_command_line(engine: Engine, server: RunningServer) -> None:
    rated_spans(engine, now_us() - HOUR_US // 2, ups=3, downs=17)
    added = _cli(server, "monitors", "add", "bad answers", "--kind", "thumbs_down_rate", "--threshold", "0.3",
                 "--window", "1h", "--min-samples", "10", "--interval", "10m")
    assert added.exit_code == 0, added.output
    assert "monitor 1 'bad answers': thumbs_down_rate absolute > 0.3, checked every 10m" in added.output
    checked = _cli(server, "monitors", "check", "1", project=False)
    assert checked.exit_code == 0 and "firing: thumbs-down rate 85% (n=20) is above 30%" in checked.output
    assert "alert 1 raised" in checked.output
    assert "still firing: already alerted" in _cli(server, "monitors", "check", "1", project=False).output
    listed = _cli(server, "monitors", "ls")
    assert "bad" in listed.output and "firing" in listed.output and "absolute >" in listed.output
    shown = _cli(server, "monitors", "show", "1", project=False)
    assert shown.output.count("firing") >= 3
    alerts = _cli(server, "monitors", "alerts", "--open")
    assert "thumbs-down rate 85%" in alerts.output and "1 alerts" in alerts.output
    assert "acknowledged by ana" in _cli(server, "monitors", "ack", "1", "--by", "ana").output
    assert "0 alerts" in _cli(server, "monitors", "alerts", "--open").output
    assert _cli(server, "monitors", "rm", "1", project=False).exit_code == 0
    gone = _cli(server, "monitors", "rm", "1", project=False)
    assert gone.exit_code == 1 and "no monitor 1" in gone.output


@SQLITE_ONLY
def test_bad_options_exit_with_the_servers_reason_and_the_project_webhook_is_set(engine: Engine, server: RunningServer) -> None:
    rated_spans(engine, now_us(), ups=1, downs=0)
    bad = _cli(server, "monitors", "add", "x", "--kind", "latency", "--threshold", "3")
    assert bad.exit_code == 1 and "unknown kind 'latency'" in bad.output
    window = _cli(server, "monitors", "add", "x", "--kind", "latency_p95", "--threshold", "3", "--window", "soon")
    assert window.exit_code == 1 and "--window 'soon' must be seconds or a duration" in window.output
    group = _cli(server, "monitors", "add", "x", "--kind", "latency_p95", "--threshold", "3", "--group-by", "colour")
    assert group.exit_code == 1 and "cannot group by 'colour'; use metadata.<key>" in group.output
    grouped = _cli(server, "monitors", "add", "slow tasks", "--kind", "latency_p95", "--threshold", "3000",
                   "--group-by", "metadata.task")
    assert grouped.exit_code == 0 and "latency_p95 absolute > 3000 for each metadata.task," in grouped.output
    hook = _cli(server, "monitors", "webhook", "https://hooks.example.com/p")
    assert hook.exit_code == 0 and "project 'p' webhook: https://hooks.example.com/p" in hook.output
    assert "webhook: https://hooks.example.com/p" in _cli(server, "monitors", "webhook").output
    assert "webhook: none" in _cli(server, "monitors", "webhook", "--clear").output


@SQLITE_ONLY
def test_report_command_writes_and_shows_a_cluster_report(engine: Engine, server: RunningServer,
                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    analysis_id = seeded_analysis(engine)
    with ScriptedLLM(script=lambda _m: "About: refunds.\nProblem: [no answer].\nFix: add a refund page.") as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        assert "has no report yet" in _cli(server, "report", str(analysis_id), "0", "--show", project=False).output
        made = _cli(server, "report", str(analysis_id), "0", project=False)
    assert made.exit_code == 0, made.output
    assert "tenbin-cluster-report v1" in made.output and "Problem: [no answer]." in made.output
    shown = _cli(server, "report", str(analysis_id), "0", "--show", project=False)
    assert "Fix: add a refund page." in shown.output
