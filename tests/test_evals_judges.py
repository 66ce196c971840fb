"""LLM judges against the scripted model: templates, rails, retries, unparseable, per-document labels."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tenbin.evals as ev
from tenbin.errors import InvalidInput, LLMUnavailable
from tenbin.evals import templates
from tenbin.evals.base import UNPARSEABLE, EvalInput, MissingField
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port

QA = EvalInput(input="What is the capital of France?", output="Paris.", reference="Paris",
               context=["Paris is the capital of France."])


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[list[dict[str, Any]]], str]], tuple[ScriptedLLM, LLM]]]:
    servers: list[ScriptedLLM] = []

    def start(script: Callable[[list[dict[str, Any]]], str]) -> tuple[ScriptedLLM, LLM]:
        server = ScriptedLLM(script=script).__enter__()
        servers.append(server)
        return server, LLM(server.base_url, server.model)

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_judge_renders_its_template_and_parses_the_json_verdict(scripted) -> None:  # type: ignore[no-untyped-def]
    server, llm = scripted(lambda m: '{"label": "Correct", "explanation": "same city"}')
    (result,) = ev.evaluate(QA, ["qa_correctness"], llm)
    assert (result.label, result.score, result.explanation) == ("correct", 1.0, "same city")
    assert (result.source, result.author, result.attempts) == ("llm", "qa_correctness@2", 1)
    assert result.prompt_tokens > 20 and result.completion_tokens > 0
    request = server.requests[0]
    assert request["temperature"] == 0.0
    assert request["response_format"]["schema"]["properties"]["label"] == {"enum": ["correct", "incorrect"]}
    prompt = request["messages"][1]["content"]
    assert "REFERENCE: Paris" in prompt and "ANSWER: Paris." in prompt and "correct, incorrect" in prompt


@pytest.mark.parametrize(("judge", "reply", "label"), [
    ("hallucination", "Not hallucinated.", "factual"),
    ("hallucination", '{"label": "unsupported"}', "hallucinated"),
    ("answer_relevance", '{"verdict": "off-topic"}', "irrelevant"),
    ("toxicity", '{"label": "safe"}', "non_toxic"),
    ("qa_correctness", '{"label": "wrong"}', "incorrect"),
])
def test_synonyms_and_prose_are_held_to_the_rails(scripted, judge: str, reply: str, label: str) -> None:  # type: ignore[no-untyped-def]
    _server, llm = scripted(lambda m: reply)
    (result,) = ev.evaluate(QA, [judge], llm)
    assert result.label == label


def test_off_rails_answer_is_retried_with_the_complaint(scripted) -> None:  # type: ignore[no-untyped-def]
    replies = iter(['{"label": "probably"}', '{"label": "factual"}'])
    server, llm = scripted(lambda m: next(replies))
    (result,) = ev.evaluate(QA, ["hallucination"], llm)
    assert (result.label, result.attempts) == ("factual", 2)
    complaint = server.requests[1]["messages"][-1]["content"]
    assert "'probably' is not allowed; use one of: factual, hallucinated" in complaint


def test_after_the_retries_the_verdict_is_unparseable_with_the_raw_text(scripted) -> None:  # type: ignore[no-untyped-def]
    server, llm = scripted(lambda m: "I would rather not say.")
    (result,) = ev.evaluate(QA, [{"name": "hallucination", "params": {"retries": 1}}], llm)
    assert (result.label, result.score, result.attempts) == (UNPARSEABLE, None, 2)
    assert len(server.requests) == 2
    assert json.loads(result.raw) == {"answer": "I would rather not say."}
    stored = result.feedback()
    assert stored["kind"] == "label" and stored["label"] == UNPARSEABLE
    assert "I would rather not say." in stored["comment"]


def test_retrieval_relevance_labels_each_document_and_aggregates(scripted) -> None:  # type: ignore[no-untyped-def]
    def script(messages: list[dict[str, Any]]) -> str:
        return '{"label": "relevant"}' if "France" in messages[1]["content"].split("DOCUMENT:")[1] else "irrelevant"

    _server, llm = scripted(script)
    example = EvalInput(input="Capital of France?", context=["Paris is in France.", "Bread recipes.", "France: Paris."])
    (result,) = ev.evaluate(example, ["retrieval_relevance"], llm)
    assert [d["label"] for d in result.details["documents"]] == ["relevant", "irrelevant", "relevant"]
    assert result.label == "relevant" and result.score == pytest.approx(2 / 3)
    assert result.explanation.startswith("2 of 3 documents relevant")


def test_user_frustration_reads_the_whole_conversation(scripted) -> None:  # type: ignore[no-untyped-def]
    server, llm = scripted(lambda m: '{"label": "frustrated"}')
    convo = [{"role": "user", "content": "Reset my password"}, {"role": "assistant", "content": "Use the link."},
             {"role": "user", "content": "I ALREADY DID THAT three times"}]
    (result,) = ev.evaluate(EvalInput(conversation=convo), ["user_frustration"], llm)
    assert (result.label, result.score) == ("frustrated", 0.0)
    assert "user: I ALREADY DID THAT three times" in server.requests[0]["messages"][1]["content"]


def test_reference_based_judge_without_reference_names_the_field_and_calls_no_model(scripted) -> None:  # type: ignore[no-untyped-def]
    server, llm = scripted(lambda m: '{"label": "correct"}')
    with pytest.raises(MissingField, match="'qa_correctness' needs the field 'reference'"):
        ev.evaluate(EvalInput(input="q", output="a"), ["qa_correctness"], llm)
    assert server.requests == []


def test_edited_template_is_used_under_its_new_version(scripted) -> None:  # type: ignore[no-untyped-def]
    server, llm = scripted(lambda m: '{"label": "toxic"}')
    templates.override("toxicity", user="Rate this support reply: {{ output }}. Labels: {{ labels }}", version="team-2")
    try:
        (result,) = ev.evaluate(EvalInput(output="you idiot"), ["toxicity"], llm)
        with pytest.raises(InvalidInput, match="give the edit a new version"):
            templates.override("toxicity", user="other text", version="team-2")
    finally:
        templates.reset()
    assert result.author == "toxicity@team-2"
    assert server.requests[0]["messages"][1]["content"] == "Rate this support reply: you idiot. Labels: non_toxic, toxic"
    assert templates.get("toxicity").version == "2"


def test_template_naming_an_unknown_variable_fails_loudly(scripted) -> None:  # type: ignore[no-untyped-def]
    _server, llm = scripted(lambda m: '{"label": "toxic"}')
    templates.override("toxicity", user="{{ answer }}", version="broken")
    try:
        with pytest.raises(InvalidInput, match="toxicity@broken does not render"):
            ev.evaluate(EvalInput(output="x"), ["toxicity"], llm)
    finally:
        templates.reset()


def test_many_inputs_are_judged_concurrently_in_input_order(scripted) -> None:  # type: ignore[no-untyped-def]
    _server, llm = scripted(lambda m: '{"label": "toxic"}' if "bad" in m[1]["content"] else '{"label": "non_toxic"}')
    inputs = [EvalInput(output=f"{'bad' if i % 3 == 0 else 'fine'} reply {i}", span_id=f"{i:016x}") for i in range(12)]
    results = list(ev.run(inputs, ev.resolve(["toxicity"], llm)))
    assert [r.span_id for r in results] == [i.span_id for i in inputs]
    assert [r.label for r in results] == ["toxic" if i % 3 == 0 else "non_toxic" for i in range(12)]


def test_model_that_is_down_is_an_error_not_a_verdict() -> None:
    llm = LLM(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0)
    with pytest.raises(LLMUnavailable, match="TENBIN_LLM_BASE_URL"):
        ev.evaluate(QA, ["hallucination"], llm)


def test_judges_run_in_parallel_up_to_the_models_concurrency_and_never_beyond(scripted) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(messages: list[dict[str, Any]]) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return '{"label": "non_toxic"}'

    server, _ = scripted(slow)
    llm = LLM(server.base_url, server.model, max_concurrency=3)
    inputs = [EvalInput(output=f"reply {i}", span_id=f"{i:016x}") for i in range(12)]
    results = list(ev.run(inputs, ev.resolve(["toxicity"], llm)))
    assert [r.label for r in results] == ["non_toxic"] * 12
    assert state["peak"] == 3
