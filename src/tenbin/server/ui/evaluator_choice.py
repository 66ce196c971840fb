"""The evaluator checklist shared by the forms that run evaluators (new experiment, Evaluate on the
traces list and on a trace page): the catalog with hints for each parameters box, and the ticked
boxes read back as the evaluator specs REST bodies use, so every form names evaluators one way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenbin import config
from tenbin.errors import InvalidInput
from tenbin.evals import judge_prompts, runner, spans
from tenbin.evals import registry as evaluators

CHECKED, PARAMS = "eval.", "params."
"""Form field prefixes: `eval.NAME` is an evaluator's checkbox, `params.NAME` its JSON parameters."""
PARAMS_EXAMPLE = '{"pattern": "\\\\d+"}'


def with_hints(item: dict[str, Any]) -> dict[str, Any]:
    """A catalog entry plus what its parameters box shows: the required ones as an object to fill in
    (else the optional names), and every accepted name as its tooltip."""
    params = item.get("parameters") or []
    required = [p["name"] for p in params if p["required"]]
    placeholder = "{" + ", ".join(f'"{n}": …' for n in required) + "}" if required else \
        "optional: " + ", ".join(p["name"] for p in params)
    accepted = ", ".join(p["name"] + (" (required)" if p["required"] else "") for p in params)
    return {**item, "summary": (item.get("doc") or "").strip().split("\n")[0],
            "placeholder": placeholder if params else "", "accepts": f"a JSON object; parameters: {accepted}"}


def choices(prompts: judge_prompts.Prompts | None = None) -> list[dict[str, Any]]:
    """Every evaluator the checklist offers (with `prompts`: judges as that project's registry has them)."""
    return [with_hints(e) for e in evaluators.catalog(prompts)]


def spec(name: str, params: str) -> evaluators.Spec:
    """An evaluator as REST names it: the bare name, or {"name", "params"} when parameters were given."""
    if not params.strip():
        return name
    try:
        value = json.loads(params)
    except ValueError as exc:
        raise InvalidInput(f"parameters of {name}: not JSON ({exc}); write an object such as {PARAMS_EXAMPLE}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"parameters of {name}: write a JSON object such as {PARAMS_EXAMPLE}; got {params!r}")
    return {"name": name, "params": value}


def chosen(form: Mapping[str, str]) -> list[evaluators.Spec]:
    """The ticked evaluators with their parameters; none ticked is refused."""
    names = [key.removeprefix(CHECKED) for key in form if key.startswith(CHECKED)]
    if not names:
        raise InvalidInput("choose at least one evaluator")
    return [spec(name, form.get(PARAMS + name, "")) for name in names]


def span_form(can_write: bool) -> dict[str, Any]:
    """What a page offering "Evaluate" on spans adds to its context (the built-in catalog: the checklist
    shows no template, so no registry read on every page view)."""
    return {"evaluators": choices() if can_write else [], "span_fields": spans.FIELD_SOURCES,
            "model": config.LLM_MODEL.get(), "max_spans": runner.MAX_SPANS, "eval_error": None, "eval_form": {}}
