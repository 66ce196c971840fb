"""Run evaluators over inputs (bounded concurrency) and store the results as feedback on spans.

`run` takes any iterable of `EvalInput` (spans now, dataset examples later) and yields results in
input order. `evaluate_spans` is the server's path: load the spans, check every evaluator's needed
fields first (a missing reference is an error before any model call, and nothing is stored), run,
then write each result as feedback (source `code` or `llm`, author `name@version`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.evals import judge_prompts, registry, spans
from tenbin.evals.base import EvalInput, EvalResult, Evaluator, MissingField
from tenbin.evals.tracing import JudgeTracing
from tenbin.llm import LLM
from tenbin.sdk.routing import routed
from tenbin.sdk.setup import evals_tracer
from tenbin.store import queries
from tenbin.store.feedback import add_feedback

MAX_SPANS = 10_000
Pair = tuple[EvalInput, Evaluator]


@dataclass
class Plan:
    """The (input, evaluator) pairs to run and those skipped for a missing field."""

    pairs: list[Pair] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def plan(inputs: Iterable[EvalInput], evaluators: Sequence[Evaluator], skip_missing: bool = False) -> Plan:
    """Pair inputs with evaluators; a missing needed field raises (naming it) unless `skip_missing`."""
    out = Plan()
    for example in inputs:
        for evaluator in evaluators:
            try:
                example.require(evaluator.name, evaluator.requires)
            except MissingField as exc:
                if not skip_missing:
                    raise MissingField(evaluator.name, exc.field, f" on span {example.span_id}" if example.span_id
                                       else "") from None
                out.skipped.append({"span_id": example.span_id, "evaluator": evaluator.name, "reason": str(exc)})
                continue
            out.pairs.append((example, evaluator))
    return out


def workers_for(evaluators: Sequence[Evaluator]) -> int:
    """Judges run as many at a time as their LLM allows; code checks need no threads."""
    return max([getattr(getattr(e, "llm", None), "max_concurrency", 1) for e in evaluators] or [1])


def run_pairs(pairs: Sequence[Pair], tracer: Any | None = None, workers: int = 1) -> list[EvalResult]:
    """Evaluate each pair, judge calls traced into `tracer` (None: untraced), results in order."""

    def one(pair: Pair) -> EvalResult:
        with routed(tracer):
            return pair[1].evaluate(pair[0])

    if workers <= 1 or len(pairs) <= 1:
        return [one(p) for p in pairs]
    with ThreadPoolExecutor(workers, thread_name_prefix="tenbin-eval") as pool:
        return list(pool.map(one, pairs))


def run(inputs: Iterable[EvalInput], evaluators: Sequence[Evaluator], *, tracer: Any | None = None,
        skip_missing: bool = False, chunk: int = 256) -> Iterator[EvalResult]:
    """Every evaluator on every input, `chunk` inputs at a time (so any iterable fits in memory)."""
    workers, it = workers_for(evaluators), iter(inputs)
    while batch := list(islice(it, chunk)):
        yield from run_pairs(plan(batch, evaluators, skip_missing).pairs, tracer, workers)


def evaluate(example: EvalInput, specs: Sequence[registry.Spec], llm: LLM | None = None) -> list[EvalResult]:
    """Evaluate one hand-built input (nothing stored); judge calls go to `tenbin-evals` once `tenbin.init` ran."""
    return list(run([example], registry.resolve(specs, llm), tracer=evals_tracer()))


def select_spans(engine: Engine, project: str, filter: str = "", limit: int = 100) -> list[str]:
    """Ids of the newest `limit` spans of `project` matching `filter`."""
    if not 1 <= limit <= MAX_SPANS:
        raise InvalidInput(f"limit must be between 1 and {MAX_SPANS}; got {limit}")
    ids: list[str] = []
    cursor = None
    while len(ids) < limit:
        page = queries.list_spans(engine, queries.SpanQuery(project, filter), min(500, limit - len(ids)), cursor)
        ids += [s["span_id"] for s in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    return ids


def bound(engine: Engine, project: str | None, evaluators: Sequence[Evaluator]) -> list[Evaluator]:
    """The evaluators with each judge's template from `project`'s prompt registry."""
    return judge_prompts.bind(evaluators, judge_prompts.Local(engine, project) if project else None)


def plan_by_project(engine: Engine, inputs: Sequence[EvalInput], evaluators: Sequence[Evaluator],
                    skip_missing: bool) -> tuple[Plan, list[dict[str, Any]]]:
    """Plan each project's spans with judges bound to that project's templates; also what ran (described)."""
    todo, used = Plan(), {}
    for project in dict.fromkeys(i.project for i in inputs):
        these = bound(engine, project, evaluators)
        part = plan([i for i in inputs if i.project == project], these, skip_missing)
        todo.pairs += part.pairs
        todo.skipped += part.skipped
        used.update({(e.name, e.version): e.describe() for e in these})
    return todo, list(used.values())


def details(result: EvalResult) -> dict[str, Any]:
    """A result's extras for the feedback row's `details`: cost, version, raw text, per-item details."""
    out = {"evaluator_version": result.version, "latency_ms": result.latency_ms, "prompt_tokens": result.prompt_tokens,
           "completion_tokens": result.completion_tokens, "attempts": result.attempts, "raw": result.raw,
           **result.details}
    return {k: v for k, v in out.items() if v is not None}


def evaluate_spans(engine: Engine, span_ids: Sequence[str], specs: Sequence[registry.Spec], *,
                   llm: LLM | None = None, tracing: JudgeTracing | None = None, project: str | None = None,
                   skip_missing: bool = False, store: bool = True) -> dict[str, Any]:
    """Evaluate stored spans and (by default) record each result as feedback on its span."""
    if not span_ids:
        raise InvalidInput("no spans to evaluate: pass span ids, or a project and filter that match some spans")
    if len(span_ids) > MAX_SPANS:
        raise InvalidInput(f"at most {MAX_SPANS} spans per run; got {len(span_ids)}: narrow the filter")
    evaluators = registry.resolve(specs, llm)
    needs = {name for e in evaluators for name in e.requires}
    inputs = [spans.load(engine, sid, needs, project) for sid in dict.fromkeys(span_ids)]
    todo, used = plan_by_project(engine, inputs, evaluators, skip_missing)
    try:
        results = run_pairs(todo.pairs, tracing.tracer if tracing else None, workers_for(evaluators))
    finally:
        if tracing:
            tracing.flush()
    if store:
        for result in results:
            add_feedback(engine, span_id=result.span_id, details=details(result), **result.feedback())
    return {"results": [r.to_dict() for r in results], "skipped": todo.skipped,
            "evaluators": used, "stored": len(results) if store else 0}
