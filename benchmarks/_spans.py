"""Realistic OpenInference traces serialised as OTLP protobuf bodies, generated once per run.

Each trace is AGENT → CHAIN → (RETRIEVER, LLM, TOOL): five spans whose text sizes (a few hundred
bytes to a few KB of prompt) and attribute counts look like a RAG agent's. A fixed seed makes the
bodies, and so the work every server is given, the same from run to run.
"""

from __future__ import annotations

import json
import random
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

SPANS_PER_TRACE = 5
PROJECT = "bench"
_WORDS = (
    "refund invoice account billing order shipping delivery password reset subscription plan upgrade "
    "cancel charge card payment receipt address support ticket agent policy warranty return label "
    "customer premium discount coupon tax region currency export report dashboard integration api "
    "token limit quota error timeout retry webhook latency region storage backup restore"
).split()
_TASKS = ("billing", "shipping", "account", "technical", "sales")
_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b")


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


class TraceMaker:
    """Makes traces from one seeded random source, so the same seed yields the same bytes."""

    def __init__(self, seed: int = 7, start_ns: int = 1_750_000_000_000_000_000):
        self.rng = random.Random(seed)
        self.clock = start_ns

    def text(self, min_bytes: int, max_bytes: int) -> str:
        size = self.rng.randint(min_bytes, max_bytes)
        words: list[str] = []
        length = 0
        while length < size:
            word = self.rng.choice(_WORDS)
            words.append(word)
            length += len(word) + 1
        return " ".join(words).capitalize() + "."

    def _span(self, name: str, trace_id: bytes, parent: bytes, offset_ms: float, ms: float,
              attrs: dict[str, Any]) -> Span:
        start = self.clock + int(offset_ms * 1e6)
        return Span(
            trace_id=trace_id, span_id=self.rng.randbytes(8), parent_span_id=parent, name=name,
            kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start, end_time_unix_nano=start + int(ms * 1e6),
            attributes=[_kv(k, v) for k, v in attrs.items()],
            status=Status(code=Status.STATUS_CODE_OK),
        )

    def trace(self) -> list[Span]:
        """One agent run: AGENT → CHAIN → RETRIEVER, LLM, TOOL."""
        rng, trace_id = self.rng, self.rng.randbytes(16)
        self.clock += rng.randint(50, 500) * 1_000_000
        question = self.text(40, 200)
        answer = self.text(200, 1500)
        session, user = f"session-{rng.randint(1, 2000)}", f"user-{rng.randint(1, 500)}"
        task = rng.choice(_TASKS)
        common = {"session.id": session, "user.id": user}
        agent = self._span("support-agent", trace_id, b"", 0, 2400, {
            "openinference.span.kind": "AGENT", "input.value": question, "output.value": answer, **common,
            "metadata": json.dumps({"task": task, "session.id": session, "user.id": user}),
        })
        chain = self._span("rag-chain", trace_id, agent.span_id, 5, 2300, {
            "openinference.span.kind": "CHAIN", "input.value": question, "output.value": answer, **common,
        })
        spans = [agent, chain, self._retriever(trace_id, chain.span_id, question),
                 self._llm(trace_id, chain.span_id, question, answer, task, common),
                 self._tool(trace_id, chain.span_id, common)]
        return spans

    def _retriever(self, trace_id: bytes, parent: bytes, question: str) -> Span:
        attrs: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "input.value": question}
        for i in range(self.rng.randint(3, 5)):
            attrs[f"retrieval.documents.{i}.document.id"] = f"doc-{self.rng.randint(1, 10**6)}"
            attrs[f"retrieval.documents.{i}.document.content"] = self.text(200, 800)
            attrs[f"retrieval.documents.{i}.document.score"] = round(self.rng.random(), 4)
        return self._span("vector-search", trace_id, parent, 10, 80, attrs)

    def _llm(self, trace_id: bytes, parent: bytes, question: str, answer: str, task: str,
             common: dict[str, str]) -> Span:
        rng = self.rng
        context = self.text(500, 3000)
        prompt_tokens, completion_tokens = len(context) // 4 + 60, len(answer) // 4
        variables = {"question": question, "context": context}
        attrs: dict[str, Any] = {
            "openinference.span.kind": "LLM", "llm.model_name": rng.choice(_MODELS), "llm.provider": "openai",
            "llm.invocation_parameters": json.dumps({"temperature": 0.2, "max_tokens": 800}),
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You are a support agent. Answer from the context only.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": f"Context:\n{context}\n\nQuestion: {question}",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": answer,
            "llm.token_count.prompt": prompt_tokens, "llm.token_count.completion": completion_tokens,
            "llm.token_count.total": prompt_tokens + completion_tokens,
            "llm.prompt_template.template": "Context:\n{context}\n\nQuestion: {question}",
            "llm.prompt_template.name": "support-answer", "llm.prompt_template.version": str(rng.randint(1, 3)),
            "llm.prompt_template.variables": json.dumps(variables),
            "input.value": question, "output.value": answer, **common,
            "metadata": json.dumps({"task": task, **common}),
        }
        return self._span("chat-completion", trace_id, parent, 100, rng.uniform(400, 2000), attrs)

    def _tool(self, trace_id: bytes, parent: bytes, common: dict[str, str]) -> Span:
        order = f"A-{self.rng.randint(10000, 99999)}"
        return self._span("lookup-order", trace_id, parent, 2200, 40, {
            "openinference.span.kind": "TOOL", "tool.name": "lookup_order",
            "tool.parameters": json.dumps({"order_id": order}),
            "input.value": json.dumps({"order_id": order}),
            "output.value": json.dumps({"status": "shipped", "eta_days": self.rng.randint(1, 9)}),
            **common,
        })


def make_bodies(n_spans: int, batch: int, seed: int = 7) -> list[bytes]:
    """At least `n_spans` spans (whole traces) as protobuf ExportTraceServiceRequest bodies of `batch` spans."""
    maker = TraceMaker(seed)
    spans: list[Span] = []
    while len(spans) < n_spans:
        spans.extend(maker.trace())
    bodies = []
    for i in range(0, len(spans), batch):
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        rs.resource.attributes.append(_kv("openinference.project.name", PROJECT))
        rs.resource.attributes.append(_kv("service.name", "support-bot"))
        scope = rs.scope_spans.add()
        scope.scope.name = "openinference.instrumentation.bench"
        scope.spans.extend(spans[i : i + batch])
        bodies.append(req.SerializeToString())
    return bodies


def count_spans(bodies: list[bytes]) -> int:
    total = 0
    for body in bodies:
        req = ExportTraceServiceRequest.FromString(body)
        total += sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    return total
