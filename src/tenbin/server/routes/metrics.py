"""GET /projects/{project}/metrics: summary metrics per time bucket and/or group."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from tenbin.server.auth import Access, reader
from tenbin.server.routes.common import FilterParam, TimeParam, span_query
from tenbin.store.metrics import summary

router = APIRouter(tags=["metrics"])


@router.get("/projects/{project}/metrics")
def metrics(request: Request, project: str, filter: FilterParam = "", start: TimeParam = None,
            end: TimeParam = None, bucket_seconds: int | None = None, group_by: str | None = None,
            auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Count, latency p50/p95, tokens, error rate and thumbs-up rate; `group_by=metadata.task` or a column."""
    auth.check_project(project)
    return summary(request.app.state.engine, span_query(project, filter, start, end), bucket_seconds, group_by)
