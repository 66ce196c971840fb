"""POST /v1/traces: HTTP body → decode → ingest queue → 200 once committed (OTLP/HTTP spec)."""

from __future__ import annotations

import zlib

from fastapi import APIRouter, Depends, Request, Response
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tenbin.decode import DEFAULT_PROJECT, parse_request, to_rows
from tenbin.errors import InvalidInput, PayloadTooLarge, TenbinError, UnsupportedMediaType
from tenbin.server.auth import Access, writer

router = APIRouter()
PROTOBUF = "application/x-protobuf"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, gunzipped, refusing anything over `limit` bytes before or after gunzip."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"body of {length} bytes is over the {limit}-byte limit; send smaller batches")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit; send smaller batches")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        return _gunzip(body, limit)
    if encoding not in ("identity", ""):
        raise UnsupportedMediaType(f"content-encoding {encoding!r} is not supported; use gzip or none")
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(f"body is not valid gzip: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"body is over the {limit}-byte limit once gunzipped; send smaller batches")
    return out


def otlp_error(exc: TenbinError, content_type: str) -> Response:
    """OTLP/HTTP wants a google.rpc.Status body on errors, in the request's encoding."""
    status = Status(code=exc.status_code, message=str(exc))
    headers = {"Retry-After": "1"} if exc.status_code in (429, 503) else {}
    if content_type.startswith(PROTOBUF):
        return Response(status.SerializeToString(), exc.status_code, headers, media_type=PROTOBUF)
    body = json_format.MessageToJson(status, indent=None)
    return Response(body, exc.status_code, headers, media_type="application/json")


def _assign_project(rows: list[dict], auth: Access) -> None:
    """With a key, spans go to its project; naming another project in the resource is refused."""
    if auth.project is None:
        return
    for row in rows:
        if row["project"] != DEFAULT_PROJECT:
            auth.check_project(row["project"])
        row["project"] = auth.project


@router.post("/v1/traces", tags=["ingest"], summary="OTLP/HTTP trace export (protobuf or JSON, gzip ok)")
async def export_traces(request: Request, auth: Access = Depends(writer)) -> Response:
    content_type = request.headers.get("content-type", "")
    try:
        body = await read_body(request, request.app.state.max_body)
        decoded = to_rows(parse_request(body, content_type))
        _assign_project(decoded.rows, auth)
        result = await request.app.state.ingestor.submit(decoded.rows)
    except TenbinError as exc:
        return otlp_error(exc, content_type)
    rejected = decoded.rejected + result.rejected
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = len(rejected)
        response.partial_success.error_message = "; ".join(rejected)[:2000]
    if content_type.startswith(PROTOBUF):
        return Response(response.SerializeToString(), media_type=PROTOBUF)
    return Response(json_format.MessageToJson(response, indent=None), media_type="application/json")
