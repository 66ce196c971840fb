"""Online eval rules in-process, on SQLite and PostgreSQL: sampling by span-id hash, the filter,
never twice, late spans, back-off while the LLM is down (and recovery), the per-minute limit."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, func, select

from tenbin.evals import code, online
from tenbin.evals import online_rules as rules
from tenbin.llm import LLM
from tenbin.llm.scripted import create_scripted_app
from tenbin.loopback import LoopbackServer, free_port
from tenbin.store.lookup import now_us
from tenbin.store.models import Feedback
from tenbin.store.models.online_evals import OnlineEvalSpan
from tests.embed_helpers import llm_row, store_rows

P = "shop"


def spans(engine: Engine, n: int, start_us: int | None = None, **fields: Any) -> list[str]:
    """Store `n` LLM spans (JSON output on even ones) starting at `start_us` (default now); their ids."""
    t0 = start_us if start_us is not None else now_us()
    rows = [{**llm_row(f"question {i}", '{"ok": true}' if i % 2 == 0 else "plain text", t0 + i), **fields}
            for i in range(n)]
    store_rows(engine, rows, project=P)
    return [r["span_id"] for r in rows]


def feedback_of(engine: Engine, name: str | None = None) -> list[dict[str, Any]]:
    stmt = select(Feedback.span_id, Feedback.name, Feedback.label, Feedback.source, Feedback.details)
    if name:
        stmt = stmt.where(Feedback.name == name)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def outcomes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(OnlineEvalSpan.span_id, OnlineEvalSpan.outcome)).tuples().all())


def test_sampling_rate_is_within_binomial_tolerance_and_reruns_evaluate_nothing_twice(engine: Engine) -> None:
    ids = spans(engine, 2000)
    rules.create(engine, P, "quarter", evaluators=["json_valid"], sampling_rate=0.25, backfill=True)
    expected = {s for s in ids if online.sampled(s, 0.25)}
    assert rules.get(engine, P, "quarter")["backlog"] == len(expected)

    [first] = online.run_pass(engine, P)
    n, p = 2000, 0.25
    assert first["scanned"] == n and abs(first["evaluated"] - n * p) <= 4 * math.sqrt(n * p * (1 - p))
    stored = feedback_of(engine)
    assert {f["span_id"] for f in stored} == expected and len(stored) == len(expected)
    assert all(f["details"]["online_rule"] == "quarter" and f["source"] == "code" for f in stored)

    [again] = online.run_pass(engine, P)
    assert again["evaluated"] == 0 and len(feedback_of(engine)) == len(expected)
    status = rules.get(engine, P, "quarter")
    assert (status["evaluated"], status["unsampled"], status["backlog"], status["pending"]) == \
        (len(expected), 2000 - len(expected), 0, 0)


def test_a_higher_rate_keeps_every_span_a_lower_rate_picked() -> None:
    ids = [f"{i:016x}" for i in range(500)]
    low = {s for s in ids if online.sampled(s, 0.1)}
    assert low <= {s for s in ids if online.sampled(s, 0.3)} and 20 <= len(low) <= 80


def test_only_spans_matching_the_filter_are_evaluated(engine: Engine) -> None:
    llm = spans(engine, 6)
    chains = spans(engine, 6, kind="CHAIN")
    rules.create(engine, P, "llm-only", evaluators=["json_valid"], filter='kind == "LLM"', backfill=True)
    online.run_pass(engine, P)
    assert {f["span_id"] for f in feedback_of(engine)} == set(llm)
    assert set(outcomes(engine)) == set(llm) and not set(chains) & set(outcomes(engine))


def test_spans_before_the_rule_are_left_alone_but_a_late_arriving_span_is_evaluated(engine: Engine) -> None:
    old = spans(engine, 3, start_us=now_us() - 3_600_000_000)
    rule = rules.create(engine, P, "new", evaluators=["json_valid"])
    fresh = spans(engine, 3, start_us=rule["since_us"] + 1_000_000)
    online.run_pass(engine, P)
    late = spans(engine, 1, start_us=rule["since_us"] + 10)  # started before the evaluated ones, stored after them
    online.run_pass(engine, P)
    assert {f["span_id"] for f in feedback_of(engine)} == {*fresh, *late}
    assert not set(old) & set(outcomes(engine))


def _judge(messages: list[dict[str, Any]]) -> str:
    return '{"label": "relevant", "explanation": "it answers"}'


@pytest.fixture
def flaky_model() -> Iterator[dict[str, Any]]:
    """A scripted model that answers `state["status"]` (503 unless changed) while `state["down"]` is true."""
    state: dict[str, Any] = {"down": True, "status": 503}
    app = create_scripted_app(_judge)

    @app.middleware("http")
    async def unavailable(request: Request, call_next: Any) -> Any:
        if state["down"]:
            body = {"error": {"message": "overloaded", "type": "server_error"}}
            return JSONResponse(body, status_code=state["status"], headers={"Retry-After": "1"})
        return await call_next(request)

    with LoopbackServer(app) as srv:
        state["llm"] = LLM(f"{srv.url}/v1", "scripted-1", max_retries=0)
        yield state


def test_llm_down_backs_off_exponentially_keeps_the_backlog_and_recovers(engine: Engine, flaky_model) -> None:  # type: ignore[no-untyped-def]
    first = spans(engine, 4)
    rules.create(engine, P, "judged", evaluators=["json_valid", "answer_relevance"], backfill=True)
    [failed] = online.run_pass(engine, P, llm=flaky_model["llm"])
    assert failed["outcome"] == "failed" and "503" in failed["error"]
    rule = rules.get(engine, P, "judged")
    assert rule["failures"] == 1 and rule["state"] == "backing_off" and "503" in rule["last_error"]
    assert rule["next_attempt_us"] - rule["last_attempt_us"] == online.backoff_s(1) * 1_000_000
    assert feedback_of(engine) == [] and rule["backlog"] == 4

    spans(engine, 3)
    assert online.run_pass(engine, P, llm=flaky_model["llm"])[0]["outcome"] == "backing_off"
    stopped = LLM(f"http://127.0.0.1:{free_port()}/v1", "scripted-1", max_retries=0)
    [refused] = online.run_pass(engine, P, force=True, llm=stopped)
    assert "LLMUnavailable" in refused["error"]
    rule = rules.get(engine, P, "judged")
    assert rule["failures"] == 2 and rule["backlog"] == 7 and rule["evaluated"] == 0
    assert rule["next_attempt_us"] - rule["last_attempt_us"] == online.backoff_s(2) * 1_000_000 == 2 * online.backoff_s(1) * 1_000_000

    flaky_model["down"] = False
    [ok] = online.run_pass(engine, P, force=True, llm=flaky_model["llm"])
    assert ok["outcome"] == "ok" and ok["evaluated"] == 7
    rule = rules.get(engine, P, "judged")
    assert (rule["failures"], rule["last_error"], rule["next_attempt_us"], rule["backlog"]) == (0, None, None, 0)
    judged = feedback_of(engine, "answer_relevance")
    assert {f["span_id"] for f in judged} >= set(first) and {f["label"] for f in judged} == {"relevant"}


def test_the_models_own_rate_limit_429_backs_the_rule_off_with_the_backlog_kept(engine: Engine, flaky_model) -> None:  # type: ignore[no-untyped-def]
    flaky_model["status"] = 429
    spans(engine, 3)
    rules.create(engine, P, "limited", evaluators=["answer_relevance"], backfill=True)
    [limited] = online.run_pass(engine, P, llm=flaky_model["llm"])
    assert limited["outcome"] == "failed" and "429" in limited["error"]
    rule = rules.get(engine, P, "limited")
    assert (rule["state"], rule["failures"], rule["backlog"], rule["evaluated"]) == ("backing_off", 1, 3, 0)
    assert feedback_of(engine) == []
    flaky_model["down"] = False
    [ok] = online.run_pass(engine, P, force=True, llm=flaky_model["llm"])
    assert (ok["outcome"], ok["evaluated"], rules.get(engine, P, "limited")["backlog"]) == ("ok", 3, 0)


def test_rate_limit_caps_spans_evaluated_per_minute(engine: Engine) -> None:
    spans(engine, 20)
    rules.create(engine, P, "capped", evaluators=["json_valid"], max_per_minute=7, backfill=True)
    [first] = online.run_pass(engine, P)
    assert first["evaluated"] == 7 and first["rate_limited"]
    [second] = online.run_pass(engine, P)
    assert second["evaluated"] == 0
    rule = rules.get(engine, P, "capped")
    assert (rule["evaluated"], rule["backlog"], rule["state"]) == (7, 13, "rate_limited")


def test_an_evaluator_error_marks_that_span_and_the_rule_carries_on(engine: Engine) -> None:
    @code.register("picky_online_check")
    def picky(example: Any) -> bool:
        if "plain" in (example.output or ""):
            raise ValueError("cannot judge plain text")
        return True

    try:
        ids = spans(engine, 4)
        rules.create(engine, P, "picky", evaluators=["picky_online_check"], backfill=True)
        [result] = online.run_pass(engine, P)
    finally:
        code.USER.pop("picky_online_check", None)
    assert result["outcome"] == "ok"
    assert outcomes(engine) == {ids[0]: "evaluated", ids[1]: "error", ids[2]: "evaluated", ids[3]: "error"}
    assert {f["span_id"] for f in feedback_of(engine)} == {ids[0], ids[2]}
    assert rules.get(engine, P, "picky")["error"] == 2


def test_two_runners_racing_on_one_rule_store_each_result_once(engine: Engine) -> None:
    spans(engine, 5)
    rule = rules.create(engine, P, "raced", evaluators=["json_valid"], backfill=True)
    from tenbin.evals import registry
    from tenbin.store import online_rules as store
    from tenbin.store.engine import write_transaction

    stored = store.get_rule(engine, P, "raced")
    jobs = [online.OnlineJob(engine, stored, registry.resolve(rule["evaluators"])) for _ in range(2)]
    batches = [j.next_batch(None) for j in jobs]
    computed = [j.compute(b) for j, b in zip(jobs, batches)]
    for job, batch, result in zip(jobs, batches, computed):
        with write_transaction(engine) as conn:
            job.write(conn, batch, result)
    assert len(feedback_of(engine)) == 5 and (jobs[0].evaluated, jobs[1].evaluated) == (5, 0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OnlineEvalSpan)).scalar_one() == 5
