"""Score a candidate over the dataset and rank candidates.

A candidate runs through `tenbin.evals.experiments` (the same `PromptTask` and `execute` as an
experiment), a few examples at a time so progress can be stored as it goes. Its score is the mean
of the chosen evaluator's scores over *every* scored example, an error or an unscorable answer
counting 0, so a candidate cannot climb the table by failing on hard examples. The 95% interval is
Wilson's for pass/fail scores (sound for small n and near 0 or 1), Student t's otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tenbin.errors import InvalidInput
from tenbin.evals import experiments, registry
from tenbin.evals.base import EvalInput, Evaluator
from tenbin.evals.code import CodeEvaluator
from tenbin.evals.registry import Spec
from tenbin.llm import LLM
from tenbin.prompts.stats import mean_interval, wilson

Row = dict[str, Any]


def contains_expected(example: EvalInput) -> tuple[bool, str]:
    """The output contains the example's expected output (case-insensitive)."""
    ok = (example.reference or "").strip().lower() in (example.output or "").lower()
    return ok, "contains the expected output" if ok else "the expected output is not in the answer"


def resolve_evaluator(spec: Spec, llm: LLM | None) -> Evaluator:
    """One evaluator from its name or {name, params}; `contains` without `text` checks the expected output."""
    if isinstance(spec, (list, tuple)):
        raise InvalidInput("prompt generation optimises one evaluator; name one, e.g. contains or qa_correctness")
    if spec == "contains" or (isinstance(spec, Mapping) and spec.get("name") == "contains" and not spec.get("params")):
        return CodeEvaluator("contains", contains_expected, "expected-1", ("output", "reference"))
    return registry.resolve([spec], llm)[0]


def describe_evaluator(evaluator: Evaluator) -> dict[str, Any]:
    return experiments.described([evaluator])[0]


def score_candidate(examples: Sequence[Mapping[str, Any]], task: experiments.Task, evaluator: Evaluator, *,
                    tracer: Any | None, workers: int, on_chunk: Callable[[list[Row]], None]) -> list[Row]:
    """Run `task` on every example and score it; `on_chunk` gets each chunk of rows as it is done."""
    rows: list[Row] = []
    size = max(2, workers * 2)
    for start in range(0, len(examples), size):
        chunk = experiments.execute(examples[start:start + size], task, [evaluator], tracer=tracer, workers=workers)
        for row in chunk:
            first = row["scores"][0] if row["scores"] else {}
            row["score"] = first.get("score")
        on_chunk(chunk)
        rows += chunk
    return rows


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean score (missing = 0) with its 95% interval, plus errors, labels, tokens and latency."""
    values = [float(r["score"]) if r.get("score") is not None else 0.0 for r in rows]
    n = len(values)
    mean = sum(values) / n if n else None
    interval: tuple[float, float] | None = None
    if n and all(v in (0.0, 1.0) for v in values):
        interval = wilson(sum(values), n)
    elif n and mean is not None:
        interval = mean_interval(n, mean, sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0)
    base = experiments.summarize([{**r, "scores": r.get("scores") or []} for r in rows])
    labels = next(iter(base["scores"].values()), {}).get("labels", {})
    return {"score": mean, "low": interval[0] if interval else None, "high": interval[1] if interval else None,
            "n": n, "scored": sum(1 for r in rows if r.get("score") is not None), "errors": base["errors"],
            "labels": labels, "latency_ms_mean": base["latency_ms_mean"], "prompt_tokens": base["prompt_tokens"],
            "completion_tokens": base["completion_tokens"]}


def rank(summaries: Mapping[int, Mapping[str, Any]]) -> dict[int, int]:
    """1 = best: highest score, then the higher interval's low end, then fewer tokens, then the earlier candidate."""
    def key(item: tuple[int, Mapping[str, Any]]) -> tuple[float, float, int, int]:
        cid, s = item
        return (-(s["score"] or 0.0), -(s["low"] if s["low"] is not None else s["score"] or 0.0),
                s["prompt_tokens"] + s["completion_tokens"], cid)

    return {cid: i + 1 for i, (cid, _) in enumerate(sorted(summaries.items(), key=key))}
