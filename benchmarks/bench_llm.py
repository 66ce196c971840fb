"""Tokens/s of the local model through `tenbin.llm.LLM` (HTTP to llama.cpp's server) vs in-process.

    .venv/bin/python benchmarks/bench_llm.py [--rounds 5] [--max-tokens 64] [--threads N]

Both sides load the same GGUF the same way (n_ctx, n_threads, no AMX repacking, passive OpenMP waits), answer the same prompts greedily
(temperature 0) with the same max_tokens, and take turns round by round, never running at the same
time (they would fight over the cores). Tokens/s is completion tokens over wall time per call,
so it includes prompt processing on both sides; the difference is what tenbin's path adds: the
`openai` SDK, HTTP on loopback, llama.cpp's server, and (third column) an LLM span per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as LocalModelServer sets it; read when llama_cpp loads

from llama_cpp import Llama  # noqa: E402

import tenbin  # noqa: E402
from tenbin.llm import LLM  # noqa: E402
from tenbin.llm.local import (  # noqa: E402
    DEFAULT_N_CTX, LocalModelServer, default_threads, disable_extra_buffers, gguf_path,
)
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app

PROMPTS = [
    "How do I reset my password? Explain the steps.",
    "Write a short paragraph about the history of the bicycle.",
    "List five tips for writing clear documentation.",
    "What is the difference between a list and a tuple in Python?",
]
Call = Callable[[str], tuple[str, int]]
SERVER_REPEAT_PENALTY = 1.1  # llama-cpp-python's server default (its in-process default is 1.0)


def direct_call(model: Llama, max_tokens: int) -> Call:
    def call(prompt: str) -> tuple[str, int]:
        reply = model.create_chat_completion([{"role": "user", "content": prompt}],
                                             temperature=0.0, max_tokens=max_tokens,
                                             repeat_penalty=SERVER_REPEAT_PENALTY)
        return reply["choices"][0]["message"]["content"] or "", reply["usage"]["completion_tokens"]
    return call


def http_call(llm: LLM, max_tokens: int) -> Call:
    def call(prompt: str) -> tuple[str, int]:
        result = llm.chat([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=max_tokens)
        return result.text, result.completion_tokens or 0
    return call


def one_round(call: Call) -> tuple[float, list[str]]:
    """Tokens/s over all prompts (total completion tokens / total wall time) and the answers."""
    tokens, seconds, texts = 0, 0.0, []
    for prompt in PROMPTS:
        t0 = time.perf_counter()
        text, n = call(prompt)
        seconds += time.perf_counter() - t0
        tokens += n
        texts.append(text)
    return tokens / seconds, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=default_threads())
    args = ap.parse_args()
    disable_extra_buffers()  # as the server does
    model = Llama(model_path=str(gguf_path()), chat_format="chatml", n_ctx=DEFAULT_N_CTX,
                  n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    with LocalModelServer(n_threads=args.threads) as local, tempfile.TemporaryDirectory() as tmp, \
            LoopbackServer(create_app(f"sqlite:///{Path(tmp) / 'bench.db'}", auth=False)) as store:
        llm = LLM(local.base_url, local.model)
        sides: dict[str, Call] = {"direct llama_cpp": direct_call(model, args.max_tokens),
                                  "tenbin.llm (HTTP)": http_call(llm, args.max_tokens)}
        traced = http_call(llm, args.max_tokens)
        for call in sides.values():
            one_round(call)  # warm-up: page the weights in, fill caches
        rates: dict[str, list[float]] = {name: [] for name in [*sides, "tenbin.llm + tracing"]}
        answers: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for name, call in sides.items():
                rate, answers[name] = one_round(call)
                rates[name].append(rate)
            tenbin.init(store.url, project="bench-llm")
            rate, _texts = one_round(traced)
            tenbin.shutdown()
            rates["tenbin.llm + tracing"].append(rate)
    report(args, rates, answers)


def report(args: argparse.Namespace, rates: dict[str, list[float]], answers: dict[str, list[str]]) -> None:
    print(f"model={gguf_path().name} prompts={len(PROMPTS)} max_tokens={args.max_tokens} "
          f"threads={args.threads} rounds={args.rounds} (median round; rounds alternate between sides)")
    base = statistics.median(rates["direct llama_cpp"])
    for name, values in rates.items():
        med = statistics.median(values)
        spread = f"min {min(values):.1f} max {max(values):.1f}"
        overhead = "" if name == "direct llama_cpp" else f"  overhead {100 * (base - med) / base:+.1f}%"
        print(f"{name:<22} {med:7.1f} tokens/s  ({spread}){overhead}")
    same = answers["direct llama_cpp"] == answers["tenbin.llm (HTTP)"]
    print(f"greedy answers identical on both sides: {same}")
    http = statistics.median(rates["tenbin.llm (HTTP)"])
    verdict = "OK" if (base - http) / base <= 0.05 else "OVER"
    print(f"target: overhead <= 5% -> {verdict}")


if __name__ == "__main__":
    main()
