"""Candidate templates: the LLM's proposals combined with tenbin's prompt builders.

The LLM is asked once for N proposals, each a persona, instructions, or a whole template. Candidate k
takes the k-th proposal and tenbin's k-th *recipe*, a point of a fixed grid (persona or not,
few-shot or not, plain / answer-only / chain-of-thought), and is composed with `tenbin.prompts.builders`:

    persona · instructions · few-shot block · style · output format · the input slot ("Question: {{ question }}")

A part the model did not give comes from tenbin (a default persona when the recipe has one; the task
description, or the base prompt, as instructions), and each candidate's `origin` says which part came
from where, so a weak model still yields distinct, valid templates and the run says how much of them
is the model's. Model text is embedded literally (braces in a persona are never template syntax),
except a proposed whole template, which is parsed: it must parse, pass the sandbox, use the input
variable(s) and nothing else. One that does not, or that repeats an earlier candidate, is kept as an
`invalid` candidate with the reason, and is not scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from tenbin.autoprompt.plan import Plan
from tenbin.errors import InvalidInput, LLMOutputError
from tenbin.evals.experiments import as_text
from tenbin.llm import LLM
from tenbin.prompts import builders
from tenbin.prompts import registry as prompts
from tenbin.prompts.templates import Template
from tenbin.sdk.routing import routed

ORDER: tuple[tuple[bool, bool, str], ...] = (
    (False, False, "plain"), (True, False, "terse"), (False, True, "plain"), (False, False, "cot"),
    (True, True, "terse"), (True, False, "cot"), (False, True, "cot"), (True, True, "plain"),
    (False, False, "terse"), (True, False, "plain"), (False, True, "terse"), (True, True, "cot"),
)
PERSONAS = (
    "an expert assistant who answers accurately", "a careful specialist who double-checks every answer",
    "a concise assistant who answers in as few words as possible", "a patient teacher who explains clearly",
    "a meticulous analyst who reads the question twice", "a friendly support agent who gets to the point",
    "a senior domain expert", "an assistant who never guesses and states only what it knows",
)
TERSE = "Reply with the answer only: no explanation, no preamble."
JSON_ONLY = "Reply with JSON only."
LIMITS = {"persona": 300, "instructions": 2000, "template": 4000}
SHAPE = {"persona": "who the assistant is", "instructions": "what to do, in one to three sentences",
         "template": "optional: the whole prompt,"}
"""What the proposal request describes each field as; small models often copy it back verbatim."""
SYSTEM = "You are a prompt engineer: you write prompts that make a language model do a task well."


@dataclass(frozen=True)
class Recipe:
    persona: bool
    few_shot: bool
    style: str
    default_persona: str


def recipes(n: int, few_shot_ok: bool, json_output: bool) -> list[Recipe]:
    """N points of the grid, most different first; past its end they repeat with a persona on."""
    order = [r for r in ORDER if (few_shot_ok or not r[1]) and (not json_output or r[2] == "plain")]
    return [Recipe(order[k % len(order)][0] or k >= len(order), order[k % len(order)][1], order[k % len(order)][2],
                   PERSONAS[k % len(PERSONAS)]) for k in range(n)]


def _var(name: str) -> str:
    return "{{ " + name + " }}"


def _slot_vars(plan: Plan) -> str:
    return ", ".join(_var(v) for v in plan.input_vars)


def proposal_messages(plan: Plan, n: int) -> list[dict[str, str]]:
    """The one request for proposals: task, input variable(s), pool examples (never scored ones' answers)."""
    lines = [f"Task: {plan.request.task.strip()}", f"The input arrives in {_slot_vars(plan)}."]
    if plan.pool:
        lines.append("Examples (input, then the expected output):")
        lines += [f"- {as_text(e['input'])}\n  -> {e['expected']}" for e in plan.pool]
    else:
        lines.append("Example inputs:")
        lines += [f"- {as_text(e['input'])}" for e in plan.examples[:3]]
    if plan.base:
        lines.append("The current prompt, to improve on:\n" + prompts.template_of(plan.base).as_text())
    lines.append(
        f"Propose {n} different prompts for this task: vary the persona, the instructions and how much detail "
        'they ask for. Reply with JSON only, in this shape: {"candidates": [{"persona": "' + SHAPE["persona"] + '", '
        '"instructions": "' + SHAPE["instructions"] + '", "template": "' + SHAPE["template"] + " with "
        f'{_slot_vars(plan)} where the input goes"}}]}}')
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(lines)}]


def _items(value: Any) -> list[Any]:
    """The proposals out of the model's JSON: {"candidates": [...]}, a bare list, or one proposal."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("candidates"), list):
            return value["candidates"]
        if set(value) & set(LIMITS):
            return [value]
    raise ValueError('reply with {"candidates": [{"persona": ..., "instructions": ..., "template": ...}]}')


def propose(llm: LLM, plan: Plan, n: int, tracer: Any | None = None) -> tuple[list[Any], str]:
    """Up to `n` raw proposals and a note saying how many the model gave (unreadable output: none)."""
    try:
        with routed(tracer):
            items = llm.chat_json(proposal_messages(plan, n), validate=_items, retries=1, max_tokens=200 * n + 200,
                                  temperature=0.7, span_name="autoprompt:propose")
    except LLMOutputError as exc:
        return [], f"the model's proposals could not be read ({exc}); every candidate uses tenbin's own parts"
    got = items[:n]
    return got, f"the model proposed {len(got)} of {n} candidates" + (
        "" if len(got) == n else "; the others use tenbin's own parts")


def _fields(proposal: Any, input_vars: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The usable text fields of one proposal, and what was ignored (and why)."""
    if proposal is None:
        return {}, []
    if isinstance(proposal, str):
        key = "template" if any(re.search(r"\{\{?\s*" + v + r"\s*\}\}?", proposal) for v in input_vars) else "instructions"
        proposal = {key: proposal}
    if not isinstance(proposal, Mapping):
        return {}, [f"the proposal is not an object: {str(proposal)[:200]!r}"]
    fields, ignored = {}, []
    for key, limit in LIMITS.items():
        value = proposal.get(key)
        if isinstance(value, str) and value.strip():
            if len(value) > limit:
                ignored.append(f"{key} is longer than {limit} characters")
            elif value.strip().lower().startswith(SHAPE[key].rstrip(",")):
                ignored.append(f"{key} copies the request's description of the field: {value[:100]!r}")
            else:
                fields[key] = value.strip()
        elif value not in (None, ""):
            ignored.append(f"{key} is not text: {str(value)[:100]!r}")
    return fields, ignored


def _persona(text: str) -> Template:
    who = re.sub(r"(?i)^you are\s+", "", text).rstrip(". ")
    return builders.literal(f"You are {who}.")


def _slot(plan: Plan) -> Template:
    return builders.compose(*[f"{v.replace('_', ' ').capitalize()}: {_var(v)}" for v in plan.input_vars], sep="\n")


def _proposed_template(source: str, input_vars: Sequence[str]) -> Template:
    """A model-written template, held to: parses, sandbox-safe, uses the input variable(s) and only those."""
    template = Template.create(source)
    used = {v.name for v in template.variables}
    missing = [v for v in input_vars if v not in used]
    if missing:
        raise InvalidInput(f"the proposed template does not use the input variable {', '.join(missing)}: it needs "
                           f"{' '.join(_var(v) for v in missing)} where the input goes")
    extra = sorted(used - set(input_vars))
    if extra:
        raise InvalidInput(f"the proposed template uses {extra}, which the dataset's inputs cannot fill; it may use "
                           f"only {', '.join(input_vars)}")
    return template


def _output_format(plan: Plan) -> tuple[Template | None, str | None]:
    name = plan.evaluator.name
    if name == "json_schema":
        return builders.output_format(getattr(plan.evaluator, "params", {})["schema"]), "json_schema"
    if name == "json_valid":
        return builders.literal(JSON_ONLY), "json"
    return None, None


def _few_shot(plan: Plan) -> Template:
    single = len(plan.input_vars) == 1
    label = plan.input_vars[0].replace("_", " ").capitalize() if single else "Input"
    return builders.few_shot([{"input": e["input"], "output": e["expected"]} for e in plan.pool],
                             input_label=label, output_label="Answer" if single else "Output")


def candidate(plan: Plan, recipe: Recipe, proposal: Any) -> dict[str, Any]:
    """One candidate: its template (or, when invalid, the error and the proposed source) and origin."""
    fields, ignored = _fields(proposal, plan.input_vars)
    fmt, fmt_name = _output_format(plan)
    origin: dict[str, Any] = {"style": recipe.style, "few_shot": [e["id"] for e in plan.pool] if recipe.few_shot else [],
                              "output_format": fmt_name, "ignored": ignored}
    if proposal is not None:
        origin["proposal"] = proposal
    persona = fields.get("persona") or (recipe.default_persona if recipe.persona else None)
    origin["persona"] = None if persona is None else {"text": persona, "from": "llm" if "persona" in fields else "tenbin"}
    style = {"terse": builders.literal(TERSE), "cot": builders.chain_of_thought()}.get(recipe.style)
    head = [_persona(persona)] if persona else []
    shots = [_few_shot(plan)] if recipe.few_shot else []
    tail = [p for p in (style, fmt) if p is not None]
    try:
        if "template" in fields:
            origin["core"] = "llm template"
            template = builders.compose(*head, *shots, _proposed_template(fields["template"], plan.input_vars), *tail)
        elif "instructions" in fields or not (plan.base and plan.base.get("template")):
            origin["core"] = "llm instructions" if "instructions" in fields else "task"
            text = fields.get("instructions") or plan.request.task.strip()
            template = builders.compose(*head, builders.literal(text), *shots, *tail, _slot(plan))
        else:
            origin["core"] = "base"
            template = builders.compose(*head, *shots, prompts.template_of(plan.base), *tail)
    except InvalidInput as exc:
        return {"status": "invalid", "error": str(exc), "template": {"template": fields.get("template")}, "origin": origin}
    return {"status": "valid", "error": None, "template": template.to_dict(), "origin": origin}


def build(plan: Plan, proposals: Sequence[Any]) -> list[dict[str, Any]]:
    """The N generated candidates (positions 1..N); duplicates of an earlier one are marked invalid."""
    n = plan.request.n
    grid = recipes(n, bool(plan.pool), _output_format(plan)[1] is not None)
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for position, (recipe, proposal) in enumerate(zip_longest(grid, proposals[:n]), start=1):
        cand = {"position": position, **candidate(plan, recipe, proposal)}
        if cand["status"] == "valid":
            text = Template.from_dict(cand["template"]).as_text()
            if text in seen:
                cand.update(status="invalid", error=f"the same template as candidate {seen[text]}")
            seen.setdefault(text, position)
        out.append(cand)
    return out


def base_candidate(plan: Plan) -> dict[str, Any]:
    """Position 0: the base prompt as it is, scored as the baseline to beat."""
    base = plan.base or {}
    return {"position": 0, "status": "valid", "error": None, "template": prompts.template_of(base).to_dict(),
            "origin": {"base": {"name": base["name"], "version": base["version"]}, "core": "base", "few_shot": []}}


def describe(origin: Mapping[str, Any]) -> str:
    """A candidate's parts and where each came from, in one line (CLI and UI)."""
    if origin.get("base"):
        return f"base prompt {origin['base']['name']} v{origin['base']['version']}"
    bits = []
    if origin.get("persona"):
        bits.append(f"persona ({'model' if origin['persona']['from'] == 'llm' else 'tenbin'})")
    bits.append({"llm template": "template (model)", "llm instructions": "instructions (model)",
                 "task": "task as instructions", "base": "base prompt"}.get(origin.get("core", ""), "?"))
    if origin.get("few_shot"):
        bits.append(f"{len(origin['few_shot'])}-shot")
    bits.append({"cot": "chain-of-thought", "terse": "answer only"}.get(origin.get("style", ""), ""))
    bits.append({"json_schema": "JSON schema", "json": "JSON only"}.get(origin.get("output_format") or "", ""))
    return " · ".join(b for b in bits if b)
