"""Evaluation throughput: code checks over 100k spans, and LLM judges one at a time vs concurrently.

    .venv/bin/python benchmarks/bench_evals.py [--spans 100000] [--judge-cases 16] [--no-local]

Code checks run in-process on realistic span rows (turned into EvalInputs the way the server does).
Judges run on the bundled local model (SmolLM2-135M under llama.cpp) when it is installed, and on
the scripted server with an artificial per-call delay (clearly labelled: it shows what bounded
concurrency buys against a server that can serve calls in parallel).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from tenbin.evals import resolve, run
from tenbin.evals.base import EvalInput
from tenbin.evals.spans import from_span
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM

CHECKS: list[Any] = [
    "json_valid", "exact_match", {"name": "contains", "params": {"text": ["refund", "order"], "all": False}},
    {"name": "regex", "params": {"pattern": r"\b[A-Z]{2}-\d{4,6}\b"}},
    {"name": "json_schema", "params": {"schema": {"type": "object", "required": ["intent", "order_id"],
                                                  "properties": {"intent": {"type": "string"}}}}},
    {"name": "length", "params": {"min_chars": 10, "max_chars": 2000}},
    {"name": "latency", "params": {"max_ms": 2000}}, {"name": "tokens", "params": {"max_tokens": 1500}},
]
WORDS = "refund order invoice billing shipping password account plan upgrade cancel card support".split()


def span_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """LLM span rows as `queries.get_span` returns them: messages, JSON or prose output, usage, metadata."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))) + "?"
        if i % 2:
            answer = json.dumps({"intent": rng.choice(WORDS), "order_id": f"AB-{rng.randint(1000, 999999)}"})
        else:
            answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 200)))
        rows.append({
            "span_id": f"{i:016x}", "trace_id": f"{i:032x}", "kind": "LLM", "input_value": json.dumps({"q": question}),
            "output_value": answer, "latency_ms": rng.lognormvariate(6.5, 0.6),
            "prompt_tokens": rng.randint(50, 1200), "completion_tokens": rng.randint(5, 400),
            "total_tokens": rng.randint(60, 1600), "metadata": {"reference": answer if rng.random() < 0.3 else "n/a"},
            "attributes": {"llm.input_messages": [{"role": "system", "content": "You are a support bot."},
                                                  {"role": "user", "content": question}],
                           "llm.output_messages": [{"role": "assistant", "content": answer}]},
        })
    return rows


def bench_code(n: int) -> None:
    rows = span_rows(n)
    started = time.perf_counter()
    inputs = [from_span(r) for r in rows]
    build_s = time.perf_counter() - started
    evaluators = resolve(CHECKS)
    print(f"code checks: {n} spans, {len(evaluators)} checks each; span→EvalInput {n / build_s:,.0f} spans/s")
    total = 0.0
    for evaluator in evaluators:
        started = time.perf_counter()
        count = sum(1 for _ in run(inputs, [evaluator], chunk=4096))
        seconds = time.perf_counter() - started
        total += seconds
        print(f"  {evaluator.name:<12} {count / seconds:>12,.0f} evals/s")
    print(f"  all checks   {n * len(evaluators) / total:>12,.0f} evals/s  ({n * len(evaluators)} evaluations in {total:.1f}s)")


def judge_rate(llm: LLM, cases: list[EvalInput]) -> tuple[float, int]:
    started = time.perf_counter()
    results = list(run(cases, resolve([{"name": "toxicity", "params": {"max_tokens": 60}}], llm)))
    seconds = time.perf_counter() - started
    return len(results) / seconds, sum(r.label == "unparseable" for r in results)


def judge_cases(n: int) -> list[EvalInput]:
    texts = ["Thanks, your refund is on its way.", "You are an idiot, read the manual.",
             "Sorry, that plan does not include exports.", "Shut up and stop asking stupid questions."]
    return [EvalInput(output=f"{texts[i % 4]} (ticket {i})") for i in range(n)]


def bench_judges(base_url: str, model: str, label: str, n: int) -> None:
    for workers in (1, 4):
        rate, bad = judge_rate(LLM(base_url, model, max_concurrency=workers), judge_cases(n))
        print(f"  {label:<38} concurrency {workers}: {rate:6.2f} judgements/s  ({n} cases, {bad} unparseable)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--judge-cases", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.2, help="scripted server's seconds per call")
    parser.add_argument("--no-local", action="store_true", help="skip the local model")
    args = parser.parse_args()
    bench_code(args.spans)
    print("judges (toxicity):")

    def slow(messages: list[dict[str, Any]]) -> str:
        time.sleep(args.delay)
        return '{"label": "toxic"}' if "idiot" in messages[-1]["content"] else '{"label": "non_toxic"}'

    with ScriptedLLM(script=slow) as scripted:
        bench_judges(scripted.base_url, scripted.model, f"scripted, {args.delay:g}s/call (artificial)", args.judge_cases)
    if not args.no_local:
        from tenbin.llm.local import LocalModelServer

        with LocalModelServer() as local:
            bench_judges(local.base_url, local.model, "local SmolLM2-135M (llama.cpp)", args.judge_cases)


if __name__ == "__main__":
    main()
