"""Annotation queues in the store, on SQLite and PostgreSQL: score configs checked, items added by
span id, trace and filter, next item with leases (and the race between reviewers), answers stored
as human feedback, bad answers and repeated completions refused with nothing changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tenbin.errors import InvalidInput, NotFound
from tenbin.store import annotation_queues as queues
from tenbin.store import score_configs as configs
from tenbin.store.lookup import now_us
from tenbin.store.models import AnnotationItem, Feedback, ScoreConfig
from tenbin.store.queries import get_span
from tests.embed_helpers import llm_row, store_rows

P = "shop"


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def spans(engine: Engine, n: int) -> list[str]:
    """`n` LLM spans of project P, each a root span of its own trace, oldest first."""
    t0 = now_us() - n * 1000
    rows = [llm_row(f"question {i}", f"answer {i}", t0 + i * 1000) for i in range(n)]
    store_rows(engine, rows, project=P)
    return [r["span_id"] for r in rows]


def review_setup(engine: Engine) -> None:
    """The three kinds of config and queue `review` asking for all of them."""
    configs.create_config(engine, P, "quality", "categorical", labels=["correct", "incorrect", "partially"])
    configs.create_config(engine, P, "accuracy", "numeric", min_value=1, max_value=5, description="1 bad, 5 exact")
    configs.create_config(engine, P, "helpful", "boolean")
    queues.create_queue(engine, P, "review", ["quality", "accuracy", "helpful"], "weekly sample")


@pytest.fixture
def queue(engine: Engine) -> list[str]:
    """Queue `review` holding four spans; their ids in review order."""
    ids = spans(engine, 4)
    review_setup(engine)
    assert queues.add_items(engine, P, "review", span_ids=ids)["added"] == 4
    return ids


@pytest.mark.parametrize(("args", "message"), [
    (("q", "categorical"), "needs 2 to 50 labels"),
    (("q", "categorical", {"labels": ["a", "a"]}), "labels must differ; a given more than once"),
    (("q", "numeric", {"min_value": 5, "max_value": 1}), "min_value must be below max_value"),
    (("q", "numeric", {"min_value": 1}), "max_value must be a number"),
    (("q", "boolean", {"labels": ["x", "y"]}), "only categorical configs take labels"),
    (("q", "stars"), "type must be one of categorical, numeric, boolean"),
    (("  ", "boolean"), "needs a name of 1 to 200 characters"),
])
def test_bad_score_configs_are_refused_and_nothing_is_stored(engine: Engine, args: tuple[Any, ...],
                                                             message: str) -> None:
    name, kind, extra = (*args, {})[:3]
    with pytest.raises(InvalidInput, match=message):
        configs.create_config(engine, P, name, kind, **extra)
    assert count(engine, ScoreConfig) == 0


def test_configs_are_listed_by_name_and_a_taken_name_is_refused(engine: Engine) -> None:
    review_setup(engine)
    listed = configs.list_configs(engine, P)
    assert [(c["name"], c["type"]) for c in listed] == [("accuracy", "numeric"), ("helpful", "boolean"),
                                                        ("quality", "categorical")]
    assert configs.get_config(engine, P, "quality")["labels"] == ["correct", "incorrect", "partially"]
    with pytest.raises(InvalidInput, match="already has a score config named 'helpful'"):
        configs.create_config(engine, P, "helpful", "boolean")
    with pytest.raises(NotFound, match="score configs are: accuracy, helpful, quality"):
        queues.create_queue(engine, P, "other", ["quality", "tone"])
    with pytest.raises(InvalidInput, match="already has an annotation queue named 'review'"):
        queues.create_queue(engine, P, "review", ["quality"])
    assert [q["name"] for q in queues.list_queues(engine, P)] == ["review"]
    assert [c["name"] for c in queues.get_queue(engine, P, "review")["configs"]] == ["quality", "accuracy", "helpful"]


def test_items_come_from_span_ids_traces_and_a_filter_and_none_twice(engine: Engine) -> None:
    ids = spans(engine, 6)
    store_rows(engine, [{**llm_row("elsewhere", "x", now_us()), "kind": "TOOL"}], project="other")
    review_setup(engine)
    assert queues.add_items(engine, P, "review", span_ids=ids[:2]) == {"queue": "review", "added": 2, "already": 0}
    trace = get_span(engine, ids[2])["trace_id"]
    assert queues.add_items(engine, P, "review", span_ids=ids[1:2], trace_ids=[trace])["added"] == 1
    added = queues.add_items(engine, P, "review", filter='input == "question 5" or input == "question 0"')
    assert (added["added"], added["already"]) == (1, 1)
    items = queues.list_items(engine, P, "review").items
    assert [i["span_id"] for i in items] == [ids[0], ids[1], ids[2], ids[5]]
    assert items[0]["input_preview"] == "question 0" and items[0]["status"] == "pending"

    with pytest.raises(NotFound, match="no span with id 'ffff'"):
        queues.add_items(engine, P, "review", span_ids=[ids[3], "ffff"])
    with pytest.raises(NotFound, match="no trace with id"):
        queues.add_items(engine, P, "review", trace_ids=["0" * 32])
    with pytest.raises(InvalidInput, match="match the filter"):
        queues.add_items(engine, P, "review", filter='input == "nobody asked"')
    with pytest.raises(InvalidInput, match="say which spans to add"):
        queues.add_items(engine, P, "review")
    with pytest.raises(NotFound, match="no annotation queue named 'reveiw'; annotation queues are: review"):
        queues.add_items(engine, P, "reveiw", span_ids=ids[3:4])
    assert count(engine, AnnotationItem) == 4


def test_next_leases_the_oldest_free_item_and_completing_stores_human_feedback(engine: Engine, queue: list[str]) -> None:
    first = queues.next_item(engine, P, "review", "alice")
    assert (first["span_id"], first["reviewer"]) == (queue[0], "alice")
    assert queues.next_item(engine, P, "review", "alice")["id"] == first["id"]
    assert queues.next_item(engine, P, "review", "bob")["span_id"] == queue[1]

    done = queues.complete_item(engine, P, "review", first["id"], "alice",
                                {"quality": "partially", "accuracy": "4.5", "helpful": True}, comment="close enough")
    assert (done["status"], done["completed_by"], done["feedback"]) == ("done", "alice", 4)
    feedback = {f["name"]: f for f in get_span(engine, queue[0])["feedback"]}
    assert set(feedback) == {"quality", "accuracy", "helpful", "comment"}
    assert all(f["source"] == "human" and f["author"] == "alice" for f in feedback.values())
    assert (feedback["quality"]["kind"], feedback["quality"]["label"]) == ("label", "partially")
    assert (feedback["accuracy"]["kind"], feedback["accuracy"]["value"]) == ("score", 4.5)
    assert (feedback["helpful"]["kind"], feedback["helpful"]["value"]) == ("thumbs", 1.0)
    assert feedback["comment"]["comment"] == "close enough"
    assert feedback["quality"]["details"] == {"annotation_queue": "review", "item": first["id"]}

    assert queues.next_item(engine, P, "review", "alice")["span_id"] == queue[2]
    skipped = queues.skip_item(engine, P, "review", queues.next_item(engine, P, "review", "alice")["id"], "alice")
    assert (skipped["status"], skipped["completed_by"]) == ("skipped", "alice")
    assert queues.get_queue(engine, P, "review")["progress"] == {"pending": 2, "done": 1, "skipped": 1, "total": 4}
    assert [i["span_id"] for i in queues.list_items(engine, P, "review", status="pending").items] == queue[1::2]


def test_a_lease_that_ran_out_frees_the_item_for_another_reviewer(engine: Engine, queue: list[str]) -> None:
    taken = queues.next_item(engine, P, "review", "alice", lease_seconds=0)
    assert queues.next_item(engine, P, "review", "bob")["id"] == taken["id"]
    with pytest.raises(InvalidInput, match="is being reviewed by bob until"):
        queues.complete_item(engine, P, "review", taken["id"], "alice", {"helpful": "no"})
    assert count(engine, Feedback) == 0


@pytest.mark.parametrize(("answers", "message"), [
    ({"quality": "great"}, "'quality' takes one of the labels correct, incorrect, partially; got 'great'"),
    ({"accuracy": 7}, "'accuracy' takes a number from 1 to 5; got 7"),
    ({"accuracy": "lots"}, "'accuracy' must be a number"),
    ({"helpful": "maybe"}, "'helpful': answer true or false"),
    ({"quality": "correct", "tone": "warm"}, "this queue does not score 'tone'"),
    ({}, "answer at least one of quality, accuracy, helpful"),
])
def test_bad_answers_store_nothing_and_leave_the_item_pending(engine: Engine, queue: list[str],
                                                             answers: dict[str, Any], message: str) -> None:
    item = queues.next_item(engine, P, "review", "alice")
    with pytest.raises(InvalidInput, match=message):
        queues.complete_item(engine, P, "review", item["id"], "alice", answers)
    assert count(engine, Feedback) == 0
    assert queues.get_item(engine, P, "review", item["id"])["status"] == "pending"


def test_completing_twice_or_an_unknown_item_changes_nothing(engine: Engine, queue: list[str]) -> None:
    item = queues.next_item(engine, P, "review", "alice")
    queues.complete_item(engine, P, "review", item["id"], "alice", {"quality": "correct"})
    with pytest.raises(InvalidInput, match=f"item {item['id']} is already done \\(by alice at"):
        queues.complete_item(engine, P, "review", item["id"], "bob", {"quality": "incorrect"})
    with pytest.raises(InvalidInput, match="already done"):
        queues.skip_item(engine, P, "review", item["id"], "alice")
    with pytest.raises(NotFound, match="annotation queue 'review' has no item 999"):
        queues.complete_item(engine, P, "review", 999, "alice", {"quality": "correct"})
    with pytest.raises(InvalidInput, match="the reviewer must be 1 to 200 characters"):
        queues.next_item(engine, P, "review", " ")
    assert count(engine, Feedback) == 1


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released at the same moment; their results in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_reviewers_asking_at_the_same_moment_never_get_the_same_item(engine: Engine) -> None:
    ids = spans(engine, 24)
    review_setup(engine)
    queues.add_items(engine, P, "review", span_ids=ids)
    for round_ in range(3):
        reviewers = [f"r{round_}-{i}" for i in range(8)]
        got = race([lambda r=r: queues.next_item(engine, P, "review", r) for r in reviewers])
        assert [g["reviewer"] for g in got] == reviewers
        assert len({g["id"] for g in got}) == 8, got
    assert queues.next_item(engine, P, "review", "late") is None
