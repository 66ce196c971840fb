"""A stored span → `EvalInput`: its input and output, the reference from its metadata, the documents
retrieved in its trace and the conversation of its session.

The trace and the session are read only when an evaluator needs them (`context`, `conversation`),
so code checks over many spans cost one read per span.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Engine

from tenbin import semconv as sc
from tenbin.evals.base import EvalInput
from tenbin.store import queries

FIELD_SOURCES = {"reference": "the span's metadata.reference", "context": "a RETRIEVER span's documents in its trace",
                 "conversation": "a session (the span's session id)"}
"""Where a span's fields come from, for forms that list what an evaluator needs (cf. experiments.FIELD_SOURCES)."""


def _last(messages: Any, role: str) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == role and message.get("content"):
            return str(message["content"])
    return None


def from_span(span: dict[str, Any], documents: list[str] | None = None,
              conversation: list[dict[str, str]] | None = None) -> EvalInput:
    """The fields of one span (as `queries.get_span` returns it); an LLM span's messages take the
    place of its raw input/output JSON, so judges read the question and the answer as text."""
    attrs = span.get("attributes") or {}
    meta = span.get("metadata") or {}
    reference = meta.get("reference") if isinstance(meta, dict) else None
    return EvalInput(
        input=_last(attrs.get(sc.LLM_INPUT_MESSAGES), "user") or span.get("input_value"),
        output=_last(attrs.get(sc.LLM_OUTPUT_MESSAGES), "assistant") or span.get("output_value"),
        reference=None if reference is None else str(reference),
        context=documents or [], conversation=conversation or [],
        latency_ms=span.get("latency_ms"), prompt_tokens=span.get("prompt_tokens"),
        completion_tokens=span.get("completion_tokens"), total_tokens=span.get("total_tokens"),
        metadata=meta if isinstance(meta, dict) else {}, span_id=span.get("span_id"), trace_id=span.get("trace_id"),
        project=span.get("project"),
    )


def _walk(nodes: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def trace_documents(trace: dict[str, Any]) -> list[str]:
    """Text of every document the trace's RETRIEVER spans returned, in span order then rank order."""
    spans = sorted(_walk(trace.get("roots", [])), key=lambda s: s.get("start_us") or 0)
    docs: list[str] = []
    for span in spans:
        if span.get("kind") == "RETRIEVER":
            for doc in (span.get("attributes") or {}).get(sc.RETRIEVAL_DOCUMENTS) or []:
                if isinstance(doc, dict) and doc.get("content"):
                    docs.append(str(doc["content"]))
    return docs


def session_turns(session: dict[str, Any]) -> list[dict[str, str]]:
    """The session's turns as alternating user/assistant messages."""
    turns: list[dict[str, str]] = []
    for turn in session.get("turns", []):
        if turn.get("input"):
            turns.append({"role": "user", "content": str(turn["input"])})
        if turn.get("output"):
            turns.append({"role": "assistant", "content": str(turn["output"])})
    return turns


def load(engine: Engine, span_id: str, needs: set[str], project: str | None = None) -> EvalInput:
    """One span as an EvalInput, reading its trace or session only if `needs` them."""
    span = queries.get_span(engine, span_id, project)
    documents = trace_documents(queries.get_trace(engine, span["trace_id"])) if "context" in needs else None
    conversation = None
    if "conversation" in needs and span.get("session_id"):
        conversation = session_turns(queries.get_session(engine, span["project"], span["session_id"]))
    return from_span(span, documents, conversation)
