"""Automatic prompt generation on both databases with a scripted model: the model proposes candidates,
one of whose style answers correctly, so the ranking must put it first; an invalid proposal is
reported; a weak model still yields distinct templates; no LLM (or bad input) stores nothing; a saved
candidate is an immutable prompt version whose message names the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tenbin.autoprompt import plan as planning
from tenbin.autoprompt import runs
from tenbin.autoprompt.generate import SYSTEM, build
from tenbin.errors import InvalidInput, LLMUnavailable, NotFound
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port
from tenbin.prompts import registry
from tenbin.prompts.templates import Template
from tenbin.store import datasets as store
from tenbin.store.models import PromptCandidateResult, PromptGeneration
from tests.llm_helpers import configured_llm

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Egypt": "Cairo", "Peru": "Lima"}
PROPOSALS = [
    {"persona": "a geography expert", "instructions": "Name the capital city of the country."},
    {"persona": "a poet", "instructions": "Write a short poem about the country."},
    {"template": "Tell me about {{ country }}"},
    {"instructions": "Answer the question."},
]
TASK = "Give the capital city of the country"


def proposals_reply(messages: list[dict[str, Any]]) -> str | None:
    """The proposer's request gets PROPOSALS; anything else is a task call (None)."""
    return json.dumps({"candidates": PROPOSALS}) if messages[0]["content"] == SYSTEM else None


def answer(messages: list[dict[str, Any]]) -> str:
    """Only a prompt written as a geography expert gets the capital; every other style gets a shrug."""
    prompt = messages[-1]["content"]
    country = max(CAPITALS, key=prompt.rfind)  # the last country named: the input, after any few-shot ones
    return f"The capital is {CAPITALS[country]}." if "geography expert" in prompt else "I am not sure."


def script(messages: list[dict[str, Any]]) -> str:
    return proposals_reply(messages) or answer(messages)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, script) as scripted:
        yield scripted


def seed(engine: Engine) -> None:
    store.create_dataset(engine, "geo", "capitals", [{"input": c, "expected": cap} for c, cap in CAPITALS.items()])


REQUEST = {"dataset": "capitals", "task": TASK, "n": 4, "evaluator": "contains", "input_var": "question"}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_candidate_whose_style_answers_correctly_ranks_first_and_the_invalid_one_is_reported(
        engine: Engine, model: ScriptedLLM) -> None:
    seed(engine)
    done = runs.run(engine, "geo", REQUEST)
    assert done["status"] == "done", done["error"]
    assert done["notes"][-2:] == ["the model proposed 4 of 4 candidates",
                                  "1 candidate(s) are invalid (each says why) and were not scored"]
    best, *others = done["candidates"]
    assert (best["position"], best["rank"], best["summary"]["score"]) == (1, 1, 1.0)
    assert best["origin"]["persona"] == {"text": "a geography expert", "from": "llm"}
    assert best["parts"] == "persona (model) · instructions (model)"
    low, high = best["summary"]["low"], best["summary"]["high"]
    assert 0.4 < low < 1.0 and high == pytest.approx(1.0)
    assert [c["summary"]["score"] for c in others if c["status"] == "valid"] == [0.0, 0.0]
    (invalid,) = [c for c in done["candidates"] if c["status"] == "invalid"]
    assert invalid["position"] == 3 and invalid["rank"] is None and invalid["results"] == []
    assert "does not use the input variable question" in invalid["error"]
    assert invalid["template"]["template"] == "Tell me about {{ country }}"
    pool = set(best["origin"]["few_shot"]) | {i for c in done["candidates"] for i in c["origin"]["few_shot"]}
    scored = {r["example_id"] for r in best["results"]}
    assert len(pool) == 2 and len(scored) == 4 and not pool & scored  # few-shot examples are never scored
    assert best["results"][0]["output"].startswith("The capital is") and best["results"][0]["prompt_tokens"] > 0
    assert (done["done"], done["total"]) == (12, 12) and count(engine, PromptCandidateResult) == 12


def test_a_weak_model_still_yields_distinct_valid_templates_and_the_run_says_they_are_tenbins(engine: Engine) -> None:
    seed(engine)
    with ScriptedLLM(script=lambda m: "Sure! Here are some prompts: be nice." if m[0]["content"] == SYSTEM else "?") as weak:
        llm = runs.LLM(weak.base_url, weak.model)
        done = runs.run(engine, "geo", {**REQUEST, "n": 6}, llm=llm)
    assert "the model's proposals could not be read" in done["notes"][-1]
    cands = done["candidates"]
    assert [c["status"] for c in cands] == ["valid"] * 6
    texts = {Template.from_dict(c["template"]).as_text() for c in cands}
    assert len(texts) == 6 and all("{{ question }}" in t and TASK in t for t in texts)
    assert all(c["origin"]["persona"] is None or c["origin"]["persona"]["from"] == "tenbin" for c in cands)
    assert {c["origin"]["style"] for c in cands} == {"plain", "terse", "cot"}
    assert sum(bool(c["origin"]["few_shot"]) for c in cands) == 2


def test_no_reachable_llm_says_what_to_set_and_stores_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMUnavailable) as down:
        runs.start(engine, "geo", REQUEST)
    message = str(down.value)
    assert "TENBIN_LLM_BASE_URL" in message and "TENBIN_LLM_MODEL" in message and "tenbin llm serve" in message
    with ScriptedLLM(script=script) as scripted:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", scripted.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", "gpt-nope")
        with pytest.raises(LLMUnavailable, match="does not serve TENBIN_LLM_MODEL='gpt-nope'; it serves scripted-1"):
            runs.start(engine, "geo", REQUEST)
        assert scripted.requests == []
    assert count(engine, PromptGeneration) == 0


@pytest.mark.parametrize("change, error", [
    ({"dataset": "nope"}, "no dataset named 'nope'"),
    ({"n": 0}, "n must be a whole number from 1 to 12"),
    ({"evaluator": "qa_correctness_typo"}, "unknown evaluator 'qa_correctness_typo'"),
    ({"base_prompt": "missing@1"}, "no prompt named 'missing'"),
    ({"input_var": "no such"}, "input_var 'no such' must be an identifier"),
    ({"colour": "red"}, "unknown field(s) ['colour']"),
])
def test_bad_requests_are_refused_before_any_call_or_row(engine: Engine, model: ScriptedLLM, change: dict[str, Any],
                                                          error: str) -> None:
    seed(engine)
    with pytest.raises((InvalidInput, NotFound)) as refused:
        runs.start(engine, "geo", {**REQUEST, **change})
    assert error in str(refused.value)
    assert model.requests == [] and count(engine, PromptGeneration) == 0


def test_an_evaluator_needing_expected_outputs_the_examples_lack_is_refused_naming_the_field(
        engine: Engine, model: ScriptedLLM) -> None:
    store.create_dataset(engine, "geo", "open", [{"input": c} for c in CAPITALS])
    with pytest.raises(InvalidInput, match=r"needs the field 'reference' \(the example's `expected` output\)"):
        runs.start(engine, "geo", {**REQUEST, "dataset": "open"})
    assert model.requests == []


def test_saving_a_candidate_creates_an_immutable_labelled_version_whose_message_names_the_run(
        engine: Engine, model: ScriptedLLM) -> None:
    seed(engine)
    registry.push(engine, "geo", {"name": "capital", "template": "Capital of {{ question }}?"})
    done = runs.run(engine, "geo", {**REQUEST, "base_prompt": "capital@1"})
    base = next(c for c in done["candidates"] if c["position"] == 0)
    assert base["parts"] == "base prompt capital v1" and base["summary"]["score"] == 0.0 and base["rank"] > 1
    best = done["candidates"][0]
    saved = runs.save_candidate(engine, done["id"], best["position"], "capital", label="staging", author="ana")
    assert (saved["version"], saved["labels"], saved["author"]) == (2, ["staging"], "ana")
    assert Template.from_dict(saved).as_text() == Template.from_dict(best["template"]).as_text()
    assert saved["message"].startswith(f"generated by tenbin prompt generation run #{done['id']}, candidate 1 ")
    assert "contains 1.00 [" in saved["message"] and "dataset capitals v1" in saved["message"]
    assert registry.get(engine, "geo", "capital", version=1)["template"] == "Capital of {{ question }}?"
    assert runs.get_run(engine, done["id"])["candidates"][0]["saved"] == [{"name": "capital", "version": 2}]
    with pytest.raises(InvalidInput, match="candidate 3 of run .* is invalid"):
        runs.save_candidate(engine, done["id"], 3, "capital")
    with pytest.raises(InvalidInput, match="label 'bad label!'"):
        runs.save_candidate(engine, done["id"], 1, "capital", label="bad label!")
    assert len(registry.list_versions(engine, "geo", "capital")) == 2


def test_a_json_schema_evaluator_puts_its_schema_in_every_candidate(engine: Engine) -> None:
    seed(engine)
    schema = {"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"]}
    request = planning.Request(**{**REQUEST, "n": 3, "evaluator": {"name": "json_schema", "params": {"schema": schema}}})
    plan = planning.prepare(engine, "geo", request, runs.LLM("http://127.0.0.1:9/v1", "unused"))
    cands = build(plan, [{"persona": "a JSON API"}, "Reply with the capital of {{ question }} as JSON.", 42])
    texts = [Template.from_dict(c["template"]).as_text() for c in cands]
    assert all('"required": [\n    "capital"\n  ]' in t and "Reply with JSON only" in t for t in texts)
    assert [c["origin"]["style"] for c in cands] == ["plain"] * 3
    assert cands[1]["origin"]["core"] == "llm template" and cands[2]["origin"]["ignored"] == ["the proposal is not an object: '42'"]


def test_object_inputs_fill_their_keys_and_mixed_inputs_are_refused() -> None:
    objects = [{"id": 1, "input": {"country": "Peru", "lang": "es"}}, {"id": 2, "input": {"lang": "ja", "country": "Japan"}}]
    assert planning.input_variables(objects, None, "d") == ["country", "lang"]
    with pytest.raises(InvalidInput, match="is not a key of the inputs"):
        planning.input_variables(objects, "question", "d")
    with pytest.raises(InvalidInput, match="mixes object and text inputs"):
        planning.input_variables([*objects, {"id": 3, "input": "Peru"}], None, "d")
