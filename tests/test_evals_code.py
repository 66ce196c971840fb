"""Code evaluators on known cases, parameter checking, and user functions registered by name."""

from __future__ import annotations

from typing import Any

import pytest

import tenbin.evals as ev
from tenbin.errors import InvalidInput
from tenbin.evals import code
from tenbin.evals.base import EvalInput, MissingField

SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


@pytest.mark.parametrize(("spec", "example", "label"), [
    ("exact_match", EvalInput(output=" Paris ", reference="Paris"), "pass"),
    ("exact_match", EvalInput(output="paris", reference="Paris"), "fail"),
    ({"name": "exact_match", "params": {"case_sensitive": False}}, EvalInput(output="paris", reference="Paris"), "pass"),
    ({"name": "contains", "params": {"text": "REFUND"}}, EvalInput(output="Open Billing → Refunds"), "pass"),
    ({"name": "contains", "params": {"text": ["refund", "invoice"]}}, EvalInput(output="a refund"), "fail"),
    ({"name": "contains", "params": {"text": ["refund", "invoice"], "all": False}}, EvalInput(output="a refund"), "pass"),
    ({"name": "regex", "params": {"pattern": r"order #\d{5}\b"}}, EvalInput(output="see order #12345."), "pass"),
    ({"name": "regex", "params": {"pattern": r"^yes$", "flags": "i"}}, EvalInput(output="YES"), "pass"),
    ({"name": "regex", "params": {"pattern": r"^\d+$"}}, EvalInput(output="12a"), "fail"),
    ("json_valid", EvalInput(output='{"a": [1, 2]}'), "pass"),
    ("json_valid", EvalInput(output="{'a': 1}"), "fail"),
    ({"name": "json_schema", "params": {"schema": SCHEMA}}, EvalInput(output='{"city": "Oslo"}'), "pass"),
    ({"name": "json_schema", "params": {"schema": SCHEMA}}, EvalInput(output='{"city": 7}'), "fail"),
    ({"name": "json_schema", "params": {"schema": SCHEMA}}, EvalInput(output="Oslo"), "fail"),
    ({"name": "length", "params": {"min_chars": 3, "max_chars": 5}}, EvalInput(output="abcd"), "pass"),
    ({"name": "length", "params": {"max_chars": 5}}, EvalInput(output="abcdef"), "fail"),
    ({"name": "length", "params": {"min_chars": 1}}, EvalInput(output=""), "fail"),
    ({"name": "latency", "params": {"max_ms": 2000}}, EvalInput(latency_ms=1999.5), "pass"),
    ({"name": "latency", "params": {"max_ms": 2000}}, EvalInput(latency_ms=2400), "fail"),
    ({"name": "tokens", "params": {"max_tokens": 100}}, EvalInput(total_tokens=100), "pass"),
    ({"name": "tokens", "params": {"max_tokens": 10, "field": "completion"}}, EvalInput(completion_tokens=11), "fail"),
])
def test_code_evaluator_gives_the_expected_verdict(spec: Any, example: EvalInput, label: str) -> None:
    (result,) = ev.evaluate(example, [spec])
    assert result.label == label
    assert result.score == (1.0 if label == "pass" else 0.0)
    assert result.source == "code" and result.author.endswith("@1") and result.explanation


def test_json_schema_failure_explains_where() -> None:
    (result,) = ev.evaluate(EvalInput(output='{"city": 7}'), [{"name": "json_schema", "params": {"schema": SCHEMA}}])
    assert "city" in result.explanation and "string" in result.explanation


@pytest.mark.parametrize(("spec", "message"), [
    ("no_such_check", "unknown evaluator 'no_such_check'; known: "),
    ({"name": "regex", "params": {"pattern": "("}}, "invalid pattern"),
    ({"name": "regex", "params": {}}, "its parameters are: pattern, flags"),
    ({"name": "contains", "params": {"txt": "a"}}, "its parameters are: text"),
    ({"name": "json_schema", "params": {"schema": {"type": "nope"}}}, "not a valid JSON Schema"),
    ({"name": "qa_correctness", "params": {"temperature": 1}}, "takes only retries, max_tokens"),
    ({"params": {}}, "an evaluator is a name or"),
])
def test_bad_evaluator_specs_fail_before_evaluating(spec: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        ev.resolve([spec])


def test_reference_based_check_without_reference_names_the_field() -> None:
    with pytest.raises(MissingField, match="needs the field 'reference'") as err:
        ev.evaluate(EvalInput(output="Paris"), ["exact_match"])
    assert err.value.field == "reference" and "metadata['reference']" in str(err.value)


def test_user_functions_register_by_name_with_any_outcome_shape() -> None:
    @ev.register("mentions_docs", version="3")
    def mentions_docs(example: EvalInput, *, word: str = "docs") -> tuple[bool, str]:
        return word in (example.output or ""), f"looked for {word}"

    @ev.register("brevity")
    def brevity(example: EvalInput) -> float:
        return 1.0 / max(1, len((example.output or "").split()))

    @ev.register("tone")
    def tone(example: EvalInput) -> str:
        return "polite" if "please" in (example.output or "") else "plain"

    try:
        a, b, c = ev.evaluate(EvalInput(output="see the docs please"),
                              [{"name": "mentions_docs", "params": {"word": "docs"}}, "brevity", "tone"])
        assert (a.label, a.score, a.explanation, a.author) == ("pass", 1.0, "looked for docs", "mentions_docs@3")
        assert (b.label, b.score) == (None, 0.25) and b.feedback()["kind"] == "score"
        assert (c.label, c.score) == ("polite", None) and c.feedback()["kind"] == "label"
        assert {"mentions_docs", "brevity", "tone"} <= set(ev.registry.names())
    finally:
        for name in ("mentions_docs", "brevity", "tone"):
            code.USER.pop(name)


def test_user_function_returning_nonsense_gets_a_clear_error() -> None:
    ev.register("broken")(lambda example: None)
    try:
        with pytest.raises(InvalidInput, match="return a bool, a number, a label string"):
            ev.evaluate(EvalInput(output="x"), ["broken"])
    finally:
        code.USER.pop("broken")


def test_register_refuses_names_that_cannot_be_typed_on_a_command_line() -> None:
    with pytest.raises(InvalidInput, match="use letters, digits"):
        ev.register("two words")


def test_catalog_lists_code_checks_and_judges_with_versions() -> None:
    by_name = {item["name"]: item for item in ev.catalog()}
    assert by_name["json_schema"]["source"] == "code" and by_name["json_schema"]["version"] == "1"
    assert by_name["hallucination"]["labels"] == ["factual", "hallucinated"]
    assert "{{ context }}" in by_name["hallucination"]["template"]["user"]
    assert by_name["qa_correctness"]["requires"] == ["input", "output", "reference"]
    assert by_name["regex"]["parameters"] == [{"name": "pattern", "required": True}, {"name": "flags", "required": False}]
    assert [p["name"] for p in by_name["qa_correctness"]["parameters"]] == ["retries", "max_tokens"]
