"""Shared plumbing for the framework integration tests: real OTel export to tenbin, stored trees.

Each integration test instruments a public framework with its OpenInference instrumentor, exports
through the real OTLP/HTTP exporter to the `server` fixture, and then reads the store, so what it
checks is what a user would see in tenbin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from sqlalchemy import Engine, select

from tenbin.llm.scripted import ScriptedLLM
from tenbin.store.models import Project, Span


class Instrumentor(Protocol):
    def instrument(self, **kwargs: Any) -> None: ...
    def uninstrument(self, **kwargs: Any) -> None: ...


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedLLM]:
    """The scripted OpenAI-compatible server the frameworks call (import this fixture to use it)."""
    with ScriptedLLM() as llm:
        yield llm


@contextmanager
def traced_into(server_url: str, project: str, instrumentor: Instrumentor) -> Iterator[TracerProvider]:
    """`instrumentor` active, exporting synchronously to tenbin at `server_url` under `project`."""
    provider = TracerProvider(resource=Resource({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server_url}/v1/traces")))
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def stored_spans(engine: Engine) -> list[Any]:
    """Every stored span with its project name, oldest first."""
    query = select(Span, Project.name.label("project")).join(Project, Project.id == Span.project_id)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(Span.start_us)).all())


def only(rows: list[Any], **fields: Any) -> Any:
    """The single row whose columns equal `fields`; fails naming what was there instead."""
    found = [r for r in rows if all(getattr(r, k) == v for k, v in fields.items())]
    assert len(found) == 1, f"expected one span with {fields}, got {[(r.name, r.kind) for r in rows]}"
    return found[0]


def ancestors(row: Any, rows: list[Any]) -> list[Any]:
    """The chain of parents from `row` up to its root, nearest first."""
    by_id = {r.span_id: r for r in rows}
    chain: list[Any] = []
    while row.parent_id is not None:
        row = by_id[row.parent_id]
        chain.append(row)
    return chain
