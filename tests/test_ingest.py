"""OTLP/HTTP ingest over real HTTP into SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import os

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from sqlalchemy import func, select

from tenbin.server.app import create_app
from tenbin.store.models import Project, Span, Trace
from tests.conftest import RunningServer
from tests.otlp_data import llm_attrs, make_request, make_span

PB = {"content-type": "application/x-protobuf"}


def count_spans(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Span)).scalar_one()


def post(server: RunningServer, body: bytes, headers: dict[str, str] = PB) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/traces", content=body, headers=headers, timeout=30)


def test_otel_sdk_exporter_spans_are_stored_with_openinference_columns(server, engine) -> None:
    provider = TracerProvider(resource=Resource({"openinference.project.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("agent", attributes={"openinference.span.kind": "AGENT"}):
        with tracer.start_as_current_span("llm", attributes=llm_attrs("refunds", session="s-1")):
            pass
    provider.shutdown()
    with engine.connect() as conn:
        llm = conn.execute(select(Span).where(Span.kind == "LLM")).one()
        project = conn.execute(select(Project.name).where(Project.id == llm.project_id)).scalar_one()
        agent = conn.execute(select(Span).where(Span.kind == "AGENT")).one()
        trace = conn.execute(select(Trace)).one()
    assert project == "shop"
    assert llm.parent_id == agent.span_id and agent.parent_id is None
    assert (llm.model, llm.prompt_tokens, llm.completion_tokens, llm.total_tokens) == ("gpt-4o-mini", 120, 30, 150)
    assert (llm.session_id, llm.user_id) == ("s-1", "u-1")
    assert (llm.prompt_name, llm.prompt_version) == ("support-answer", "3")
    assert llm.prompt_variables == {"question": "How do I get a refund?"}
    assert llm._mapping["metadata"] == {"task": "refunds"}
    messages = llm.attributes["llm.input_messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert llm.attributes["llm.output_messages"][0]["content"] == "Open Billing → Refunds."
    assert trace.root_span_id == agent.span_id and trace.session_id == "s-1"


def test_json_and_gzip_bodies_are_accepted(server, engine) -> None:
    span = make_span(attrs={"openinference.span.kind": "CHAIN"})
    body = {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "openinference.project.name", "value": {"stringValue": "j"}}]},
            "scopeSpans": [{"spans": [{
                "traceId": span.trace_id.hex(), "spanId": span.span_id.hex(), "name": "json-span",
                "startTimeUnixNano": str(span.start_time_unix_nano), "endTimeUnixNano": str(span.end_time_unix_nano),
                "kind": 1, "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "TOOL"}}],
            }]}],
        }]
    }
    r = post(server, json.dumps(body).encode(), {"content-type": "application/json"})
    assert r.status_code == 200, r.text
    gz = gzip.compress(make_request([make_span()]).SerializeToString())
    r = post(server, gz, {**PB, "content-encoding": "gzip"})
    assert r.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Span.kind).where(Span.name == "json-span")).scalar_one() == "TOOL"
    assert count_spans(engine) == 2


def test_resent_spans_are_idempotent(server, engine) -> None:
    body = make_request([make_span(), make_span()]).SerializeToString()
    assert post(server, body).status_code == 200
    assert post(server, body).status_code == 200
    assert count_spans(engine) == 2


def test_invalid_span_is_reported_in_partial_success_and_others_stored(server, engine) -> None:
    good = make_span(name="good")
    bad = make_span(name="bad")
    bad.end_time_unix_nano = bad.start_time_unix_nano - 1
    dup = make_span(name="dup", span_id=good.span_id)
    r = post(server, make_request([good, bad, dup]).SerializeToString())
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 2
    assert "'bad'" in resp.partial_success.error_message and "twice" in resp.partial_success.error_message
    with engine.connect() as conn:
        assert conn.execute(select(Span.name)).scalars().all() == ["good"]


def test_span_the_database_refuses_is_rejected_alone(server, engine) -> None:
    # PostgreSQL refuses NUL characters in text; SQLite stores them. Either way the good span lands.
    good, odd = make_span(name="good"), make_span(name="odd", attrs={"input.value": "a\x00b"})
    r = post(server, make_request([good, odd]).SerializeToString())
    assert r.status_code == 200
    rejected = ExportTraceServiceResponse.FromString(r.content).partial_success.rejected_spans
    assert count_spans(engine) == 2 - rejected
    assert rejected == (1 if engine.dialect.name == "postgresql" else 0)


def test_orphan_span_is_kept(server, engine) -> None:
    orphan = make_span(name="orphan", parent_id=os.urandom(8))
    assert post(server, make_request([orphan]).SerializeToString()).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Span.parent_id)).scalar_one() == orphan.parent_span_id.hex()
        assert conn.execute(select(Trace.root_span_id)).scalar_one() is None


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b"\x0a\xff\xff\xff", PB, 400, "protobuf"),
        (b"{not json", {"content-type": "application/json"}, 400, "JSON"),
        (b"{}", {"content-type": "text/plain"}, 415, "content type"),
        (b"\x1f\x8b garbage", {**PB, "content-encoding": "gzip"}, 400, "gzip"),
        (b"{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": \"zz\"}]}]}]}",
         {"content-type": "application/json"}, 400, "hex"),
    ],
)
def test_malformed_bodies_get_clear_errors_and_store_nothing(server, engine, body, headers, status, says) -> None:
    r = post(server, body, headers)
    assert r.status_code == status
    assert says in r.text
    assert count_spans(engine) == 0


def test_broken_utf8_in_attribute_value_is_refused(server, engine) -> None:
    raw = make_request([make_span(attrs={"input.value": "MARK"})]).SerializeToString()
    broken = raw.replace(b"MARK", b"\xff\xfeRK")
    r = post(server, broken)
    assert r.status_code == 400
    r = post(server, b'{"resourceSpans": "\xff"}', {"content-type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.text
    assert count_spans(engine) == 0


def test_oversized_body_gets_413(engine) -> None:
    with RunningServer(create_app(engine=engine, auth=False, max_body_bytes=2000)) as srv:
        big = make_request([make_span(attrs={"input.value": "x" * 5000})]).SerializeToString()
        assert post(srv, big).status_code == 413
        bomb = gzip.compress(b"\0" * 100_000)
        assert post(srv, bomb, {**PB, "content-encoding": "gzip"}).status_code == 413
    assert count_spans(engine) == 0


def test_full_queue_answers_429_with_retry_after(engine) -> None:
    app = create_app(engine=engine, auth=False, queue_max_spans=1)
    with RunningServer(app) as srv:
        app.state.ingestor.stop()  # no writer: the first request stays queued
        app.state.ingestor._queued = 1
        r = post(srv, make_request([make_span()]).SerializeToString())
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        app.state.ingestor._queued = 0
        app.state.ingestor.start()
    assert count_spans(engine) == 0


def test_a_large_write_in_several_statement_shapes_stores_every_row_exactly_once(engine) -> None:  # type: ignore[no-untyped-def]
    from tenbin.store.engine import write_transaction
    from tenbin.store.writes import CHUNK_ROWS, ensure_projects, insert_spans
    from tests.embed_helpers import T0, llm_row

    n = CHUNK_ROWS[0] + CHUNK_ROWS[1] + 3 * CHUNK_ROWS[2] + 2  # every chunk size is used
    rows = [llm_row(f"question {i}", f"answer {i}", T0 + i, chat=i % 2 == 0) for i in range(n)]
    for i, row in enumerate(rows):
        row.update(trace_id=f"{i // 3:032x}", metadata={"task": f"t{i % 4}", "n": i}, tags=[f"tag{i % 3}"])
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {"p"})["p"]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows] + [{**rows[5], "project_id": pid}])
    with engine.connect() as conn:
        stored = {r.span_id: r._mapping for r in conn.execute(select(Span.__table__))}
        traces = conn.execute(select(func.count()).select_from(Trace)).scalar_one()
    assert len(stored) == n and traces == -(-n // 3)
    for row in rows:
        got = stored[row["span_id"]]
        assert (got["metadata"], got["tags"], got["attributes"], got["input_value"]) == (
            row["metadata"], row["tags"], row.get("attributes"), row.get("input_value"))


def test_a_sqlite_built_with_a_low_variable_limit_still_takes_large_batches(engine) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from tenbin.store.engine import write_transaction
    from tenbin.store.writes import ensure_projects, insert_spans
    from tests.embed_helpers import T0, llm_row

    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite compile-time limit")
    rows = [llm_row(f"question {i}", f"answer {i}", T0 + i) for i in range(300)]
    with write_transaction(engine) as conn:
        conn.connection.dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        pid = ensure_projects(conn, {"p"})["p"]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])
    assert count_spans(engine) == 300
