"""`tenbin eval run` and `tenbin eval list` against a real server."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import tenbin
from tenbin.cli import app

runner = CliRunner()


def seed(url: str) -> str:
    tenbin.init(url, project="cli-shop")
    try:
        with tenbin.span("extract", input="invoice text") as span:
            span.set_output(json.dumps({"total": 42}))
            span_id = span.span_id or ""
        with tenbin.span("chat", input="hi") as other:
            other.set_output("hello there")
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return span_id


def test_eval_run_scores_filtered_spans_and_stores_feedback(server) -> None:  # type: ignore[no-untyped-def]
    span_id = seed(server.url)
    schema = json.dumps({"name": "json_schema", "params": {"schema": {"type": "object", "required": ["total"]}}})
    result = runner.invoke(app, ["eval", "run", "--endpoint", server.url, "--project", "cli-shop",
                                 "--filter", 'name == "extract"', "--evaluators", "json_valid", "--evaluator", schema])
    assert result.exit_code == 0, result.output
    assert "2 results stored as feedback; 0 skipped" in result.output
    feedback = {f["name"]: f["label"] for f in tenbin.Client(server.url).span(span_id)["feedback"]}
    assert feedback == {"json_valid": "pass", "json_schema": "pass"}


def test_eval_run_reports_bad_input_without_storing(server) -> None:  # type: ignore[no-untyped-def]
    seed(server.url)
    result = runner.invoke(app, ["eval", "run", "--endpoint", server.url, "--project", "cli-shop",
                                 "--evaluators", "exact_match"])
    assert result.exit_code == 1 and "needs the field 'reference'" in result.output
    bad_json = runner.invoke(app, ["eval", "run", "--endpoint", server.url, "--project", "cli-shop",
                                   "--evaluator", "{regex"])
    assert bad_json.exit_code == 1 and "--evaluator must be JSON" in bad_json.output


def test_eval_list_shows_every_evaluator() -> None:
    result = runner.invoke(app, ["eval", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("exact_match", "json_schema", "hallucination", "user_frustration"):
        assert name in result.output
