"""Evaluations over REST and the SDK on a real server: results become feedback, judge calls are
traced into `tenbin-evals` and never into the evaluated project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

import tenbin
import tenbin.evals as ev
from tenbin.evals import code
from tenbin.evals.base import EvalInput
from tenbin.evals.tracing import EVALS_PROJECT
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.store.models import Feedback, Project, Span
from tests.llm_helpers import configured_llm

QUESTION = "How do I get a refund?"


def judge_script(messages: list[dict[str, Any]]) -> str:
    prompt = messages[-1]["content"]
    if "REFERENCE:" in prompt:
        return '{"label": "correct", "explanation": "matches the reference"}'
    if "DOCUMENT:" in prompt:
        return '{"label": "relevant"}'
    return "no idea"


@pytest.fixture
def judge_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    """The server's judges use TENBIN_LLM_*; point them at a scripted model."""
    with configured_llm(monkeypatch, judge_script) as model:
        yield model


def seed(url: str) -> dict[str, str]:
    """A support bot's traced answer: chain → retriever (2 docs) → llm, with a reference answer."""
    ids: dict[str, str] = {}
    tenbin.init(url, project="shop")
    try:
        with tenbin.session("conv-1"), tenbin.span("answer", input=QUESTION, metadata={"reference": "Billing → Refunds"}) as root:
            with tenbin.span("retrieve", kind="retriever", input=QUESTION) as ret:
                ret.set_output(["Refunds live under Billing → Refunds.", "Our office is in Oslo."])
            root.set_output("Open Billing → Refunds and pick the order.")
            ids["answer"] = root.span_id or ""
        with tenbin.span("no-reference", input="hi") as other:
            other.set_output('{"greeting": "hello"}')
            ids["plain"] = other.span_id or ""
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return ids


def span_count(engine: Engine, project: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Span).join(Project, Project.id == Span.project_id)
                            .where(Project.name == project)).scalar_one()


def test_run_stores_code_and_judge_results_as_feedback_on_the_span(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)
    body = {"span_ids": [ids["answer"]], "evaluators": [
        "qa_correctness", "retrieval_relevance", {"name": "contains", "params": {"text": "refunds"}}]}
    report = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60).json()
    assert report["stored"] == 3 and report["skipped"] == []
    by_name = {r["evaluator"]: r for r in report["results"]}
    assert by_name["retrieval_relevance"]["details"]["documents"][1]["label"] == "relevant"
    span = httpx.get(f"{server.url}/api/v1/spans/{ids['answer']}").json()
    feedback = {f["name"]: f for f in span["feedback"]}
    expected = {"kind": "label", "label": "correct", "value": 1.0, "source": "llm",
                "author": "qa_correctness@v1", "comment": "matches the reference"}
    assert {k: feedback["qa_correctness"][k] for k in expected} == expected
    assert feedback["retrieval_relevance"]["value"] == 1.0
    assert feedback["contains"]["source"] == "code" and feedback["contains"]["label"] == "pass"
    (judge_prompt,) = [r["messages"][-1]["content"] for r in judge_model.requests if "REFERENCE" in r["messages"][-1]["content"]]
    assert "REFERENCE: Billing → Refunds" in judge_prompt and "ANSWER: Open Billing" in judge_prompt


def test_judge_calls_are_traced_into_their_own_project_only(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)
    before = span_count(engine, "shop")
    httpx.post(f"{server.url}/api/v1/evals/run", json={"span_ids": [ids["answer"]], "evaluators": ["qa_correctness"]},
               timeout=60).raise_for_status()
    assert span_count(engine, "shop") == before
    with engine.connect() as conn:
        judge = conn.execute(select(Span).join(Project, Project.id == Span.project_id)
                             .where(Project.name == EVALS_PROJECT)).all()
    assert [(s.kind, s.name, s.prompt_name, s.prompt_version) for s in judge] == [
        ("LLM", "judge.qa_correctness", "tenbin-judge-qa_correctness", "1")]
    assert judge[0].parent_id is None and judge[0].trace_id != httpx.get(
        f"{server.url}/api/v1/spans/{ids['answer']}").json()["trace_id"]


def test_unparseable_verdict_is_stored_with_the_raw_text(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)
    body = {"span_ids": [ids["plain"]], "evaluators": [{"name": "toxicity", "params": {"retries": 0}}]}
    (result,) = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60).json()["results"]
    assert result["label"] == "unparseable"
    (stored,) = httpx.get(f"{server.url}/api/v1/spans/{ids['plain']}").json()["feedback"]
    assert stored["label"] == "unparseable" and "no idea" in stored["comment"]


def test_missing_reference_fails_the_run_naming_the_field_and_stores_nothing(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)
    body = {"project": "shop", "evaluators": ["json_valid", "qa_correctness"]}
    response = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60)
    assert response.status_code == 400
    assert f"'qa_correctness' needs the field 'reference' on span {ids['plain']}" in response.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar_one() == 0
    assert judge_model.requests == []
    skipping = httpx.post(f"{server.url}/api/v1/evals/run", json={**body, "skip_missing": True}, timeout=60).json()
    assert (ids["plain"], "qa_correctness") in [(s["span_id"], s["evaluator"]) for s in skipping["skipped"]]
    assert [r["span_id"] for r in skipping["results"] if r["evaluator"] == "qa_correctness"] == [ids["answer"]]


def test_filter_selects_the_spans_to_evaluate(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)
    body = {"project": "shop", "filter": 'name == "no-reference"', "evaluators": ["json_valid"]}
    report = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60).json()
    assert [(r["span_id"], r["label"]) for r in report["results"]] == [(ids["plain"], "pass")]


@pytest.mark.parametrize(("body", "detail"), [
    ({"evaluators": ["json_valid"]}, "give span_ids, or a project"),
    ({"project": "shop", "evaluators": ["nope"]}, "unknown evaluator 'nope'"),
    ({"project": "nowhere", "evaluators": ["json_valid"]}, "no project named 'nowhere'"),
])
def test_bad_run_requests_say_what_to_do(server, judge_model, body: dict[str, Any], detail: str) -> None:  # type: ignore[no-untyped-def]
    seed(server.url)
    response = httpx.post(f"{server.url}/api/v1/evals/run", json=body, timeout=60)
    assert response.status_code in (400, 404) and detail in response.json()["detail"]


def test_evaluator_list_shows_versions_and_templates(server) -> None:  # type: ignore[no-untyped-def]
    items = {i["name"]: i for i in httpx.get(f"{server.url}/api/v1/evals/evaluators").json()}
    assert items["user_frustration"]["requires"] == ["conversation"] and items["regex"]["source"] == "code"
    assert items["toxicity"]["version"] == "2" and "{{ output }}" in items["toxicity"]["template"]["user"]


def test_sdk_runs_server_evaluators_and_local_functions_alike(server, engine, judge_model) -> None:  # type: ignore[no-untyped-def]
    ids = seed(server.url)

    @ev.register("short_answer")
    def short_answer(example: EvalInput) -> bool:
        return len(example.output or "") < 80

    try:
        report = ev.evaluate_spans([ids["answer"]], ["qa_correctness", "short_answer"], endpoint=server.url)
    finally:
        code.USER.pop("short_answer")
    assert report["stored"] == 2
    feedback = {f["name"]: f for f in tenbin.Client(server.url).span(ids["answer"])["feedback"]}
    assert feedback["short_answer"]["source"] == "code" and feedback["short_answer"]["author"] == "short_answer@1"
    assert feedback["qa_correctness"]["label"] == "correct"


def test_judging_inside_a_traced_app_traces_the_judge_into_tenbin_evals_not_the_apps_project(server, engine) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM(script=lambda m: '{"label": "non_toxic"}') as model:
        tenbin.init(server.url, project="app")
        try:
            with tenbin.span("handler") as handler:
                (result,) = ev.evaluate(EvalInput(output="thanks!"), ["toxicity"], LLM(model.base_url, model.model))
                handler.set_output(result.label)
            tenbin.flush()
        finally:
            tenbin.shutdown()
    with engine.connect() as conn:
        rows = conn.execute(select(Project.name, Span.name, Span.trace_id).join(Project, Project.id == Span.project_id)).all()
    assert sorted((project, name) for project, name, _ in rows) == [("app", "handler"), (EVALS_PROJECT, "judge.toxicity")]
    assert len({trace for _, _, trace in rows}) == 2
