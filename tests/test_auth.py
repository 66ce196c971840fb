"""API keys with TENBIN_AUTH=1: write keys ingest, read keys query, each only its own project."""

from __future__ import annotations

import httpx
import pytest

from tenbin.client import Client
from tenbin.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from tenbin.server.app import create_app
from tenbin.store.keys import create_key
from tests.conftest import RunningServer
from tests.otlp_data import make_request, make_span

PB = {"content-type": "application/x-protobuf"}


def send(srv: RunningServer, key: str | None, project: str | None = None) -> httpx.Response:
    headers = {**PB, **({"authorization": f"Bearer {key}"} if key else {})}
    body = make_request([make_span(attrs={"openinference.span.kind": "LLM"})], project).SerializeToString()
    return httpx.post(f"{srv.url}/v1/traces", content=body, headers=headers)


@pytest.fixture
def secured(engine):  # type: ignore[no-untyped-def]
    with RunningServer(create_app(engine=engine, auth=True)) as srv:
        yield srv


def test_ingest_needs_a_write_key_and_lands_in_its_project(secured, engine) -> None:
    write_a = create_key(engine, "a", "write")
    read_a = create_key(engine, "a", "read")
    assert send(secured, None).status_code == 401
    assert send(secured, "tb_wrong").status_code == 401
    assert send(secured, read_a).status_code == 403
    assert send(secured, write_a).status_code == 200
    with Client(secured.url, read_a) as c:
        assert len(c.spans("a")) == 1


def test_key_of_project_a_cannot_touch_project_b(secured, engine) -> None:
    key_a = create_key(engine, "a")
    key_b = create_key(engine, "b")
    assert send(secured, key_b).status_code == 200
    assert send(secured, key_a, project="b").status_code == 403
    with Client(secured.url, key_b) as b:
        span = b.spans("b")[0]
    with Client(secured.url, key_a) as a:
        with pytest.raises(Forbidden):
            a.spans("b")
        with pytest.raises(NotFound):
            a.trace(span["trace_id"])
        with pytest.raises(NotFound):
            a.feedback(span["span_id"], kind="thumbs", value=0)
        assert [p["name"] for p in a.projects()] == ["a"]
    with Client(secured.url) as anonymous, pytest.raises(Unauthorized):
        anonymous.projects()


def test_keys_are_stored_hashed_and_scopes_checked(engine) -> None:
    key = create_key(engine, "a", "read")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("select key_hash, prefix from api_keys").one()
    assert key not in stored.key_hash and stored.key_hash != key and key.startswith(stored.prefix)
    with pytest.raises(InvalidInput, match="scopes"):
        create_key(engine, "a", "admin")


def test_calibrating_a_projects_judge_keeps_a_report_so_needs_a_write_key(secured, engine) -> None:
    read_a = create_key(engine, "a", "read")
    response = httpx.post(f"{secured.url}/api/v1/evals/calibrate", json={"judge": "toxicity", "project": "a"},
                          headers={"authorization": f"Bearer {read_a}"})
    assert response.status_code == 403 and "needs 'write'" in response.json()["detail"]
