"""Annotation queues over REST (through `tenbin.Client`) on SQLite and PostgreSQL: configs, queues,
items by filter and id, next/complete/skip, the answers on the span and in eval metrics, bad input
as 400/404 with nothing stored, two reviewers racing for the next item, key scopes; and `tenbin queues`."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.client import Client
from tenbin.errors import Forbidden, InvalidInput, NotFound
from tenbin.server.app import create_app
from tenbin.store.keys import create_key
from tenbin.store.models import AnnotationItem, Feedback
from tests.conftest import RunningServer
from tests.test_annotation_queues import P, count, race, spans


def setup_queue(c: Client) -> None:
    c.create_score_config("quality", "categorical", P, labels=["correct", "incorrect"], description="is it right?")
    c.create_score_config("accuracy", "numeric", P, min_value=0, max_value=10)
    c.create_score_config("helpful", "boolean", P)
    c.create_annotation_queue("review", ["quality", "accuracy", "helpful"], P, description="weekly")


def test_a_queue_filled_by_filter_and_ids_is_reviewed_into_human_feedback(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = spans(engine, 5)
    with Client(server.url) as c:
        setup_queue(c)
        assert c.add_to_queue("review", P, filter='input == "question 3" or input == "question 4"')["added"] == 2
        assert c.add_to_queue("review", P, span_ids=ids[3:5] + ids[:1]) == {"queue": "review", "added": 1, "already": 2}
        assert [i["span_id"] for i in c.queue_items("review", P)] == [ids[3], ids[4], ids[0]]

        taken = c.next_queue_item("review", "alice", P)
        assert taken["item"]["span_id"] == ids[3] and taken["span"]["input_value"] == "question 3"
        assert c.next_queue_item("review", "bob", P)["item"]["span_id"] == ids[4]
        done = c.complete_queue_item("review", taken["item"]["id"], "alice",
                                     {"quality": "incorrect", "accuracy": 2, "helpful": False}, P, comment="wrong plan")
        assert (done["status"], done["completed_by"], done["feedback"]) == ("done", "alice", 4)
        feedback = {f["name"]: f for f in c.span(ids[3])["feedback"]}
        assert {(n, f["source"], f["author"]) for n, f in feedback.items()} == \
            {(n, "human", "alice") for n in ("quality", "accuracy", "helpful", "comment")}
        assert (feedback["quality"]["label"], feedback["accuracy"]["value"], feedback["helpful"]["value"]) == \
            ("incorrect", 2.0, 0.0)
        quality = {e["name"]: e for e in c.eval_metrics(P)["evaluators"]}["quality"]
        assert quality["sources"] == ["human"] and quality["labels"][0]["label"] == "incorrect"

        skipped = c.skip_queue_item("review", c.next_queue_item("review", "alice", P)["item"]["id"], "alice", P)
        assert (skipped["span_id"], skipped["status"]) == (ids[0], "skipped")
        assert c.next_queue_item("review", "alice", P) == {"item": None, "span": None}
        [queue] = c.annotation_queues(P)
        assert queue["progress"] == {"pending": 1, "done": 1, "skipped": 1, "total": 3}
        assert [i["span_id"] for i in c.queue_items("review", P, status="done")] == [ids[3]]


def test_bad_input_is_refused_clearly_and_changes_nothing(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = spans(engine, 2)
    with Client(server.url) as c:
        setup_queue(c)
        c.add_to_queue("review", P, span_ids=ids)
        item = c.next_queue_item("review", "alice", P)["item"]["id"]
        with pytest.raises(InvalidInput, match="'quality' takes one of the labels correct, incorrect; got 'great'"):
            c.complete_queue_item("review", item, "alice", {"quality": "great", "accuracy": 5}, P)
        with pytest.raises(InvalidInput, match="'accuracy' takes a number from 0 to 10; got 11"):
            c.complete_queue_item("review", item, "alice", {"accuracy": 11}, P)
        with pytest.raises(NotFound, match="no annotation queue named 'nope'"):
            c.next_queue_item("nope", "alice", P)
        with pytest.raises(NotFound, match="has no item 12345"):
            c.complete_queue_item("review", 12345, "alice", {"helpful": True}, P)
        with pytest.raises(NotFound, match="no span with id 'abcdef'"):
            c.add_to_queue("review", P, span_ids=["abcdef"])
        with pytest.raises(InvalidInput, match="min_value must be below max_value"):
            c.create_score_config("stars", "numeric", P, min_value=5, max_value=1)
        with pytest.raises(InvalidInput, match="is being reviewed by alice"):
            c.complete_queue_item("review", item, "bob", {"helpful": True}, P)
        assert count(engine, Feedback) == 0
        c.complete_queue_item("review", item, "alice", {"helpful": True}, P)
        with pytest.raises(InvalidInput, match="already done"):
            c.complete_queue_item("review", item, "alice", {"helpful": False}, P)
        assert count(engine, Feedback) == 1 and count(engine, AnnotationItem) == 2
        response = httpx.post(f"{server.url}/api/v1/projects/{P}/annotation-queues/review/next", json={})
        assert response.status_code == 422


def test_two_reviewers_asking_over_http_at_once_get_different_items(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = spans(engine, 6)
    with Client(server.url) as c:
        setup_queue(c)
        c.add_to_queue("review", P, span_ids=ids)
    url = f"{server.url}/api/v1/projects/{P}/annotation-queues/review/next"
    for i in range(3):
        got = race([lambda r=r: httpx.post(url, json={"reviewer": r}).json()["item"] for r in (f"ann{i}", f"ben{i}")])
        assert got[0]["id"] != got[1]["id"], got
    assert httpx.post(url, json={"reviewer": "cat"}).json()["item"] is None


def test_reviewing_needs_a_write_key_of_the_queue_project(engine: Engine) -> None:
    spans(engine, 1)
    with RunningServer(create_app(engine=engine, auth=True)) as srv:
        with Client(srv.url, create_key(engine, P, "read,write")) as writer:
            setup_queue(writer)
        with Client(srv.url, create_key(engine, P, "read")) as reader:
            assert reader.annotation_queue("review", P)["progress"]["total"] == 0
            with pytest.raises(Forbidden, match="needs 'write'"):
                reader.next_queue_item("review", "alice", P)
        with Client(srv.url, create_key(engine, "other", "read,write")) as stranger, \
                pytest.raises(Forbidden, match="not 'shop'"):
            stranger.annotation_queues(P)


def cli(server, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["queues", *args, "--endpoint", server.url, "--project", P], env={"COLUMNS": "220"})


def test_cli_creates_fills_lists_and_shows_a_queue(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = spans(engine, 3)
    assert "quality (correct | incorrect)" in cli(server, "config", "quality", "-t", "categorical", "-l",
                                                  "correct,incorrect").output
    assert "stars (1–5)" in cli(server, "config", "stars", "--type", "numeric", "--min", "1", "--max", "5").output
    refused = cli(server, "config", "bad", "-t", "numeric", "--min", "5", "--max", "1")
    assert refused.exit_code == 1 and "min_value must be below max_value" in refused.output
    assert "queue 'review' created" in cli(server, "create", "review", "-c", "quality,stars").output
    assert "added 2 span(s)" in cli(server, "add", "review", "--span", ids[0], "--span", ids[1]).output
    added = cli(server, "add", "review", "-f", 'kind == "LLM"')
    assert "added 1 span(s) to 'review'; 2 were already in it" in added.output
    missing = cli(server, "add", "nope", "--span", ids[0])
    assert missing.exit_code == 1 and "no annotation queue named 'nope'" in missing.output
    with Client(server.url) as c:
        item = c.next_queue_item("review", "alice", P)["item"]
        c.complete_queue_item("review", item["id"], "alice", {"stars": 4}, P)
    listed = cli(server, "list").output
    assert "review" in listed and "quality, stars" in listed
    shown = cli(server, "show", "review").output
    assert "1 done, 0 skipped, 2 pending of 3" in shown and "alice" in shown and ids[2] in shown
    assert [i["status"] for i in json.loads(cli(server, "show", "review", "--json").output)["items"]] == \
        ["done", "pending", "pending"]
