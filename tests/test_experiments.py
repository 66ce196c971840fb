"""Experiments on both databases with a scripted model: a prompt version or a Python function over a
dataset version, scored, stored per example; refused up front when a needed field is missing; and two
experiments compared, with the aggregate numbers checked on a constructed case."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

import tenbin.evals as ev
from tenbin.errors import InvalidInput
from tenbin.evals.experiments import variables_for
from tenbin.llm.scripted import ScriptedLLM
from tenbin.prompts import registry
from tenbin.prompts.templates import Template
from tenbin.store import datasets as store
from tenbin.store.models import Experiment
from tests.llm_helpers import configured_llm

EXAMPLES = [
    {"input": {"question": "How do refunds work?"}, "expected": "Billing → Refunds"},
    {"input": {"question": "Where is the office?"}, "expected": "Oslo"},
    {"input": {"question": "What does it cost?"}, "expected": "20 dollars"},
]


def script(messages: list[dict[str, Any]]) -> str:
    """Judge: correct iff the answer contains the reference. Task: v1 answers well, v2 says 'no idea'."""
    prompt = messages[-1]["content"]
    if "REFERENCE:" in prompt:
        reference = prompt.split("REFERENCE: ")[1].split("\n")[0]
        answer = prompt.split("ANSWER: ")[1].split("\n")[0]
        return '{"label": "%s"}' % ("correct" if reference in answer else "incorrect")
    if prompt.startswith("Answer well:"):
        return {"refunds": "See Billing → Refunds.", "office": "In Oslo.", "cost": "It is 20 dollars."}[
            next(k for k in ("refunds", "office", "cost") if k in prompt)]
    return "no idea"


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, script) as scripted:
        yield scripted


def seed(engine: Engine) -> None:
    registry.push(engine, "shop", {"name": "support", "template": "Answer well: {{ question }}"})
    registry.push(engine, "shop", {"name": "support", "template": "Answer badly: {{ question }}"})
    store.create_dataset(engine, "shop", "faq", EXAMPLES)


def run(server: Any, prompt: str, evaluators: list[Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/projects/shop/datasets/faq/experiments",
                      json={"prompt": prompt, "evaluators": evaluators}, timeout=120)


def wait(server: Any, started: httpx.Response) -> dict[str, Any]:
    """Poll a background experiment until it leaves `running`."""
    assert started.status_code == 202 and started.json()["status"] == "running", started.text
    return ev.wait_experiment(started.json()["id"], project="shop", endpoint=server.url, poll_s=0.05)


def test_prompt_versions_run_over_the_dataset_and_compare(server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    seed(engine)
    good = wait(server, run(server, "support@1", ["qa_correctness", {"name": "contains", "params": {"text": "no idea"}}]))
    assert (good["status"], good["done"], good["total"], good["error"]) == ("done", 6, 6, None)
    assert (good["name"], good["dataset_version"], good["task"]) == (
        "support@v1", 1, {"kind": "prompt", "name": "support", "version": 1})
    first = good["results"][0]
    assert first["output"] == "See Billing → Refunds." and first["error"] is None and first["prompt_tokens"] > 0
    assert {s["evaluator"]: s["label"] for s in first["scores"]} == {"qa_correctness": "correct", "contains": "fail"}
    assert good["summary"]["scores"]["qa_correctness"] == {"mean": 1.0, "n": 3, "labels": {"correct": 3}}
    seen: list[tuple[str, int, int]] = []
    bad = ev.run_experiment("faq", task="support@2", evaluators=["qa_correctness"], project="shop", endpoint=server.url,
                            progress=lambda e: seen.append((e["status"], e["done"], e["total"])))
    assert seen[-1] == ("done", 6, 6) and all(total == 6 and 0 <= done <= 6 for _, done, total in seen)
    assert bad["summary"]["scores"]["qa_correctness"]["mean"] == 0.0
    diff = ev.compare_experiments(good["id"], bad["id"], project="shop", endpoint=server.url)
    aggs = {a["evaluator"]: a for a in diff["aggregates"]}
    assert (aggs["contains"]["n"], aggs["contains"]["delta"]) == (0, None)
    agg = aggs["qa_correctness"]
    assert (agg["evaluator"], agg["n"], agg["mean_a"], agg["mean_b"], agg["delta"]) == ("qa_correctness", 3, 1.0, 0.0, -1.0)
    assert agg["ci_low"] == agg["ci_high"] == -1.0 and agg["labels_changed"] == 3
    assert {(c["a"], c["b"]) for c in diff["changed_labels"]} == {("correct", "incorrect")}
    assert diff["rows"][1]["a_output"] == "In Oslo." and diff["rows"][1]["b_output"] == "no idea"


def test_a_reference_judge_on_examples_without_expected_output_is_refused_naming_the_field(server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    seed(engine)
    store.change_examples(engine, "shop", "faq", add=[{"input": {"question": "Hi?"}}])
    response = run(server, "support@1", ["qa_correctness"])
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "needs the field 'reference' (the example's `expected` output)" in detail
    assert "empty on 1 of 4 examples of dataset 'faq' v2" in detail
    assert model.requests == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Experiment)).scalar_one() == 0


def test_an_input_the_prompt_cannot_take_is_refused_before_any_call(server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    seed(engine)
    store.change_examples(engine, "shop", "faq", add=[{"input": {"query": "wrong key"}}])
    response = run(server, "support@1", ["json_valid"])
    assert response.status_code == 400 and "does not fit the prompt: unknown variable(s) ['query']" in response.json()["detail"]
    assert model.requests == []
    assert "no prompt named 'nope'" in run(server, "nope@1", ["json_valid"]).json()["detail"]


def test_a_python_function_task_runs_here_and_its_errors_are_recorded_per_example(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    store.create_dataset(engine, "shop", "faq", [{"input": "a"}, {"input": "boom"}, {"input": "c"}])

    def shout(text: str) -> dict[str, str]:
        if text == "boom":
            raise ValueError("cannot shout boom")
        return {"said": text.upper()}

    exp = ev.run_experiment("faq", task=shout, evaluators=["json_valid"], project="shop", endpoint=server.url)
    assert (exp["name"], exp["task"]["kind"]) == ("shout", "function")
    rows = exp["results"]
    assert [r["output"] for r in rows] == ['{"said": "A"}', None, '{"said": "C"}']
    assert rows[1]["error"] == "ValueError: cannot shout boom" and rows[1]["scores"] == []
    assert [s["label"] for s in rows[0]["scores"]] == ["pass"]
    assert exp["summary"]["errors"] == 1 and exp["summary"]["scores"]["json_valid"]["n"] == 2
    stored = ev.get_experiment(exp["id"], project="shop", endpoint=server.url)
    assert stored["results"] == rows


def test_comparison_numbers_on_a_constructed_case(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    store.create_dataset(engine, "shop", "faq", [{"input": str(i)} for i in range(4)])
    ids = [e["id"] for e in store.get_dataset(engine, "shop", "faq")["examples"]]

    def results(scores: list[float], labels: list[str]) -> list[dict[str, Any]]:
        return [{"example_id": i, "output": "x", "scores": [{"evaluator": "judge", "score": s, "label": lab}]}
                for i, s, lab in zip(ids, scores, labels)]

    a = store.insert_experiment(engine, "shop", "faq", 1, {"name": "a"}, results([0.0, 0.5, 0.5], ["no", "meh", "meh"]))
    b = store.insert_experiment(engine, "shop", "faq", 1, {"name": "b"}, results([1.0, 0.5, 1.0, 1.0], ["yes", "meh", "yes", "yes"]))
    diff = httpx.get(f"{server.url}/api/v1/projects/shop/experiments/compare", params={"a": a, "b": b}).json()
    (agg,) = diff["aggregates"]
    half = 4.302652729911275 * 0.5 / math.sqrt(3)  # t(0.975, df=2) · sd(1, 0, 0.5) / √3
    assert agg["n"] == 3 and agg["delta"] == pytest.approx(0.5)
    assert (agg["ci_low"], agg["ci_high"]) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    assert (agg["mean_a"], agg["mean_b"]) == (pytest.approx(1 / 3), pytest.approx(5 / 6))
    assert diff["only_in_b"] == [ids[3]] and diff["only_in_a"] == []
    assert [(c["example_id"], c["a"], c["b"]) for c in diff["changed_labels"]] == [(ids[0], "no", "yes"), (ids[2], "meh", "yes")]
    assert [r["scores"]["judge"]["delta"] for r in diff["rows"]] == [1.0, 0.0, 0.5, None]


def test_text_inputs_fill_the_input_variable_or_the_only_one() -> None:
    assert variables_for(Template.create("Q: {{ question }}"), "hi") == {"question": "hi"}
    assert variables_for(Template.create("{{ input }} in {{ tone }}"), "hi") == {"input": "hi"}
    assert variables_for(Template.create("{{ a }} {{ b }}"), {"a": 1, "b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(InvalidInput, match="cannot fill the template's variables"):
        variables_for(Template.create("{{ a }} {{ b }}"), "hi")


def test_evaluations_on_spans_keep_their_extras_in_feedback_details(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from tenbin.evals.runner import evaluate_spans
    from tenbin.store.models import Feedback
    from tests.test_datasets import seed_spans

    ids = seed_spans(server.url)
    evaluate_spans(engine, [ids["answer"]], [{"name": "contains", "params": {"text": "billing"}}])
    with engine.connect() as conn:
        (details,) = conn.execute(select(Feedback.details)).scalars().all()
    assert details["evaluator_version"] == "1" and details["latency_ms"] >= 0 and details["prompt_tokens"] == 0
