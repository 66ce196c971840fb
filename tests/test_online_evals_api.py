"""Online eval rules through a real server: REST CRUD and status, bad input refused with nothing
stored, a pass by hand whose judge results land on the span (judge calls in `tenbin-evals`), the SDK
and `tenbin eval online`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import tenbin
import tenbin.evals as ev
from tenbin import cli_eval
from tenbin.cli import app
from tenbin.evals.tracing import EVALS_PROJECT
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.keys import create_key

P = "live-shop"
BASE = f"/api/v1/projects/{P}/online-evals"
cli = CliRunner()


@pytest.fixture(autouse=True)
def _no_background_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passes run only when a test asks, so counts are exact (the scheduler has its own tests)."""
    monkeypatch.setenv("TENBIN_ONLINE_EVAL_INTERVAL", "0")


@pytest.fixture
def judge_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    def script(messages: list[dict[str, Any]]) -> str:
        return '{"label": "relevant", "explanation": "it answers the refund question"}'

    with ScriptedLLM(script=script) as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        yield model


def send_spans(url: str, n: int = 3) -> list[str]:
    ids = []
    tenbin.init(url, project=P)
    try:
        for i in range(n):
            with tenbin.span("answer", kind="llm", input=f"How do I get refund {i}?") as span:
                span.set_output('{"answer": "Billing → Refunds"}')
                ids.append(span.span_id or "")
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return ids


def test_rules_are_created_listed_changed_and_deleted_with_their_status(server) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "answers", "evaluators": ["json_valid"], "filter": 'kind == "LLM"', "sampling_rate": 0.5,
            "max_per_minute": 60}
    created = httpx.post(server.url + BASE, json=body)
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("name", "state", "backlog", "evaluated", "last_error")} == \
        {"name": "answers", "state": "ok", "backlog": 0, "evaluated": 0, "last_error": None}
    changed = httpx.patch(f"{server.url}{BASE}/answers", json={"enabled": False, "max_per_minute": 0}).json()
    assert (changed["enabled"], changed["state"], changed["max_per_minute"]) == (False, "disabled", None)
    [listed] = httpx.get(server.url + BASE).json()
    assert listed["name"] == "answers" and listed["sampling_rate"] == 0.5
    assert httpx.delete(f"{server.url}{BASE}/answers").status_code == 200
    missing = httpx.get(f"{server.url}{BASE}/answers")
    assert missing.status_code == 404 and "no online eval rule named 'answers'" in missing.json()["detail"]


BAD = [
    ({"evaluators": ["json_valid", "nope"]}, "unknown evaluator 'nope'; known:"),
    ({"filter": 'kind = "LLM"'}, "use == to compare"),
    ({"sampling_rate": 0}, "sampling_rate must be greater than 0 and at most 1"),
    ({"sampling_rate": 1.5}, "sampling_rate must be greater than 0 and at most 1"),
    ({"sampling_rate": "lots"}, "sampling_rate must be a number"),
    ({"max_per_minute": -3}, "max_per_minute must be a whole number of at least 1"),
    ({"name": "two words"}, "rule name 'two words' is not allowed"),
    ({"evaluators": []}, "name at least one evaluator"),
]


def test_bad_rules_are_refused_with_a_clear_message_and_nothing_is_stored(server) -> None:  # type: ignore[no-untyped-def]
    for change, message in BAD:
        answer = httpx.post(server.url + BASE, json={"name": "r", "evaluators": ["json_valid"], **change})
        assert answer.status_code == 400 and message in answer.json()["detail"], (change, answer.text)
    assert httpx.get(server.url + BASE).json() == []


def test_a_duplicate_name_and_a_bad_change_leave_the_rule_as_it_was(server) -> None:  # type: ignore[no-untyped-def]
    httpx.post(server.url + BASE, json={"name": "r", "evaluators": ["json_valid"]})
    again = httpx.post(server.url + BASE, json={"name": "r", "evaluators": ["length"]})
    assert again.status_code == 400 and "already has an online eval rule named 'r'" in again.json()["detail"]
    bad = httpx.patch(f"{server.url}{BASE}/r", json={"sampling_rate": 2, "filter": 'kind == "LLM"'})
    assert bad.status_code == 400
    rule = httpx.get(f"{server.url}{BASE}/r").json()
    assert (rule["sampling_rate"], rule["filter"], rule["evaluators"]) == (1.0, "", ["json_valid"])


def test_with_auth_a_key_sees_only_its_project_and_a_read_key_cannot_change_rules(engine) -> None:  # type: ignore[no-untyped-def]
    read_key, write_key = create_key(engine, P, "read"), create_key(engine, P, "write")
    with LoopbackServer(create_app(engine=engine, auth=True)) as srv:
        def call(method: str, path: str, key: str, **kw: Any) -> httpx.Response:
            return httpx.request(method, srv.url + path, headers={"Authorization": f"Bearer {key}"}, **kw)

        body = {"name": "r", "evaluators": ["json_valid"]}
        assert call("POST", BASE, read_key, json=body).status_code == 403
        assert call("POST", BASE, write_key, json=body).status_code == 201
        assert call("GET", "/api/v1/projects/other/online-evals", write_key).status_code == 403
        assert [r["name"] for r in call("GET", BASE, read_key).json()] == ["r"]
        assert call("POST", f"{BASE}/run", read_key).status_code == 403


def test_a_pass_by_hand_stores_judge_results_on_the_span_and_traces_the_judge_apart(server, judge_model) -> None:  # type: ignore[no-untyped-def]
    rule = ev.create_online_rule("relevance", ["answer_relevance", "json_valid"], project=P, endpoint=server.url)
    assert rule["backlog"] == 0
    ids = send_spans(server.url)
    assert ev.get_online_rule("relevance", project=P, endpoint=server.url)["backlog"] == 3
    [result] = ev.run_online_rules(P, endpoint=server.url)
    assert (result["outcome"], result["evaluated"]) == ("ok", 3)
    feedback = {f["name"]: f for f in tenbin.Client(server.url).span(ids[0])["feedback"]}
    judged = feedback["answer_relevance"]
    assert (judged["label"], judged["value"], judged["source"], judged["comment"]) == \
        ("relevant", 1.0, "llm", "it answers the refund question")
    assert judged["details"]["online_rule"] == "relevance" and feedback["json_valid"]["label"] == "pass"
    judge_spans = tenbin.Client(server.url).spans(EVALS_PROJECT)
    assert len(judge_spans) == 3 and all(s["name"] == "judge.answer_relevance" for s in judge_spans)
    assert tenbin.Client(server.url).spans(P, limit=50).__len__() == 3
    status = ev.get_online_rule("relevance", project=P, endpoint=server.url)
    assert (status["evaluated"], status["backlog"], status["last_success"] is not None) == (3, 0, True)


def test_cli_adds_lists_runs_shows_and_removes_a_rule(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli_eval.console, "width", 160)  # a terminal, not CliRunner's 80 columns
    common = ["--project", P, "--endpoint", server.url]
    added = cli.invoke(app, ["eval", "online", "add", "json-check", "-e", "json_valid", "--filter", 'kind == "LLM"',
                             "--rate", "1", "--max-per-minute", "100", *common])
    assert added.exit_code == 0, added.output
    send_spans(server.url, 2)
    listed = cli.invoke(app, ["eval", "online", "ls", *common])
    assert "json-check" in listed.output and "json_valid" in listed.output
    ran = cli.invoke(app, ["eval", "online", "run", *common])
    assert ran.exit_code == 0 and "json-check" in ran.output and " ok " in ran.output
    status = cli.invoke(app, ["eval", "online", "status", "json-check", *common])
    assert "evaluated" in status.output and "│ 2 " in status.output
    disabled = cli.invoke(app, ["eval", "online", "disable", "json-check", *common])
    assert "is disabled" in disabled.output
    bad = cli.invoke(app, ["eval", "online", "add", "x", "-e", "json_valid", "--rate", "3", *common])
    assert bad.exit_code == 1 and "sampling_rate must be greater than 0" in bad.output
    removed = cli.invoke(app, ["eval", "online", "rm", "json-check", *common])
    assert removed.exit_code == 0 and "deleted" in removed.output
    assert "has no online eval rules" in cli.invoke(app, ["eval", "online", "ls", *common]).output
