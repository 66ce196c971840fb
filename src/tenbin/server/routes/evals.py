"""Evaluations: list evaluators, run them on spans (results stored as feedback), calibrate a judge.

Judges run here, in the server, on the model TENBIN_LLM_* configures; their own LLM calls are traced
into the `tenbin-evals` project through the server's ingest queue, never into the evaluated project.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin.errors import InvalidInput
from tenbin.evals import calibration, registry, runner
from tenbin.evals.tracing import JudgeTracing, StoreExporter
from tenbin.server.auth import Access, reader, writer

router = APIRouter(tags=["evals"])
_LOCK = threading.Lock()


class RunIn(BaseModel):
    evaluators: list[str | dict[str, Any]] = Field(
        ..., min_length=1, description='names, or {"name": "regex", "params": {"pattern": "\\\\d+"}}')
    span_ids: list[str] | None = Field(None, max_length=runner.MAX_SPANS, description="spans to evaluate; or project+filter")
    project: str | None = None
    filter: str = ""
    limit: int = Field(100, ge=1, le=runner.MAX_SPANS, description="newest matching spans to evaluate (with a filter)")
    skip_missing: bool = Field(False, description="skip spans lacking a field an evaluator needs, instead of failing")


class CalibrateIn(BaseModel):
    judge: str
    project: str | None = Field(None, description="calibrate this project's registry template of the judge "
                                                  "(tenbin-judge-<judge>) and keep the report as its last "
                                                  "calibration there; default: the built-in template")


def judge_tracing(app: FastAPI) -> JudgeTracing:
    """The app's one judge-span provider (every route and page that runs judges shares it), feeding
    the app's own ingest queue; created on first use."""
    with _LOCK:
        tracing = getattr(app.state, "judge_tracing", None)
        if tracing is None:
            tracing = app.state.judge_tracing = JudgeTracing(StoreExporter(app.state.ingestor))
    return tracing


@router.get("/evals/evaluators")
async def list_evaluators(request: Request, project: str | None = None, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Every evaluator: name, version, source (code|llm), needed fields; judges' labels and template
    (with `project`: the template that project's judges use, from its prompt registry, and the
    judge's `last_calibration` there)."""
    if project is None:
        return registry.catalog()
    auth.check_project(project)
    return await run_in_threadpool(calibration.project_catalog, request.app.state.engine, project)


@router.post("/evals/run")
async def run_evals(request: Request, body: RunIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Run evaluators on spans (by id, or the newest `limit` matching project+filter) and store the
    results as feedback on each span. A missing field (e.g. no reference) fails the whole run first."""
    engine = request.app.state.engine
    if body.span_ids:
        ids = body.span_ids
    else:
        if not body.project:
            raise InvalidInput("name the spans: give span_ids, or a project (and optionally a filter)")
        auth.check_project(body.project)
        ids = await run_in_threadpool(runner.select_spans, engine, body.project, body.filter, body.limit)
    return await run_in_threadpool(runner.evaluate_spans, engine, ids, body.evaluators,
                                   tracing=judge_tracing(request.app), project=auth.project,
                                   skip_missing=body.skip_missing)


@router.post("/evals/calibrate")
async def calibrate(request: Request, body: CalibrateIn, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Agreement of the configured model with the judge's shipped labelled set; with a project, its
    template is measured and the report kept as the judge's last calibration there (as the UI does)."""
    if body.project is not None:
        auth.check_project(body.project)
        auth.check_scope("write", "calibrating a project's template (its report is kept)")
    tracing = judge_tracing(request.app)
    try:
        if body.project is None:
            report = await run_in_threadpool(partial(calibration.calibrate, body.judge, tracer=tracing.tracer))
        else:
            report = await run_in_threadpool(partial(calibration.calibrate_project, request.app.state.engine,
                                                     body.judge, body.project, tracer=tracing.tracer))
    finally:
        await run_in_threadpool(tracing.flush)
    return report.to_dict()
