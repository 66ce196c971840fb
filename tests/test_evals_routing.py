"""sdk.routing: tenbin's own spans (judge calls) go to their own provider, never the app's project."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tenbin
from tenbin.sdk.routing import routed


def test_routed_spans_go_to_the_given_tracer_as_new_traces_and_nothing_else_changes() -> None:
    app_spans, judge_spans = InMemorySpanExporter(), InMemorySpanExporter()
    judge_provider = TracerProvider()
    judge_provider.add_span_processor(SimpleSpanProcessor(judge_spans))
    tenbin.init(project="app", exporter=app_spans)
    try:
        with tenbin.span("handler"):
            with routed(judge_provider.get_tracer("t")), tenbin.span("judge", kind="llm"):
                pass
            with routed(None), tenbin.span("untraced"):
                pass
            with tenbin.span("after"):
                pass
        tenbin.flush()
    finally:
        tenbin.shutdown()
    assert sorted(s.name for s in app_spans.get_finished_spans()) == ["after", "handler"]
    (judge,) = judge_spans.get_finished_spans()
    handler = next(s for s in app_spans.get_finished_spans() if s.name == "handler")
    assert judge.name == "judge" and judge.parent is None
    assert judge.context.trace_id != handler.context.trace_id


def test_routing_works_when_the_app_has_no_tracing() -> None:
    judge_spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(judge_spans))
    with routed(provider.get_tracer("t")), tenbin.span("judge"):
        pass
    with tenbin.span("plain"):
        pass
    assert [s.name for s in judge_spans.get_finished_spans()] == ["judge"]
