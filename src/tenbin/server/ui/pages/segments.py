"""`/projects/{project}/segments`: metrics per segment of spans, each segment one click from its traces.

A dimension is a metadata key (`metadata.task`, offered from the keys of recent spans), a fixed
bucketing of latency or tokens (edges in `tenbin.store.segments`), or a span column. `kind`
chooses which spans are measured: all spans by default, or one kind (e.g. LLM for token buckets).
The optional scope filter narrows the spans before they are segmented.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenbin.errors import InvalidInput
from tenbin.semconv import SPAN_KINDS
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import ui_access
from tenbin.store.metrics import GROUP_COLUMNS
from tenbin.store.queries import SpanQuery
from tenbin.store.segments import BUCKET_EDGES, both, metadata_keys, segment_rows

router = APIRouter()

BUCKET_LABELS = {"latency_ms": "Latency buckets", "prompt_tokens": "Prompt-token buckets",
                 "total_tokens": "Total-token buckets"}


def dimensions(keys: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the dimension picker, grouped: (group label, [(value, label)])."""
    return [
        ("Metadata keys", [(f"metadata.{k}", k) for k in keys]),
        ("Buckets", [(d, BUCKET_LABELS[d]) for d in BUCKET_EDGES]),
        ("Span columns", [(c, c) for c in GROUP_COLUMNS]),
    ]


def traces_link(project: str, span_filter: str) -> str:
    """The traces list showing the traces that contain the segment's spans."""
    return f"/projects/{quote(project, safe='')}/traces?{urlencode({'filter': span_filter})}"


def scope_filter(scope: str, kind: str) -> str:
    if kind and kind not in SPAN_KINDS:
        raise InvalidInput(f"unknown span kind {kind!r}; choose one of: {', '.join(SPAN_KINDS)}")
    return both(scope, f'kind == "{kind}"' if kind else "")


def segment_table(request: Request, project: str, dimension: str, scope: str, kind: str) -> list[dict[str, Any]]:
    base = scope_filter(scope, kind)
    rows = segment_rows(request.app.state.engine, SpanQuery(project, base), dimension)
    largest = max((r["count"] for r in rows), default=0) or 1
    for r in rows:
        r["share"] = r["count"] / largest
        r["traces_url"] = traces_link(project, both(base, r["filter"]))
    return rows


@router.get("/projects/{project}/segments", response_class=HTMLResponse)
def segments(request: Request, project: str, dimension: str = "", scope: str = "", kind: str = "",
             access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    keys = metadata_keys(request.app.state.engine, project)
    dimension = dimension or (f"metadata.{keys[0]}" if keys else "latency_ms")
    context: dict[str, Any] = {"project": project, "nav": "segments", "access": access, "dimension": dimension,
                               "scope": scope, "kind": kind, "kinds": SPAN_KINDS, "dimensions": dimensions(keys),
                               "bucketed": dimension in BUCKET_EDGES}
    try:
        rows = segment_table(request, project, dimension, scope, kind)
    except InvalidInput as exc:
        return render(request, "segments.html", status_code=400, **context, rows=[], error=str(exc))
    return render(request, "segments.html", **context, rows=rows, total=sum(r["count"] for r in rows))
