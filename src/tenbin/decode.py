"""OTLP trace request → span rows: the "decode" and "model" steps of a span's path.

`parse_request` turns an HTTP body (protobuf or OTLP/JSON) into an `ExportTraceServiceRequest`;
`to_rows` maps each span's OpenInference attributes onto the store's columns and keeps the rest.
A span that cannot be stored (bad ids, end before start, duplicate id) is rejected on its own with a
reason, so one bad span never sinks its request (OTLP `partial_success`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtoDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tenbin import semconv as sc
from tenbin.errors import DecodeError, UnsupportedMediaType

DEFAULT_PROJECT = "default"
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_KINDS = frozenset(sc.SPAN_KINDS)


@dataclass
class Decoded:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Parse a protobuf or OTLP/JSON body; anything else is a DecodeError that says what was wrong."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/x-protobuf":
        try:
            return ExportTraceServiceRequest.FromString(body)
        except ProtoDecodeError as exc:
            raise DecodeError(f"body is not a valid OTLP protobuf ExportTraceServiceRequest: {exc}") from exc
    if ctype == "application/json":
        return _parse_json(body)
    raise UnsupportedMediaType(
        f"unsupported content type {content_type!r}: send application/x-protobuf or application/json"
    )


def _parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DecodeError("OTLP/JSON body must be an object with 'resourceSpans'")
    try:
        _hex_ids_to_base64(data)
        return json_format.ParseDict(data, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise DecodeError(f"body is not a valid OTLP/JSON ExportTraceServiceRequest: {exc}") from exc


def _hex_ids_to_base64(data: dict[str, Any]) -> None:
    """OTLP/JSON writes ids as hex, protobuf's JSON mapping expects base64: convert in place."""
    for rs in data.get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or []:
            for span in ss.get("spans") or []:
                for key in ("traceId", "spanId", "parentSpanId"):
                    value = span.get(key)
                    if isinstance(value, str) and value:
                        try:
                            span[key] = base64.b64encode(bytes.fromhex(value)).decode()
                        except ValueError as exc:
                            raise ValueError(f"{key} {value!r} is not hex") from exc


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as a plain Python value."""
    which = value.WhichOneof("value")
    if which in _SCALARS:  # nearly every attribute: test it first, it is the ingest hot path
        return getattr(value, which)
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return base64.b64encode(value.bytes_value).decode()


def to_rows(request: ExportTraceServiceRequest) -> Decoded:
    """Every span of the request as a row dict (with a `project` name), or a rejection reason."""
    out = Decoded()
    seen: set[str] = set()
    for resource_spans in request.resource_spans:
        project = DEFAULT_PROJECT
        for kv in resource_spans.resource.attributes:
            if kv.key == sc.PROJECT_NAME:
                project = str(any_value(kv.value)) or DEFAULT_PROJECT
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _validate(span, seen)
                if problem:
                    out.rejected.append(problem)
                    continue
                row = span_row(span)
                row["project"] = project
                seen.add(row["span_id"])
                out.rows.append(row)
    return out


def _validate(span: Any, seen: set[str]) -> str | None:
    name = span.name or "<unnamed>"
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"span {name!r}: trace_id must be 16 non-zero bytes"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span {name!r}: span_id must be 8 non-zero bytes"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"span {name!r}: parent_span_id must be empty or 8 bytes"
    if span.start_time_unix_nano == 0 or span.end_time_unix_nano < span.start_time_unix_nano:
        return f"span {name!r} ({span.span_id.hex()}): needs a start time and an end time not before it"
    if span.span_id.hex() in seen:
        return f"span {span.span_id.hex()} appears twice in one request; the first was kept"
    return None


def span_row(span: Any) -> dict[str, Any]:
    """Map one OTLP span onto the columns of `spans`; unknown attributes are kept in `attributes`."""
    attrs, lists = _attributes(span.attributes)
    start_us = span.start_time_unix_nano // 1000
    end_us = span.end_time_unix_nano // 1000
    kind = str(attrs.pop(sc.SPAN_KIND, "UNKNOWN") or "UNKNOWN").upper()
    row: dict[str, Any] = {
        "span_id": span.span_id.hex(),
        "trace_id": span.trace_id.hex(),
        "parent_id": span.parent_span_id.hex() or None,
        "name": span.name[:500],
        "kind": kind if kind in _KINDS else "UNKNOWN",
        "status": _STATUS.get(span.status.code, "UNSET"),
        "status_message": span.status.message or None,
        "start_us": start_us,
        "end_us": end_us,
        "latency_ms": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        "input_value": _text(attrs.pop(sc.INPUT_VALUE, None)),
        "input_mime": attrs.pop(sc.INPUT_MIME_TYPE, None),
        "output_value": _text(attrs.pop(sc.OUTPUT_VALUE, None)),
        "output_mime": attrs.pop(sc.OUTPUT_MIME_TYPE, None),
        "model": _text(attrs.pop(sc.LLM_MODEL_NAME, None)),
        "prompt_tokens": _int(attrs, sc.LLM_TOKEN_COUNT_PROMPT),
        "completion_tokens": _int(attrs, sc.LLM_TOKEN_COUNT_COMPLETION),
        "total_tokens": _int(attrs, sc.LLM_TOKEN_COUNT_TOTAL),
        "cost": _float(attrs, sc.LLM_COST_TOTAL),
        "session_id": _text(attrs.pop(sc.SESSION_ID, None)),
        "session_step": _int(attrs, sc.SESSION_STEP),
        "user_id": _text(attrs.pop(sc.USER_ID, None)),
        "prompt_name": _text(attrs.pop(sc.PROMPT_TEMPLATE_NAME, None) or attrs.pop(sc.PROMPT_ID, None)),
        "prompt_version": _text(attrs.pop(sc.PROMPT_TEMPLATE_VERSION, None)),
        "prompt_template": _text(attrs.pop(sc.PROMPT_TEMPLATE, None)),
        "prompt_variables": _json_obj(attrs.pop(sc.PROMPT_TEMPLATE_VARIABLES, None)),
        "tags": _tags(attrs.pop(sc.TAG_TAGS, None)),
        "metadata": _json_obj(attrs.pop(sc.METADATA, None)),
        "events": [_event(e) for e in span.events] or None,
    }
    if row["total_tokens"] is None and (row["prompt_tokens"] or row["completion_tokens"]):
        row["total_tokens"] = (row["prompt_tokens"] or 0) + (row["completion_tokens"] or 0)
    attrs.update(lists)
    row["attributes"] = attrs or None
    return row


_LIST_DOTTED = tuple(prefix + "." for prefix in sc.LIST_PREFIXES)


def _attributes(pairs: Any) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A span's attributes as a dict, with OpenInference's flattened lists
    (`llm.input_messages.0.message.role`) set apart and rebuilt as lists. One pass, scalars read
    inline: this loop runs for every attribute of every ingested span."""
    attrs: dict[str, Any] = {}
    found: dict[str, dict[str, Any]] = {}
    for kv in pairs:
        value, key = kv.value, kv.key
        which = value.WhichOneof("value")
        item = getattr(value, which) if which in _SCALARS else any_value(value)
        if key.startswith(_LIST_DOTTED):
            for dotted in _LIST_DOTTED:
                if key.startswith(dotted):
                    found.setdefault(dotted[:-1], {})[key[len(dotted):]] = item
                    break
        else:
            attrs[key] = item
    return attrs, {prefix: _unflatten(flat) for prefix, flat in found.items()}


def _unflatten(flat: dict[str, Any]) -> list[dict[str, Any]]:
    """{'0.message.role': 'user', '0.message.tool_calls.0.tool_call.id': 'x'} → [{'role': 'user', ...}]."""
    items: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        index, _, rest = key.partition(".")
        if not index.isdigit():
            continue
        items.setdefault(int(index), {})[rest] = value
    return [_short_keys(items[i]) for i in sorted(items)]


def _short_keys(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in item.items():
        namespace, _, rest = key.partition(".")
        head, _, tail = rest.partition(".")
        if tail and tail.split(".", 1)[0].isdigit():
            nested.setdefault(head, {})[tail] = value
        else:
            out[rest or namespace] = value
    for name, flat in nested.items():
        out[name] = _unflatten(flat)
    return out


def _event(event: Any) -> dict[str, Any]:
    return {
        "name": event.name,
        "time_us": event.time_unix_nano // 1000,
        "attributes": {kv.key: any_value(kv.value) for kv in event.attributes},
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _int(attrs: dict[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    del attrs[key]
    return int(value)


def _float(attrs: dict[str, Any], key: str) -> float | None:
    value = attrs.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    del attrs[key]
    return float(value)


def _json_obj(value: Any) -> Any:
    """OpenInference sends metadata and variables as JSON strings; store them as objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return {"value": value}
    return value


def _tags(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
