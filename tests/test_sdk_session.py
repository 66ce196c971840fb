"""Sessions, users, metadata and tags propagated by context to every span started inside."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

import tenbin
from tenbin.store.models import Span
from tests.conftest import RunningServer


@pytest.fixture
def sdk(server: RunningServer) -> Iterator[RunningServer]:
    assert tenbin.init(server.url, project="sessions")
    yield server
    tenbin.shutdown()


def rows(engine: Engine) -> list[Span]:
    assert tenbin.flush()
    with engine.connect() as conn:
        return list(conn.execute(select(Span).order_by(Span.start_us)))


@tenbin.trace
def retrieve(q: str) -> str:
    return q


@tenbin.trace(kind="agent")
def turn(q: str) -> str:
    return retrieve(q)


def test_each_trace_in_a_session_gets_the_next_step_and_every_span_the_ids(sdk, engine) -> None:
    with tenbin.session("chat-1", user_id="ann"):
        for q in ("hi", "refund?", "thanks"):
            turn(q)
    spans = rows(engine)
    roots = [s for s in spans if s.parent_id is None]
    assert [(r.input_value, r.session_step) for r in roots] == [("hi", 1), ("refund?", 2), ("thanks", 3)]
    assert {(s.session_id, s.user_id) for s in spans} == {("chat-1", "ann")}
    assert all(s.session_step is None for s in spans if s.parent_id is not None)


def test_steps_continue_when_the_session_is_entered_again_per_request(sdk, engine) -> None:
    for q in ("one", "two"):
        with tenbin.session("chat-2"):
            turn(q)
    with tenbin.session("other"):
        turn("elsewhere")
    steps = [(s.session_id, s.session_step) for s in rows(engine) if s.parent_id is None]
    assert steps == [("chat-2", 1), ("chat-2", 2), ("other", 1)]


def test_a_session_entered_inside_a_trace_numbers_its_first_spans(sdk, engine) -> None:
    with tenbin.span("http-request"):
        with tenbin.session("chat-3"):
            turn("inner")
    by_name = {s.name: s for s in rows(engine)}
    assert by_name["http-request"].session_id is None
    assert (by_name["turn"].session_id, by_name["turn"].session_step) == ("chat-3", 1)
    assert by_name["retrieve"].session_step is None


def test_metadata_and_tags_merge_from_contexts_and_arguments(sdk, engine) -> None:
    @tenbin.trace(metadata={"stage": "rank"}, tags=["beta"])
    def rank() -> int:
        return retrieve("x") and 1

    with tenbin.metadata(task="billing", tier="pro"), tenbin.tags("prod"):
        with tenbin.metadata(tier="free"), tenbin.tags("eu", "prod"):
            rank()
    by_name = {s.name: s for s in rows(engine)}
    assert by_name["rank"]._mapping["metadata"] == {"task": "billing", "tier": "free", "stage": "rank"}
    assert by_name["rank"].tags == ["prod", "eu", "beta"]
    assert by_name["retrieve"]._mapping["metadata"] == {"task": "billing", "tier": "free"}
    assert by_name["retrieve"].tags == ["prod", "eu"]


def test_sessions_stay_apart_across_threads_and_asyncio_tasks(sdk, engine) -> None:
    def in_thread(sid: str) -> None:
        with tenbin.session(sid):
            turn(sid)

    async def in_task(sid: str) -> None:
        with tenbin.session(sid):
            await asyncio.sleep(0)
            turn(sid)

    async def both() -> None:
        await asyncio.gather(in_task("task-a"), in_task("task-b"))

    threads = [threading.Thread(target=in_thread, args=(f"thread-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    asyncio.run(both())
    spans = rows(engine)
    assert all(s.session_id == s.input_value for s in spans)
    assert {s.session_id for s in spans} == {"thread-0", "thread-1", "task-a", "task-b"}


def test_bad_session_id_is_refused_with_what_to_pass() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        tenbin.session("")
