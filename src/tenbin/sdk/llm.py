"""OpenInference's flattened attributes for an LLM call and for retrieved documents.

OTel attributes cannot hold lists of objects, so OpenInference spells a chat as
`llm.input_messages.0.message.role = "user"`; the server rebuilds the list (see `decode.py`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace as trace_api

from tenbin import semconv as sc
from tenbin.sdk.state import STATE
from tenbin.sdk.values import DEFAULT_MAX_CHARS, cap, json_text

log = logging.getLogger("tenbin.sdk")


def llm_attributes(
    *,
    model: str | None = None,
    provider: str | None = None,
    input_messages: Sequence[Mapping[str, Any]] | None = None,
    output_messages: Sequence[Mapping[str, Any]] | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    total_tokens: int | None = None,
    cost: float | None = None,
    prompt_template: str | None = None,
    prompt_template_version: str | int | None = None,
    prompt_template_name: str | None = None,
    prompt_variables: Mapping[str, Any] | None = None,
    invocation_parameters: Mapping[str, Any] | str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict[str, Any]:
    """The attributes of one LLM call; arguments left as None are not set."""
    attrs: dict[str, Any] = {
        sc.LLM_MODEL_NAME: model,
        sc.LLM_PROVIDER: provider,
        sc.LLM_TOKEN_COUNT_PROMPT: prompt_tokens,
        sc.LLM_TOKEN_COUNT_COMPLETION: completion_tokens,
        sc.LLM_TOKEN_COUNT_TOTAL: _total(prompt_tokens, completion_tokens, total_tokens),
        sc.LLM_COST_TOTAL: cost,
        sc.PROMPT_TEMPLATE: prompt_template,
        sc.PROMPT_TEMPLATE_VERSION: None if prompt_template_version is None else str(prompt_template_version),
        sc.PROMPT_TEMPLATE_NAME: prompt_template_name,
        sc.PROMPT_TEMPLATE_VARIABLES: None if prompt_variables is None else json_text(prompt_variables, max_chars),
        sc.LLM_INVOCATION_PARAMETERS: None
        if invocation_parameters is None
        else json_text(invocation_parameters, max_chars),
    }
    attrs.update(_messages(sc.LLM_INPUT_MESSAGES, input_messages or (), max_chars))
    attrs.update(_messages(sc.LLM_OUTPUT_MESSAGES, output_messages or (), max_chars))
    return {k: v for k, v in attrs.items() if v is not None}


def _total(prompt: int | None, completion: int | None, total: int | None) -> int | None:
    if total is not None or (prompt is None and completion is None):
        return total
    return (prompt or 0) + (completion or 0)


def _messages(prefix: str, messages: Sequence[Mapping[str, Any]], max_chars: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}."
        for key in ("role", "content", "name"):
            value = message.get(key)
            if value is not None:
                text = value if isinstance(value, str) else json_text(value, max_chars)
                attrs[f"{base}message.{key}"] = cap(text, max_chars)
    return attrs


def document_attributes(documents: Any, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
    """`retrieval.documents.N.document.*` for a list of strings or dicts with content/score/id."""
    if not isinstance(documents, (list, tuple)):
        return {}
    attrs: dict[str, Any] = {}
    for i, doc in enumerate(documents):
        base = f"{sc.RETRIEVAL_DOCUMENTS}.{i}."
        if isinstance(doc, str):
            attrs[base + sc.DOCUMENT_CONTENT] = cap(doc, max_chars)
        elif isinstance(doc, Mapping):
            attrs.update(_document(base, doc, max_chars))
    return attrs


def _document(base: str, doc: Mapping[str, Any], max_chars: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    content = doc.get("content", doc.get("page_content", doc.get("text")))
    if content is not None:
        attrs[base + sc.DOCUMENT_CONTENT] = cap(str(content), max_chars)
    score = doc.get("score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        attrs[base + sc.DOCUMENT_SCORE] = float(score)
    if doc.get("id") is not None:
        attrs[base + sc.DOCUMENT_ID] = str(doc["id"])
    return attrs


LLM_FIELDS = frozenset(inspect.signature(llm_attributes).parameters) - {"max_chars"}


def record_llm(span: trace_api.Span | None = None, **fields: Any) -> None:
    """Put an LLM call's model, messages, tokens and prompt on `span` (default: the current span).

    Takes the keyword arguments of `llm_attributes`; a misspelt one is a TypeError naming them all.
    """
    unknown = sorted(fields.keys() - LLM_FIELDS)
    if unknown:
        raise TypeError(f"record_llm got unknown field(s) {unknown}; use: {', '.join(sorted(LLM_FIELDS))}")
    target = span or trace_api.get_current_span()
    if not target.is_recording():
        return
    try:
        target.set_attributes(llm_attributes(max_chars=STATE.max_chars, **fields))
    except Exception:  # noqa: BLE001 - tracing must never break the app
        log.debug("tenbin: record_llm failed", exc_info=True)
