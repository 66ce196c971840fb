"""Prompt-engineering builders that compose into one `Template`.

    prompt = compose(
        persona("a patient support agent for {{ company }}"),
        few_shot([{"input": "Where is my order?", "output": "Let me check: what is the order number?"}]),
        chain_of_thought(),
        output_format({"type": "object", "properties": {"reply": {"type": "string"}}}),
        "Customer: {{ question }}",
    )

Authored text (a persona, a task) is template source and may use variables, in either format;
data (few-shot examples, a JSON schema) is embedded literally, so braces in an example never
become template syntax. Every part is turned into Jinja before joining, so formats can be mixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from tenbin.errors import InvalidInput
from tenbin.prompts.templates import Template, Variable, jinja_literal

Part = Template | str
COT = ("Think step by step: work through the problem in short numbered steps, "
       "then give the final answer on its own line starting with 'Answer:'.")


def literal(text: str) -> Template:
    """A fragment that renders to exactly `text`."""
    return Template.create(jinja_literal(text), format="jinja")


def persona(who: str, instructions: str = "") -> Template:
    """`You are <who>.` plus optional standing instructions (both template source)."""
    source = _as_template(who).text or ""
    extra = _as_template(instructions).text if instructions else ""
    return compose(f"You are {source.rstrip('.')}.", *([extra] if extra else []), sep=" ")


def few_shot(examples: Sequence[Mapping[str, Any]], *, input_key: str = "input", output_key: str = "output",
             header: str = "Examples:", input_label: str = "Input", output_label: str = "Output") -> Template:
    """A block of worked examples, embedded literally."""
    if not examples:
        raise InvalidInput("few_shot needs at least one example like {'input': '...', 'output': '...'}")
    blocks = []
    for i, ex in enumerate(examples):
        if input_key not in ex or output_key not in ex:
            raise InvalidInput(f"example {i} needs keys {input_key!r} and {output_key!r}; it has {sorted(ex)}")
        blocks.append(f"{input_label}: {_text(ex[input_key])}\n{output_label}: {_text(ex[output_key])}")
    return literal(header + "\n\n" + "\n\n".join(blocks))


def chain_of_thought(instruction: str = COT) -> Template:
    return literal(instruction)


def output_format(spec: Mapping[str, Any] | str) -> Template:
    """A JSON schema (checked to be one) becomes 'reply with JSON matching…'; a string is described as is."""
    if isinstance(spec, str):
        return literal(f"Reply in this format:\n{spec}")
    try:
        jsonschema.Draft202012Validator.check_schema(spec)
    except jsonschema.SchemaError as exc:
        raise InvalidInput(f"output_format needs a valid JSON schema: {exc.message}") from exc
    return literal("Reply with JSON only, matching this JSON schema:\n" + json.dumps(spec, indent=2))


def compose(*parts: Part, sep: str = "\n\n") -> Template:
    """Join text parts (strings are template source) into one Jinja template; variables merge."""
    templates = [_as_template(p) for p in parts if p != ""]
    if any(t.is_chat for t in templates):
        raise InvalidInput("compose joins text templates; build chat templates with chat(system=..., user=...)")
    text = jinja_literal(sep).join(t.text or "" for t in templates)
    return Template.create(text, format="jinja", variables=_merge(templates))


def chat(*, system: Part | None = None, user: Part, examples: Sequence[Mapping[str, Any]] = (),
         input_key: str = "input", output_key: str = "output") -> Template:
    """A chat template: system message, few-shot examples as user/assistant turns, then the user turn."""
    parts = [_as_template(p) for p in ([system] if system else []) + [user]]
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": parts[0].text or ""})
    for i, ex in enumerate(examples):
        if input_key not in ex or output_key not in ex:
            raise InvalidInput(f"example {i} needs keys {input_key!r} and {output_key!r}; it has {sorted(ex)}")
        messages += [{"role": "user", "content": jinja_literal(_text(ex[input_key]))},
                     {"role": "assistant", "content": jinja_literal(_text(ex[output_key]))}]
    messages.append({"role": "user", "content": parts[-1].text or ""})
    return Template.create(messages=messages, format="jinja", variables=_merge(parts))


def _as_template(part: Part) -> Template:
    if isinstance(part, Template):
        return part.to_jinja()
    if not isinstance(part, str):
        raise InvalidInput(f"a prompt part must be a string or a Template; got {type(part).__name__}")
    return Template.create(part).to_jinja()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _merge(templates: Sequence[Template]) -> list[dict[str, Any]]:
    """One declaration per name; the same name typed differently by two parts is refused."""
    merged: dict[str, Variable] = {}
    for var in (v for t in templates for v in t.variables):
        seen = merged.get(var.name)
        if seen is None or seen.type == "any":
            merged[var.name] = var
        elif var.type not in ("any", seen.type):
            raise InvalidInput(f"variable {var.name!r} is a {seen.type} in one part and a {var.type} in another")
    return [v.to_dict() for v in merged.values()]
