"""What a generation run will do, checked before any LLM call: the request, the dataset split, the
input variables, the evaluator and the optional base prompt.

**No leakage.** Few-shot examples come from a small *shot pool* drawn (seeded) from the dataset's
examples that have an expected output; the pool is held out of scoring for every candidate. So no
candidate is ever scored on an example whose answer its template contains, and every candidate is
scored on the same examples, which keeps the ranking fair. The proposer LLM sees the pool's examples
(input and expected output) but never an expected output of a scored example.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine

from tenbin.autoprompt.scoring import resolve_evaluator
from tenbin.errors import InvalidInput
from tenbin.evals import experiments, judge_prompts
from tenbin.evals.base import Evaluator
from tenbin.evals.registry import Spec
from tenbin.llm import LLM
from tenbin.prompts import registry as prompts
from tenbin.store import datasets as store

MAX_CANDIDATES = 12
MAX_SHOTS = 8
MAX_EXAMPLES = 500
MIN_SCORED = 2
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Request:
    """A generation request, as the REST body, the CLI and the SDK give it."""

    dataset: str
    task: str
    n: int = 4
    evaluator: Spec = "contains"
    base_prompt: str | None = None
    """NAME@VERSION (or NAME@LABEL, NAME) of a registry prompt to improve on; it is scored too."""
    input_var: str | None = None
    """The variable a text input goes into (default `input`); object inputs use their keys."""
    dataset_version: int | None = None
    shots: int = 2
    """Size of the held-out few-shot pool (0: no few-shot candidates)."""
    limit: int = 50
    """Score on at most this many examples (the first ones by id, after the pool)."""
    seed: int = 0
    max_tokens: int = 256

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput(f"unknown field(s) {unknown}; a generation request has: {', '.join(cls.__dataclass_fields__)}")
        return cls(**data)


@dataclass
class Plan:
    """Everything the run needs, resolved and checked."""

    project: str
    request: Request
    dataset_version: int
    examples: list[dict[str, Any]]
    """The examples every candidate is scored on."""
    pool: list[dict[str, Any]]
    """Held-out few-shot examples (never scored)."""
    input_vars: list[str]
    evaluator: Evaluator
    base: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"dataset {self.request.dataset!r} v{self.dataset_version}"


def evaluator_spec(name: str, params: str | None, where: str = "evaluator params") -> Spec:
    """An evaluator spec from a name and its params as JSON text (a CLI flag or a form field)."""
    if not params or not params.strip():
        return name
    try:
        value = json.loads(params)
    except ValueError as exc:
        raise InvalidInput(f'{where} must be a JSON object like {{"pattern": "\\\\d+"}}: {exc}') from None
    return {"name": name, "params": value}


def _bounded(name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}; got {value!r}")
    return value


def check_request(req: Request) -> None:
    if not isinstance(req.dataset, str) or not req.dataset.strip():
        raise InvalidInput("name the dataset whose examples the candidates are scored on")
    if req.base_prompt is not None and not isinstance(req.base_prompt, str):
        raise InvalidInput(f"base_prompt must be NAME@VERSION text; got {req.base_prompt!r}")
    if not isinstance(req.task, str) or not req.task.strip():
        raise InvalidInput("describe the task, e.g. \"Answer the customer's question in one sentence\"")
    if len(req.task) > 4000:
        raise InvalidInput(f"the task description is {len(req.task)} characters; keep it under 4000")
    _bounded("n", req.n, 1, MAX_CANDIDATES)
    _bounded("shots", req.shots, 0, MAX_SHOTS)
    _bounded("limit", req.limit, MIN_SCORED, MAX_EXAMPLES)
    _bounded("max_tokens", req.max_tokens, 16, 4096)
    _bounded("seed", req.seed, 0, 2**31)
    if req.input_var is not None and not _IDENT.match(req.input_var):
        raise InvalidInput(f"input_var {req.input_var!r} must be an identifier such as question or user_input")


def input_variables(examples: Sequence[Mapping[str, Any]], input_var: str | None, where: str) -> list[str]:
    """Text inputs fill one variable (`input_var`, default `input`); object inputs fill their keys,
    which must be the same on every example."""
    objects = [e for e in examples if isinstance(e["input"], Mapping)]
    if not objects:
        return [input_var or "input"]
    if len(objects) != len(examples):
        texts = [e["id"] for e in examples if not isinstance(e["input"], Mapping)][:10]
        raise InvalidInput(f"{where} mixes object and text inputs (text inputs: ids {texts}); a prompt fills the same "
                           "variables for every example, so make them all objects with the same keys, or all text")
    keys = sorted(objects[0]["input"])
    odd = [e["id"] for e in objects if sorted(e["input"]) != keys][:10]
    if odd:
        raise InvalidInput(f"the inputs of {where} have different keys (example {objects[0]['id']} has {keys}; "
                           f"ids {odd} differ); every example must give the same variables")
    bad = [k for k in keys if not _IDENT.match(k)]
    if bad or not keys:
        raise InvalidInput(f"the input keys {bad or keys} of {where} cannot be template variables; use identifiers")
    if input_var is not None and input_var not in keys:
        raise InvalidInput(f"input_var {input_var!r} is not a key of the inputs of {where}; their keys are: {', '.join(keys)}")
    return keys


def split(examples: Sequence[dict[str, Any]], shots: int, seed: int, limit: int) -> tuple[list, list, list[str]]:
    """(pool, scored, notes): a seeded pool of `shots` examples with expected outputs, the rest scored."""
    notes = []
    labelled = [e for e in examples if e.get("expected") not in (None, "")]
    if shots and len(labelled) < shots:
        notes.append(f"only {len(labelled)} examples have an expected output; the few-shot pool has "
                     f"{len(labelled)} instead of {shots}")
        shots = len(labelled)
    if shots and len(examples) - shots < MIN_SCORED:
        notes.append(f"the dataset has {len(examples)} examples: too few to hold {shots} out for few-shot and still "
                     f"score {MIN_SCORED}; no few-shot candidates")
        shots = 0
    pool = sorted(random.Random(seed).sample(labelled, shots), key=lambda e: e["id"]) if shots else []
    taken = {e["id"] for e in pool}
    rest = [e for e in examples if e["id"] not in taken]
    if len(rest) > limit:
        notes.append(f"scored on the first {limit} of {len(rest)} examples (limit)")
    return pool, rest[:limit], notes


def prepare(engine: Engine, project: str, req: Request, llm: LLM, judges: judge_prompts.Prompts | None = None) -> Plan:
    """Resolve and check the whole request (bad input raises InvalidInput/NotFound; nothing is called).
    `judges`: where a judge evaluator's template comes from (default the project's registry)."""
    check_request(req)
    data = store.get_dataset(engine, project, req.dataset, req.dataset_version)
    where = f"dataset {req.dataset!r} v{data['version']}"
    if len(data["examples"]) < MIN_SCORED:
        raise InvalidInput(f"{where} has {len(data['examples'])} examples; add at least {MIN_SCORED} to score candidates on")
    input_vars = input_variables(data["examples"], req.input_var, where)
    pool, scored, notes = split(data["examples"], req.shots, req.seed, req.limit)
    (evaluator,) = judge_prompts.bind([resolve_evaluator(req.evaluator, llm)], judges or judge_prompts.Local(engine, project))
    experiments.check_examples(scored, [evaluator], experiments.function_task(str), where)
    plan = Plan(project, req, data["version"], scored, pool, input_vars, evaluator, notes=notes)
    if req.base_prompt:
        name, version, label = experiments.parse_prompt_ref(req.base_prompt)
        plan.base = prompts.get(engine, project, name, version=version, label=label)
        try:
            experiments.check_examples(scored, [evaluator], experiments.PromptTask(plan.base, llm), where)
        except InvalidInput as exc:
            raise InvalidInput(f"the base prompt {name} v{plan.base['version']} cannot run on {where}: {exc}") from None
    return plan
