"""A million realistic span rows for the UI query benchmark, written through the store's write path.

Each trace is a support-bot turn: AGENT root → CHAIN → (RETRIEVER, LLM), four spans, spread over
30 days that end at the seed time. Latencies are log-normal, three models, token counts, metadata
task (six categories) on every span the way OpenInference propagates it, multi-turn sessions,
prompt name/version, ~2 % failed turns (LLM error propagated to its parents) and thumbs feedback on
~5 % of roots. Messages and documents make each LLM/RETRIEVER row a few hundred bytes of JSON.
A fixed seed makes the rows, and so the work every run measures, identical from run to run.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert

from tenbin.store.engine import write_transaction
from tenbin.store.models import Feedback
from tenbin.store.writes import ensure_projects, insert_spans

PROJECT = "bench-ui"
TASKS = ("billing", "setup", "api", "troubleshooting", "japanese", "out_of_scope")
_TASK_WEIGHTS = (30, 20, 20, 15, 8, 7)
MODELS = (("gpt-4o-mini", 1.0, 60), ("gpt-4o", 1.6, 25), ("claude-3-5-sonnet", 1.3, 15))
_WORDS = (
    "refund invoice account billing order plan upgrade cancel charge card payment receipt webhook "
    "token limit quota error timeout retry latency region storage backup restore export dashboard "
    "integration password reset subscription premium discount tax currency ticket policy"
).split()
_NULLS = dict.fromkeys((
    "status_message", "input_value", "input_mime", "output_value", "output_mime", "model", "prompt_tokens",
    "completion_tokens", "total_tokens", "cost", "prompt_name", "prompt_version", "prompt_template",
    "prompt_variables", "tags", "attributes", "events",
))


@dataclass(frozen=True)
class SeedParams:
    spans: int = 1_000_000
    days: int = 30
    seed: int = 3

    @property
    def traces(self) -> int:
        return self.spans // 4


class TraceGen:
    """Makes the rows of one trace at a time from one seeded random source."""

    def __init__(self, params: SeedParams, project_id: int, end_us: int) -> None:
        self.rng = random.Random(params.seed)
        self.pid = project_id
        self.t0 = end_us - params.days * 86_400_000_000
        self.total = max(params.traces, 1)
        self.step_us = params.days * 86_400_000_000 // self.total
        self.session: tuple[str, str, int, int] = ("", "", 0, 0)
        self.session_no = 0

    def text(self, words: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=words)).capitalize()

    def ids(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def _next_turn(self) -> tuple[str, str, int]:
        sid, user, step, left = self.session
        if left <= 0:
            self.session_no += 1
            sid, user = f"sess-{self.session_no:07d}", f"user-{self.rng.randrange(5000):04d}"
            step, left = 0, self.rng.choice((1, 1, 2, 3, 3, 4, 6))
        self.session = (sid, user, step + 1, left - 1)
        return sid, user, step + 1

    def trace(self, n: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The four span rows of trace `n` and, for ~5 % of them, a thumbs row for the root."""
        rng = self.rng
        start = self.t0 + n * self.step_us + rng.randrange(self.step_us)
        sid, user, step = self._next_turn()
        task = rng.choices(TASKS, _TASK_WEIGHTS)[0]
        model, slow, _ = rng.choices(MODELS, [m[2] for m in MODELS])[0]
        failed = rng.random() < 0.02
        trace_id, ids = self.ids(128), [self.ids(64) for _ in range(4)]
        retr_ms = rng.lognormvariate(math.log(80), 0.5)
        llm_ms = rng.lognormvariate(math.log(1100 * slow), 0.6)
        chain_ms = retr_ms + llm_ms + rng.uniform(2, 20)
        root_ms = chain_ms + rng.uniform(5, 60)
        question = f"{self.text(rng.randint(8, 30))}?"
        answer = self.text(rng.randint(20, 80)) + "."
        common = {"trace_id": trace_id, "project_id": self.pid, "session_id": sid, "session_step": step,
                  "user_id": user, "metadata": {"task": task, "channel": rng.choice(("web", "email", "slack"))}}
        status = "ERROR" if failed else "OK"
        root = self._span(common, ids[0], None, "support-turn", "AGENT", start, root_ms, status)
        root.update(input_value=question, output_value=None if failed else answer, input_mime="text/plain")
        chain = self._span(common, ids[1], ids[0], "answer", "CHAIN", start + 3000, chain_ms, status)
        chain.update(input_value=question, output_value=None if failed else answer)
        retr = self._span(common, ids[2], ids[1], "retrieve", "RETRIEVER", start + 5000, retr_ms, "OK")
        retr["attributes"] = {"retrieval.documents": [
            {"id": f"kb-{rng.randrange(900)}", "content": self.text(25), "score": round(rng.random(), 3)}
            for _ in range(3)]}
        llm = self._llm(common, ids[3], ids[1], start + 5000 + int(retr_ms * 1000), llm_ms, model, question,
                        answer, failed, n)
        thumbs = None
        if rng.random() < 0.05:
            up = rng.random() < (0.2 if failed else 0.75)
            thumbs = {"project_id": self.pid, "trace_id": trace_id, "span_id": ids[0], "name": "thumbs",
                      "kind": "thumbs", "value": 1.0 if up else 0.0, "label": None, "comment": None,
                      "source": "human", "author": user, "created_us": start + int(root_ms * 1000) + 30_000_000}
        return [root, chain, retr, llm], thumbs

    def _span(self, common: dict[str, Any], span_id: str, parent: str | None, name: str, kind: str,
              start: int, ms: float, status: str) -> dict[str, Any]:
        row = {**_NULLS, **common, "span_id": span_id, "parent_id": parent, "name": name, "kind": kind,
               "status": status, "start_us": start, "end_us": start + int(ms * 1000), "latency_ms": round(ms, 3)}
        if status == "ERROR":
            row["status_message"] = "RateLimitError: upstream model rate limit reached"
        return row

    def _llm(self, common: dict[str, Any], span_id: str, parent: str, start: int, ms: float, model: str,
             question: str, answer: str, failed: bool, n: int) -> dict[str, Any]:
        rng = self.rng
        row = self._span(common, span_id, parent, "ChatCompletion", "LLM", start, ms, "ERROR" if failed else "OK")
        prompt, completion = rng.randint(300, 2400), rng.randint(20, 600)
        system = "You are a helpful support agent. Answer from the context only."
        row.update(
            model=model, prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
            cost=round((prompt * 0.15 + completion * 0.6) / 1e6, 8), input_mime="application/json",
            input_value=None, output_value=None if failed else answer,
            prompt_name="support-answer", prompt_version=f"v{1 + n * 3 // self.total}",
            prompt_template="Context: {context}\nQuestion: {question}",
            prompt_variables={"question": question, "context": self.text(12)},
            attributes={
                "llm.input_messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
                "llm.output_messages": [] if failed else [{"role": "assistant", "content": answer}],
                "llm.invocation_parameters": '{"temperature": 0.2, "max_tokens": 800}',
                "llm.provider": "openai",
            },
        )
        if failed:
            row["events"] = [{"name": "exception", "time_us": row["end_us"], "attributes": {
                "exception.type": "RateLimitError", "exception.message": "rate limit reached",
                "exception.stacktrace": "Traceback (most recent call last):\n  ...\nRateLimitError"}}]
        return row


def chunks(gen: TraceGen, traces: int, per_chunk: int) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    for first in range(0, traces, per_chunk):
        spans: list[dict[str, Any]] = []
        thumbs: list[dict[str, Any]] = []
        for n in range(first, min(first + per_chunk, traces)):
            rows, fb = gen.trace(n)
            spans.extend(rows)
            if fb:
                thumbs.append(fb)
        yield spans, thumbs


def seed(engine: Engine, params: SeedParams, end_us: int | None = None, per_chunk: int = 2500) -> float:
    """Write the benchmark project into a migrated, empty store; returns the seconds it took."""
    began = time.perf_counter()
    end_us = end_us or int(time.time() * 1_000_000)
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {PROJECT})[PROJECT]
    gen = TraceGen(params, pid, end_us)
    done = 0
    for spans, thumbs in chunks(gen, params.traces, per_chunk):
        with write_transaction(engine) as conn:
            insert_spans(conn, spans)
            if thumbs:
                conn.execute(insert(Feedback.__table__), thumbs)
        done += len(spans)
        if done % 100_000 < per_chunk * 4:
            rate = done / (time.perf_counter() - began)
            print(f"  {engine.dialect.name}: {done:,} spans ({rate:,.0f}/s)", flush=True)
    return time.perf_counter() - began
