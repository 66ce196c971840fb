"""LLM cluster reports over REST: generate (or re-run) one cluster's report, and read it.

The report is written by the model TENBIN_LLM_* configures; its LLM call is traced into the internal
`tenbin-evals` project through the server's ingest queue (the judges' tracer), never into the
analysed project. See `tenbin.analytics.reports` for the prompt and its token budget.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from tenbin.analytics import reports
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.evals import judge_tracing

router = APIRouter(tags=["analyses"])
PATH = "/analyses/{analysis_id}/clusters/{cluster}/report"


@router.post(PATH)
async def generate(request: Request, analysis_id: int, cluster: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Write the cluster's report with the configured LLM (replacing an earlier one) and return it."""
    tracing = judge_tracing(request.app)
    try:
        return await run_in_threadpool(reports.generate, request.app.state.engine, analysis_id, cluster,
                                       tracer=tracing.tracer, project=auth.project)
    finally:
        await run_in_threadpool(tracing.flush)


@router.get(PATH)
def get(request: Request, analysis_id: int, cluster: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    """The stored report (`report` is null until generated) with model, prompt version and time."""
    return reports.get_report(request.app.state.engine, analysis_id, cluster, auth.project)
