"""Templates (Jinja sandbox and `{name}` style), builders and token counts."""

from __future__ import annotations

import pytest

from tenbin.errors import InvalidInput
from tenbin.prompts.builders import chain_of_thought, chat, compose, few_shot, output_format, persona
from tenbin.prompts.templates import Template, detect_format, fstring_to_jinja, jinja_literal
from tenbin.prompts.tokens import approximate_count, count_tokens

INJECTIONS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ range.__self__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ x['__class__'] }}",
    "{{ lipsum.__globals__['os'] }}",
]


def test_jinja_text_template_renders_declared_typed_variables_with_defaults() -> None:
    t = Template.create("Dear {{ name }}, you have {{ n }} {{ 'items' if n != 1 else 'item' }}. {{ sign }}",
                        variables=[{"name": "name", "type": "string"}, {"name": "n", "type": "integer"},
                                   {"name": "sign", "default": "Bye"}])
    assert t.render(name="Ana", n=1) == "Dear Ana, you have 1 item. Bye"
    with pytest.raises(InvalidInput, match="variable 'n' must be of type integer; got str"):
        t.render(name="Ana", n="3")


def test_missing_and_extra_variables_are_named() -> None:
    t = Template.create("Hello {{ name }} from {{ city }}")
    with pytest.raises(InvalidInput, match=r"missing variable\(s\) \['city'\]"):
        t.render(name="Ana")
    with pytest.raises(InvalidInput, match=r"unknown variable\(s\) \['nmae'\]; this template takes: city, name"):
        t.render(name="Ana", city="Oslo", nmae="x")


@pytest.mark.parametrize("source", INJECTIONS)
def test_sandbox_escapes_are_refused_with_a_clear_error(source: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        Template.create(source).render(**({"x": "a"} if "x[" in source else {}))


def test_attribute_filter_escape_is_refused_at_render() -> None:
    t = Template.create("{{ (name|attr('__cla' ~ 'ss__')) }}")
    with pytest.raises(InvalidInput, match="refused by the sandbox"):
        t.render(name="a")


def test_fstring_style_substitutes_names_only_and_keeps_escaped_braces() -> None:
    t = Template.create('Answer {question} as JSON: {{"answer": "..."}}', format="fstring")
    assert [v.name for v in t.variables] == ["question"]
    assert t.render(question="why?") == 'Answer why? as JSON: {"answer": "..."}'
    assert t.render(question="{{ ''.__class__ }}") == "Answer {{ ''.__class__ }} as JSON: {\"answer\": \"...\"}"


@pytest.mark.parametrize("source", ["{x.__class__}", "{x[0]}", "{x!r}", "{x:>10}", "{0}", "a } b", "{ unclosed"])
def test_fstring_fields_beyond_plain_names_are_refused(source: str) -> None:
    with pytest.raises(InvalidInput):
        Template.create(source, format="fstring")


def test_format_detection_and_conversion() -> None:
    assert detect_format("Hi {name}") == "fstring"
    assert detect_format("Hi {{ name }}") == "jinja"
    assert detect_format("no variables") == "jinja"
    converted = fstring_to_jinja("Hi {name}, {{x}}")
    assert Template.create(converted, format="jinja").render(name="Bo") == "Hi Bo, {x}"
    for text in ("a{b}", "{% endraw %}{{x}}", "}}{#", "plain"):
        assert Template.create(jinja_literal(text)).render() == text


def test_bad_template_sources_say_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="does not parse"):
        Template.create("{% if x %}unclosed")
    with pytest.raises(InvalidInput, match="roles are"):
        Template.create(messages=[{"role": "wizard", "content": "hi"}])
    with pytest.raises(InvalidInput, match="types are"):
        Template.create("{{ x }}", variables={"x": "float64"})
    with pytest.raises(InvalidInput, match="format 'mustache' is unknown"):
        Template.create("{{ x }}", format="mustache")


def test_builders_compose_persona_examples_cot_and_json_format() -> None:
    schema = {"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}
    prompt = compose(
        persona("a support agent for {company}"),
        few_shot([{"input": "Where is {{ my }} order?", "output": {"reply": "Which order?"}}]),
        chain_of_thought(),
        output_format(schema),
        "Customer: {{ question }}",
    )
    assert {v.name for v in prompt.variables} == {"company", "question"}
    text = prompt.render(company="Kumo", question="Refund?")
    assert text.startswith("You are a support agent for Kumo.\n\nExamples:")
    assert "Input: Where is {{ my }} order?\nOutput: {\"reply\": \"Which order?\"}" in text
    assert "step by step" in text and '"required": [\n    "reply"\n  ]' in text
    assert text.endswith("Customer: Refund?")


def test_chat_builder_puts_examples_as_turns() -> None:
    t = chat(system=compose(persona("terse"), chain_of_thought()), user="Q: {q}",
             examples=[{"input": "1+1", "output": "2"}])
    out = t.render(q="2+2")
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert out[0]["content"].startswith("You are terse.") and out[-1]["content"] == "Q: 2+2"


def test_builders_refuse_bad_input() -> None:
    with pytest.raises(InvalidInput, match="valid JSON schema"):
        output_format({"type": "nonsense"})
    with pytest.raises(InvalidInput, match="needs keys 'input' and 'output'"):
        few_shot([{"question": "x"}])
    with pytest.raises(InvalidInput, match="is a string in one part and a integer"):
        compose(Template.create("{{ a }}", variables={"a": "string"}), Template.create("{{ a }}", variables={"a": "integer"}))


def test_token_count_uses_the_local_models_tokenizer_when_available() -> None:
    pytest.importorskip("llama_cpp")
    exact = count_tokens("Hello world, how are you?", "smollm2-135m-instruct")
    assert exact.exact and exact.tokenizer == "smollm2-gguf"
    assert exact.count == 7
    chat_count = count_tokens([{"role": "user", "content": "Hello world, how are you?"}], "SmolLM2-135M")
    assert chat_count.count == 7


def test_token_count_is_marked_approximate_for_unknown_models() -> None:
    approx = count_tokens("Hello world, internationalisation!", "gpt-4o")
    assert not approx.exact and approx.tokenizer == "approximate-regex"
    assert approx.count == approximate_count("Hello world, internationalisation!") == 1 + 1 + 1 + 5 + 1
