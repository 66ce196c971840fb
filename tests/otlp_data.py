"""Builders for OTLP requests used by the ingest tests and benchmarks."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def make_span(
    name: str = "llm",
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent_id: bytes = b"",
    attrs: dict[str, Any] | None = None,
    duration_ms: float = 12.5,
    error: bool = False,
) -> Span:
    start = time.time_ns()
    return Span(
        trace_id=trace_id or os.urandom(16),
        span_id=span_id or os.urandom(8),
        parent_span_id=parent_id,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + int(duration_ms * 1e6),
        attributes=[kv(k, v) for k, v in (attrs or {}).items()],
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
    )


def make_request(spans: list[Span], project: str | None = None) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    if project:
        rs.resource.attributes.append(kv("openinference.project.name", project))
    rs.scope_spans.add().spans.extend(spans)
    return req


def llm_attrs(task: str = "billing", session: str | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 120,
        "llm.token_count.completion": 30,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a helpful assistant.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "How do I get a refund?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Open Billing → Refunds.",
        "llm.prompt_template.template": "Answer: {question}",
        "llm.prompt_template.version": "3",
        "llm.prompt_template.variables": json.dumps({"question": "How do I get a refund?"}),
        "llm.prompt_template.name": "support-answer",
        "input.value": "How do I get a refund?",
        "output.value": "Open Billing → Refunds.",
        "metadata": json.dumps({"task": task}),
        "user.id": "u-1",
    }
    if session:
        attrs["session.id"] = session
    return attrs
