"""Online evaluations: per-project rules that score new production spans in the background.

A rule is a filter, a sampling rate, evaluators and an optional per-minute limit. Each pass runs the
rule as a `tenbin.jobs` batch job over the spans it has not decided yet, oldest first:

- **Which spans.** Not a start-time watermark: spans arrive when they end, so a long agent run lands
  long after shorter spans that started later. The store records every matching span a rule decides
  on (`online_eval_spans`), and a pass takes the matching spans without such a row (see
  `store.online_rules`). So a span stored late, or one that matches only later (thumbs-down arrives),
  is still evaluated, and a rerun never evaluates a span twice. The cost is one small row per
  matching span and an anti-join per pass.
- **Sampling** hashes the span id (BLAKE2b), so every rerun and every replica picks the same spans,
  a higher rate keeps the spans a lower one picked, and the rate is testable.
- **Results** are feedback on the span (source `code`/`llm`, `details.online_rule` naming the rule),
  written in the batch's transaction with the decided rows and the job checkpoint.
- **Failures.** When the LLM endpoint is down (or answers 429/5xx) the batch is not written: the
  spans stay pending (the backlog grows, visibly), and the rule backs off exponentially
  (`next_attempt`, `last_error`). Any other error of one evaluator on one span is recorded on that
  span (outcome `error`) so one bad span never blocks the rule.
- **Rate limit.** A pass stops when the rule has evaluated `max_per_minute` spans in the last minute;
  the next tick carries on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from tenbin import jobs
from tenbin.errors import LLMError, LLMOutputError, LLMUnavailable
from tenbin.evals import judge_prompts, registry, spans
from tenbin.evals.base import EvalInput, EvalResult, Evaluator
from tenbin.evals.runner import details, plan, run_pairs, workers_for
from tenbin.evals.tracing import JudgeTracing
from tenbin.llm import LLM
from tenbin.store import online_rules as store
from tenbin.store.lookup import now_us

log = logging.getLogger("tenbin.evals.online")
BATCH = 100
"""Spans decided per batch (and per checkpoint)."""
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
MINUTE_US = 60_000_000
_running: set[int] = set()
_lock = threading.Lock()


def sampled(span_id: str, rate: float) -> bool:
    """Whether a rule with sampling `rate` evaluates this span: the same answer every time."""
    if rate >= 1:
        return True
    digest = hashlib.blake2b(span_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < rate * 2**64


def backoff_s(failures: int) -> int:
    """Seconds to wait after `failures` failed passes in a row: 30, 60, 120, … up to an hour."""
    return min(BACKOFF_BASE_S * 2 ** max(failures - 1, 0), BACKOFF_MAX_S)


def transient(exc: BaseException) -> bool:
    """An LLM endpoint that is down, overloaded or failing: worth retrying later, not a span's fault."""
    if isinstance(exc, LLMUnavailable):
        return True
    if isinstance(exc, LLMError) and not isinstance(exc, LLMOutputError):
        status = getattr(exc.__cause__, "status_code", None)
        return status is None or status == 429 or status >= 500
    return False


class _Halted(Exception):
    """Raised for the rest of a batch once the LLM endpoint failed: no point calling it again."""


@dataclass
class _Guard:
    """Shared by a batch's evaluators: the first transient failure stops every other call."""

    failure: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Guarded:
    """An evaluator whose non-transient errors become an error result instead of failing the batch."""

    inner: Evaluator
    guard: _Guard

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def evaluate(self, example: EvalInput) -> EvalResult:
        if self.guard.failure is not None:
            raise _Halted()
        try:
            return self.inner.evaluate(example)
        except Exception as exc:
            if transient(exc):
                with self.guard.lock:
                    self.guard.failure = self.guard.failure or exc
                raise
            result = EvalResult(self.inner.name, self.inner.version, self.inner.source, span_id=example.span_id)
            result.details["error"] = f"{type(exc).__name__}: {exc}"
            return result


@dataclass
class Computed:
    inputs: dict[str, EvalInput]
    results: list[EvalResult]
    skipped: list[dict[str, Any]]


@dataclass
class OnlineJob:
    """One rule as a `jobs.BatchJob`: items are (span_id, sampled) pairs, oldest first."""

    engine: Engine
    rule: dict[str, Any]
    evaluators: list[Evaluator]
    tracer: Any | None = None
    stop: threading.Event | None = None
    batch_size: int = BATCH
    evaluated: int = 0
    scanned: int = 0
    rate_limited: bool = False

    @property
    def name(self) -> str:
        return store.job_name(self.rule["name"])

    @property
    def project_id(self) -> int:
        return self.rule["project_id"]

    def start_cursor(self, last: dict[str, Any] | None) -> Any:
        """Every fresh pass scans from the start: the anti-join skips what is decided."""
        return None

    def backlog(self, cursor: Any) -> int | None:
        return store.count_pending(self.engine, self.rule, cursor)

    def _budget(self) -> int | None:
        limit = self.rule["max_per_minute"]
        if limit is None:
            return None
        return max(limit - store.evaluated_since(self.engine, self.rule["id"], now_us() - MINUTE_US), 0)

    def next_batch(self, cursor: Any) -> jobs.Batch[list[tuple[str, bool]]] | None:
        budget = self._budget()
        if (self.stop is not None and self.stop.is_set()) or budget == 0:
            self.rate_limited = budget == 0
            return None
        found = store.pending_spans(self.engine, self.rule, cursor, self.batch_size)
        items: list[tuple[str, bool]] = []
        for span_id, _start in found:
            take = sampled(span_id, self.rule["sampling_rate"])
            if take and budget is not None:
                if budget == 0:
                    self.rate_limited = True
                    break
                budget -= 1
            items.append((span_id, take))
        if not items:
            return None
        last = found[len(items) - 1]
        return jobs.Batch(items, len(items), [last[1], last[0]])

    def compute(self, batch: jobs.Batch[list[tuple[str, bool]]]) -> Computed:
        needs = {n for e in self.evaluators for n in e.requires}
        inputs = {sid: spans.load(self.engine, sid, needs) for sid, take in batch.items if take}
        guard = _Guard()
        todo = plan(inputs.values(), [_Guarded(e, guard) for e in self.evaluators], skip_missing=True)
        try:
            results = run_pairs(todo.pairs, self.tracer, workers_for(self.evaluators))
        except Exception:
            if guard.failure is not None:
                raise guard.failure from None
            raise
        return Computed(inputs, results, todo.skipped)

    def write(self, conn: Connection, batch: jobs.Batch[list[tuple[str, bool]]], result: Computed) -> None:
        by_span: dict[str, list[EvalResult]] = {}
        for r in result.results:
            by_span.setdefault(r.span_id or "", []).append(r)
        notes: dict[str, list[str]] = {}
        for s in result.skipped:
            notes.setdefault(s["span_id"], []).append(s["reason"])
        decisions = [_decision(sid, take, by_span.get(sid, []), notes.get(sid, [])) for sid, take in batch.items]
        recorded = store.decide(conn, self.rule["id"], decisions)
        rows = [self._feedback(result.inputs[r.span_id], r) for r in result.results
                if r.span_id in recorded and "error" not in r.details]
        store.insert_feedback(conn, self.project_id, rows)
        self.evaluated += sum(d["outcome"] == "evaluated" and d["span_id"] in recorded for d in decisions)
        self.scanned += batch.size

    def _feedback(self, example: EvalInput, result: EvalResult) -> dict[str, Any]:
        return {**result.feedback(), "span_id": example.span_id, "trace_id": example.trace_id,
                "details": {**details(result), "online_rule": self.rule["name"]}}


def _decision(span_id: str, take: bool, results: list[EvalResult], skipped: list[str]) -> dict[str, Any]:
    if not take:
        return {"span_id": span_id, "outcome": "unsampled"}
    errors = [f"{r.evaluator}: {r.details['error']}" for r in results if "error" in r.details]
    ok = len(results) - len(errors)
    outcome = "evaluated" if ok else "error" if errors else "skipped"
    note = "; ".join(errors + skipped) or None
    return {"span_id": span_id, "outcome": outcome, "note": note[:2000] if note else None}


def _claim(rule_id: int) -> bool:
    with _lock:
        if rule_id in _running:
            return False
        _running.add(rule_id)
        return True


def _release(rule_id: int) -> None:
    with _lock:
        _running.discard(rule_id)


def is_running(rule_id: int) -> bool:
    with _lock:
        return rule_id in _running


def run_rule(engine: Engine, rule: dict[str, Any], *, llm: LLM | None = None, tracer: Any | None = None,
             stop: threading.Event | None = None, force: bool = False) -> dict[str, Any]:
    """One pass of one rule. Without `force` a disabled rule, or one still backing off, is left alone."""
    summary: dict[str, Any] = {"rule": rule["name"], "project": rule["project"], "evaluated": 0, "scanned": 0,
                               "rate_limited": False, "error": None, "next_attempt_us": rule["next_attempt_us"]}
    if not force and not rule["enabled"]:
        return {**summary, "outcome": "disabled"}
    if not force and rule["next_attempt_us"] and rule["next_attempt_us"] > now_us():
        return {**summary, "outcome": "backing_off", "error": rule["last_error"]}
    if not _claim(rule["id"]):
        return {**summary, "outcome": "busy"}
    job: OnlineJob | None = None
    try:
        evaluators = judge_prompts.bind(registry.resolve(rule["evaluators"], llm),
                                        judge_prompts.Local(engine, rule["project"]))
        job = OnlineJob(engine, rule, evaluators, tracer, stop)
        jobs.run_job(engine, job)
    except Exception as exc:  # noqa: BLE001 - any failure backs the rule off; the message says why
        failed_at, error = now_us(), f"{type(exc).__name__}: {exc}"
        retry_at = failed_at + backoff_s(rule["failures"] + 1) * 1_000_000
        store.record_attempt(engine, rule["id"], failed_at, error, retry_at)
        log.warning("online eval rule %r of project %r failed (retry at %s): %s", rule["name"], rule["project"],
                    retry_at, error)
        return {**summary, "outcome": "failed", "error": error, "next_attempt_us": retry_at,
                "evaluated": job.evaluated if job else 0, "scanned": job.scanned if job else 0}
    finally:
        _release(rule["id"])
    store.record_attempt(engine, rule["id"], now_us(), None, None)
    return {**summary, "outcome": "ok", "evaluated": job.evaluated, "scanned": job.scanned,
            "rate_limited": job.rate_limited, "next_attempt_us": None}


def run_pass(engine: Engine, project: str | None = None, name: str | None = None, *, force: bool = False,
             llm: LLM | None = None, tracing: JudgeTracing | None = None,
             stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """Run the rules of `project` (all projects when None; one rule when `name`) once, in turn.

    The scheduler calls this without `force`: disabled and backing-off rules wait. A pass by hand
    (`tenbin eval online run`, REST `/run`) forces: it runs the named or enabled rules right away."""
    if name is not None:
        rules = [store.get_rule(engine, project or "default", name)]
    else:
        rules = store.list_rules(engine, project, enabled_only=True)
    out = []
    try:
        for rule in rules:
            if stop is not None and stop.is_set():
                break
            out.append(run_rule(engine, rule, llm=llm, tracer=tracing.tracer if tracing else None, stop=stop,
                                force=force))
    finally:
        if tracing is not None:
            tracing.flush()
    return out
