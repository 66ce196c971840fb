"""`/projects/{project}`: the project at a glance — headline numbers, charts over time, cost by model
and over time, evaluation results per evaluator, and the slowest and worst-rated traces, all scoped
by an optional filter and a time range."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from tenbin.errors import FilterError, InvalidInput, NotFound
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import ui_access
from tenbin.store.costs import cost_summary
from tenbin.store.eval_metrics import eval_summary
from tenbin.store.metrics import summary
from tenbin.store.queries import SpanQuery, list_traces
from tenbin.store.segments import both, count_traces, time_extent, worst_rated_traces

router = APIRouter()

RANGES: dict[str, tuple[str, int | None, int | None]] = {
    "1h": ("Last hour", 3600, 60),
    "24h": ("Last 24 hours", 86400, 900),
    "7d": ("Last 7 days", 7 * 86400, 6 * 3600),
    "30d": ("Last 30 days", 30 * 86400, 86400),
    "all": ("All time", None, None),
}
"""Time range → (label, length in seconds, chart bucket in seconds); "all" derives its bucket."""
NICE_BUCKETS = (1, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
MAX_POINTS = 60
"""All time: the smallest nice bucket that keeps a chart under this many points."""


def bucket_for(extent: tuple[int, int] | None) -> int:
    seconds = (extent[1] - extent[0]) / 1e6 if extent else 0
    return next((b for b in NICE_BUCKETS if seconds / b <= MAX_POINTS), NICE_BUCKETS[-1])


def series(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Bucketed summary rows → one list per chart trace, for plotly (see static/charts.js)."""
    def downs(r: dict[str, Any]) -> int:
        return thumbs_down(r["thumbs_count"], r["thumbs_up_rate"])

    return {
        "x": [r["bucket"] for r in rows], "count": [r["count"] for r in rows],
        "p50": [r["latency_p50_ms"] for r in rows], "p95": [r["latency_p95_ms"] for r in rows],
        "prompt_tokens": [r["prompt_tokens"] for r in rows], "completion_tokens": [r["completion_tokens"] for r in rows],
        "error_rate": [r["error_rate"] for r in rows], "thumbs_up_rate": [r["thumbs_up_rate"] for r in rows],
        "thumbs_up": [r["thumbs_count"] - downs(r) for r in rows], "thumbs_down": [downs(r) for r in rows],
    }


def thumbs_down(count: int, up_rate: float | None) -> int:
    return round(count * (1 - up_rate)) if count and up_rate is not None else 0


def traces_url(q: SpanQuery, span_filter: str) -> str:
    """The traces list holding the spans of `span_filter` within the overview's filter and time range."""
    params = {"filter": both(q.filter, span_filter)}
    if q.start_us is not None:
        params["start"] = datetime.fromtimestamp(q.start_us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"/projects/{quote(q.project, safe='')}/traces?{urlencode(params)}"


def evaluations(engine: Engine, q: SpanQuery, bucket: int) -> dict[str, Any]:
    """`store.eval_metrics.eval_summary` with a traces link per evaluator and per label, and the chart's
    lines (one per evaluator with scores: its mean score per bucket)."""
    found = eval_summary(engine, q, bucket)
    for e in found["evaluators"]:
        field = f"feedback[{json.dumps(e['name'], ensure_ascii=False)}]"
        e["traces_url"] = traces_url(q, f"{field} is not None")
        for share in e["labels"]:
            share["traces_url"] = traces_url(q, f"{field} == {json.dumps(share['label'], ensure_ascii=False)}")
    found["lines"] = [{"name": e["name"], "x": [b["bucket"] for b in e["series"]],
                       "y": [b["mean_score"] for b in e["series"]]} for e in found["evaluators"] if e["scored"]]
    return found


def costs(engine: Engine, q: SpanQuery, bucket: int) -> dict[str, Any]:
    """`store.costs.cost_summary` over the page's buckets, plus the chart's bars: one per model (the
    most expensive first), the model's cost per bucket."""
    found = cost_summary(engine, q, bucket)
    names = [m["model"] or "" for m in found["by_model"]]
    x = [p["bucket"] for p in found["series"]]
    for m in found["by_model"]:
        m["traces_url"] = traces_url(q, f"model == {json.dumps(m['model'], ensure_ascii=False)}") if m["model"] else None
    found["bars"] = [{"name": name or "(no model)", "x": x, "y": [p["models"].get(name) for p in found["series"]]}
                     for name in names]
    return found


def overview_data(engine: Engine, q: SpanQuery, range_key: str) -> dict[str, Any]:
    """Everything the page shows; raises NotFound for an unknown project, FilterError for a bad filter."""
    bucket = RANGES[range_key][2] or bucket_for(time_extent(engine, q))
    totals = (summary(engine, q) or [None])[0]
    if totals is not None:
        totals["thumbs_down"] = thumbs_down(totals["thumbs_count"], totals["thumbs_up_rate"])
    return {
        "totals": totals, "trace_count": count_traces(engine, q), "bucket_seconds": bucket,
        "series": series(summary(engine, q, bucket_seconds=bucket)),
        "slowest": list_traces(engine, q, limit=10, sort="latency_ms").items,
        "worst": worst_rated_traces(engine, q, limit=10), "evals": evaluations(engine, q, bucket),
        "costs": costs(engine, q, bucket),
    }


@router.get("/projects/{project}", response_class=HTMLResponse)
def overview(request: Request, project: str, filter: str = "", range: str = "all",
             access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    if range not in RANGES:
        raise InvalidInput(f"unknown time range {range!r}; choose one of: {', '.join(RANGES)}")
    length = RANGES[range][1]
    q = SpanQuery(project, filter, int((time.time() - length) * 1e6) if length else None)
    context: dict[str, Any] = {"project": project, "nav": "overview", "filter": filter, "range": range,
                               "ranges": RANGES, "access": access, "base_url": str(request.base_url).rstrip("/")}
    try:
        return render(request, "overview.html", **context, **overview_data(request.app.state.engine, q, range))
    except FilterError as exc:
        return render(request, "overview.html", status_code=400, **context, filter_error=str(exc))
    except NotFound:
        return render(request, "overview.html", status_code=404, **context, unknown=True)
