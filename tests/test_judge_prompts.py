"""Judge templates live in each project's prompt registry (`tenbin-judge-<judge>`): the built-in is
pushed once on first use, an edited version labelled `production` is what the judges then send,
results name the registry version, a template asking for a field the judge lacks is refused before
any model call, and every path that judges for a project (REST runs, online rules, experiments,
the SDK's function experiments, calibration, the evaluator list, the CLI) reads the same registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import tenbin
import tenbin.evals as ev
from tenbin.cli import app
from tenbin.errors import InvalidInput
from tenbin.evals import judge_prompts, online, templates
from tenbin.evals import online_rules as rules
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.prompts import registry
from tenbin.store import datasets as dataset_store
from tenbin.store.models import Feedback, OnlineEvalRule
from tenbin.store.prompts import list_prompts, list_versions
from tests.llm_helpers import configured_llm

PROJECT = "shop"
NAME = "tenbin-judge-qa_correctness"
STRICT = "You are a STRICT grader."


def script(messages: list[dict[str, Any]]) -> str:
    """The built-in wording is graded 'correct'; an edited template saying STRICT gets 'incorrect'."""
    text = "\n".join(m["content"] for m in messages)
    return '{"label": "incorrect", "explanation": "strict"}' if STRICT in text else '{"label": "correct"}'


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, script) as scripted:
        yield scripted


def answer(url: str, project: str = PROJECT) -> str:
    """One traced answer with a reference, so qa_correctness can judge it; its span id."""
    tenbin.init(url, project=project)
    try:
        with tenbin.span("answer", input="How do refunds work?", metadata={"reference": "Billing"}) as span:
            span.set_output("Open Billing → Refunds.")
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return span.span_id or ""


def judge(url: str, span_id: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/evals/run", json={"span_ids": [span_id], "evaluators": ["qa_correctness"]},
                      timeout=60)


def strict_version(engine: Engine, label: bool = True, user: str | None = None) -> dict[str, Any]:
    """An edit of the judge's template, pushed (and labelled production) as a user would."""
    base = registry.get(engine, PROJECT, NAME, version=1)
    messages = [{"role": "system", "content": STRICT}, {"role": "user", "content": user or base["messages"][1]["content"]}]
    pushed = registry.push(engine, PROJECT, {"name": NAME, "messages": messages, "message": "stricter", "author": "ana"})
    if label:
        registry.move_label(engine, PROJECT, NAME, "production", pushed["version"], author="ana")
    return pushed


def feedback_authors(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r.author for r in conn.execute(select(Feedback).order_by(Feedback.id))]


def test_first_run_pushes_the_builtin_once_and_results_name_the_registry_version(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    span_id = answer(server.url)
    for _ in range(2):
        judge(server.url, span_id).raise_for_status()
    versions = list_versions(engine, PROJECT, NAME)
    assert [(v["version"], v["author"]) for v in versions] == [(1, "tenbin")]
    stored = registry.get(engine, PROJECT, NAME)
    assert [m["content"] for m in stored["messages"]] == [m["content"] for m in templates.BUILTIN["qa_correctness"].messages]
    assert {"input", "output", "reference", "labels"} <= {v["name"] for v in stored["variables"]}
    assert feedback_authors(engine) == ["qa_correctness@v1", "qa_correctness@v1"]
    assert model.requests[0]["messages"][1]["content"] == model.requests[1]["messages"][1]["content"]


def test_the_production_version_is_what_the_judge_sends_and_labels_move_it(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    span_id = answer(server.url)
    judge(server.url, span_id).raise_for_status()
    strict_version(engine)
    registry.push(engine, PROJECT, {**templates_of(engine, 1), "message": "newest, unlabelled"})  # v3: not production
    (result,) = judge(server.url, span_id).json()["results"]
    assert (result["label"], result["author"]) == ("incorrect", "qa_correctness@v2")
    assert model.requests[-1]["messages"][0]["content"] == STRICT
    registry.move_label(engine, PROJECT, NAME, "production", 3)
    (result,) = judge(server.url, span_id).json()["results"]
    assert (result["label"], result["author"]) == ("correct", "qa_correctness@v3")
    registry.rollback(engine, PROJECT, NAME, author="ana")
    (result,) = judge(server.url, span_id).json()["results"]
    assert (result["label"], result["author"]) == ("incorrect", "qa_correctness@v2")


def templates_of(engine: Engine, version: int) -> dict[str, Any]:
    found = registry.get(engine, PROJECT, NAME, version=version)
    return {"name": NAME, "messages": found["messages"]}


def test_each_project_has_its_own_judge_templates(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    span_id = answer(server.url)
    other = answer(server.url, project="other")
    judge(server.url, span_id).raise_for_status()
    strict_version(engine)
    body = {"span_ids": [span_id, other], "evaluators": ["qa_correctness"]}
    results = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60).json()["results"]
    assert sorted((r["span_id"] == other, r["label"], r["author"]) for r in results) == [
        (False, "incorrect", "qa_correctness@v2"), (True, "correct", "qa_correctness@v1")]
    assert [v["author"] for v in list_versions(engine, "other", NAME)] == ["tenbin"]


def test_a_template_using_a_field_the_judge_lacks_is_refused_before_any_call(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    span_id = answer(server.url)
    judge(server.url, span_id).raise_for_status()
    calls = len(model.requests)
    strict_version(engine, user="Grade {{ answer_text }} against {{ reference }}. {{ labels }}")
    response = judge(server.url, span_id)
    assert response.status_code == 400
    assert "uses ['answer_text'], which the qa_correctness judge does not provide" in response.json()["detail"]
    assert len(model.requests) == calls and len(feedback_authors(engine)) == 1


def test_online_rules_judge_with_the_project_template_and_refuse_a_broken_one_unsaved(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    answer(server.url)
    judge(server.url, answer(server.url)).raise_for_status()
    strict_version(engine, user="{{ nope }}")
    with pytest.raises(InvalidInput, match=r"uses \['nope'\]"):
        rules.create(engine, PROJECT, "strict", evaluators=["qa_correctness"], backfill=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OnlineEvalRule)).scalar() == 0
    strict_version(engine)
    rules.create(engine, PROJECT, "strict", evaluators=["qa_correctness"], backfill=True)
    (summary,) = online.run_pass(engine, PROJECT, force=True, llm=LLM())
    assert summary["outcome"] == "ok" and summary["evaluated"] == 2
    assert feedback_authors(engine)[-2:] == ["qa_correctness@v3", "qa_correctness@v3"]


def test_experiments_on_the_server_and_in_the_sdk_use_the_project_template(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    dataset_store.create_dataset(engine, PROJECT, "faq", [{"input": {"question": "Refunds?"}, "expected": "Billing"}])
    registry.push(engine, PROJECT, {"name": "support", "template": "Answer: {{ question }}"})
    ev.run_experiment("faq", task="support@1", evaluators=["qa_correctness"], project=PROJECT, endpoint=server.url)
    strict_version(engine)
    on_server = ev.run_experiment("faq", task="support@1", evaluators=["qa_correctness"], project=PROJECT,
                                  endpoint=server.url)
    in_sdk = ev.run_experiment("faq", task=lambda q: "Billing", evaluators=["qa_correctness"], project=PROJECT,
                               endpoint=server.url, llm=LLM())
    for exp in (on_server, in_sdk):
        assert [(e["name"], e["version"]) for e in exp["evaluators"]] == [("qa_correctness", "v2")]
        assert exp["results"][0]["scores"][0]["label"] == "incorrect"


def test_calibration_and_the_evaluator_list_read_the_project_template(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    listed = httpx.get(f"{server.url}/api/v1/evals/evaluators", params={"project": PROJECT}).json()
    qa = next(e for e in listed if e["name"] == "qa_correctness")
    assert (qa["version"], qa["prompt"]) == ("2", None)  # nothing run yet: the built-in, and nothing pushed
    assert list_prompts(engine, PROJECT) == []
    judge(server.url, answer(server.url)).raise_for_status()
    strict_version(engine)
    listed = httpx.get(f"{server.url}/api/v1/evals/evaluators", params={"project": PROJECT}).json()
    qa = next(e for e in listed if e["name"] == "qa_correctness")
    assert (qa["version"], qa["prompt"], qa["template"]["system"]) == ("v2", NAME, STRICT)
    builtin = next(e for e in httpx.get(f"{server.url}/api/v1/evals/evaluators").json() if e["name"] == "qa_correctness")
    assert builtin["version"] == "2"
    report = httpx.post(f"{server.url}/api/v1/evals/calibrate", json={"judge": "qa_correctness", "project": PROJECT},
                        timeout=120).json()
    assert report["version"] == "v2" and all(p["predicted"] == "incorrect" for p in report["predictions"])
    result = CliRunner().invoke(app, ["eval", "list", "--project", PROJECT, "--json", "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    qa = next(e for e in json.loads(result.output) if e["name"] == "qa_correctness")
    assert (qa["version"], qa["prompt"]) == ("v2", NAME)
    result = CliRunner().invoke(app, ["eval", "calibrate", "qa_correctness", "--project", PROJECT, "--json",
                                      "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["version"] == "v2"


def test_an_in_process_override_wins_over_the_registry(engine, model) -> None:  # type: ignore[no-untyped-def]
    prompts = judge_prompts.Local(engine, PROJECT)
    templates.override("qa_correctness", user="Q {{ input }} R {{ reference }} A {{ output }} {{ labels }}",
                       version="team-1")
    try:
        (bound,) = judge_prompts.bind(ev.resolve(["qa_correctness"], LLM()), prompts)
        assert bound.version == "team-1"
    finally:
        templates.reset()
    (bound,) = judge_prompts.bind(ev.resolve(["qa_correctness"], LLM()), prompts)
    assert bound.version == "v1"
