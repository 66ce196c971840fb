"""Evaluators by name: `"json_valid"`, `{"name": "regex", "params": {"pattern": "\\d+"}}`, `"qa_correctness"`.

REST bodies, CLI flags and SDK calls all name evaluators the same way; this module turns those
names into bound evaluators, checking every name and parameter before anything is evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from tenbin.errors import InvalidInput
from tenbin.evals import code, judge_prompts, judges
from tenbin.evals.base import Evaluator
from tenbin.llm import LLM

Spec = Union[str, Mapping[str, Any]]
JUDGE_PARAMS = ("retries", "max_tokens")


def names() -> list[str]:
    return sorted({*code.BUILTIN, *code.USER, *judges.SPECS})


def _split(spec: Spec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec.strip(), {}
    if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InvalidInput(f"evaluator {spec['name']!r}: params must be an object")
        return spec["name"].strip(), dict(params)
    raise InvalidInput(f'an evaluator is a name or {{"name": ..., "params": {{...}}}}; got {spec!r}')


def resolve(specs: Sequence[Spec], llm: LLM | None = None) -> list[Evaluator]:
    """Bound evaluators for `specs`; judges share `llm` (default: one from TENBIN_LLM_* settings)."""
    if not specs:
        raise InvalidInput(f"name at least one evaluator; known: {', '.join(names())}")
    out: list[Evaluator] = []
    for spec in specs:
        name, params = _split(spec)
        found = code.build(name, params)
        if found is None and name in judges.SPECS:
            unknown = set(params) - set(JUDGE_PARAMS)
            if unknown:
                raise InvalidInput(f"judge {name!r} takes only {', '.join(JUDGE_PARAMS)}; got {', '.join(sorted(unknown))}")
            llm = llm or LLM()
            found = judges.build(name, llm, params)
        if found is None:
            raise InvalidInput(f"unknown evaluator {name!r}; known: {', '.join(names())}")
        out.append(found)
    return out


def catalog(prompts: judge_prompts.Prompts | None = None) -> list[dict[str, Any]]:
    """Every evaluator with its version, source, needed fields, the `parameters` it accepts and (judges)
    labels and template: the built-in one, or with `prompts` the one that project's judges use (nothing
    is pushed)."""
    items: list[dict[str, Any]] = []
    for name in sorted({*code.BUILTIN, *code.USER}):
        fn, requires = (code.USER[name][0], code.USER[name][2]) if name in code.USER else code.BUILTIN[name]
        version = code.USER[name][1] if name in code.USER else "1"
        items.append({**code.CodeEvaluator(name, fn, version, requires).describe(), "parameters": code.parameters(fn)})
    judge_params = [{"name": p, "required": False} for p in JUDGE_PARAMS]
    for spec in judges.SPECS.values():
        template = judge_prompts.current(prompts, spec.name) if prompts else None
        items.append({**judges.describe(spec, template), "parameters": judge_params})
    return items
