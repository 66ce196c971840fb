"""`tenbin ab start/show/ls/stop/perf` against a real running server."""

from __future__ import annotations

from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.prompts import experiments, registry

runner = CliRunner()
PROJECT = "ab-cli"


def _cli(server, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["ab", *args, "-p", PROJECT, "--endpoint", server.url], terminal_width=200)


def test_start_show_list_and_stop_with_promotion(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    for text in ("Hello {{ name }}", "Hi {{ name }}!"):
        registry.push(engine, PROJECT, {"name": "greeting", "template": text})
    started = _cli(server, "start", "greeting", "--arm", "1=0.7", "--arm", "2=0.3", "--guardrail", "error_rate=0.1")
    assert started.exit_code == 0, started.output
    assert "v1 0.7, v2 0.3" in started.output
    for unit in ("a", "b", "c"):
        experiments.assign(engine, PROJECT, "greeting", unit)
    shown = _cli(server, "show", "1")
    assert shown.exit_code == 0, shown.output
    assert "greeting: running" in shown.output and "no winner yet" in shown.output
    assert "control" in shown.output
    listed = _cli(server, "ls")
    assert "greeting" in listed.output and "running" in listed.output
    stopped = _cli(server, "stop", "1", "--promote", "2", "--author", "ana")
    assert stopped.exit_code == 0, stopped.output
    assert "production → v2" in stopped.output
    assert registry.get(engine, PROJECT, "greeting", label="production")["version"] == 2
    assert _cli(server, "perf", "greeting").exit_code == 0


def test_bad_arms_and_weights_exit_with_the_reason(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hello"})
    registry.push(engine, PROJECT, {"name": "greeting", "template": "Hi"})
    bad_arm = _cli(server, "start", "greeting", "--arm", "one=0.5", "--arm", "2=0.5")
    assert bad_arm.exit_code == 1 and "--arm must start with a version number" in bad_arm.output
    bad_sum = _cli(server, "start", "greeting", "--arm", "1=0.5", "--arm", "2=0.6")
    assert bad_sum.exit_code == 1 and "sum to 1.1" in bad_sum.output
    assert experiments.list_all(engine, PROJECT) == []
