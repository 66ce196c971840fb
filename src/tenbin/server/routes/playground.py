"""The prompt playground over REST: render a draft (token count included) or render and run it on
the configured LLM. The UI's playground page calls the same `tenbin.playground` functions.

Runs are traced into the project itself (so they show among its traces, tagged `playground`): the
server has no `tenbin.init`, so each project gets a small TracerProvider whose spans go straight
into the ingest queue, as judge spans do (`evals.tracing`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin import playground
from tenbin.evals.tracing import JudgeTracing, StoreExporter
from tenbin.sdk.context import ScopeProcessor
from tenbin.server.auth import Access, reader, writer

router = APIRouter(tags=["playground"])
BASE = "/projects/{project}/playground"
MAX_PROVIDERS = 16
"""Projects whose span provider is kept; the least recently used one beyond is shut down."""
_LOCK = threading.Lock()


class DraftIn(BaseModel):
    """A draft: start from a stored prompt version, override its template, fill its variables."""

    prompt: str | None = Field(None, max_length=200, description="a stored prompt to start from")
    version: int | None = Field(None, description="its version; default: the newest")
    template: str | None = Field(None, description="text template replacing the stored one")
    messages: list[dict[str, Any]] | None = Field(None, description='or a chat: [{"role": "user", "content": "..."}]')
    format: str | None = Field(None, description="jinja or fstring; detected when omitted")
    variables: dict[str, Any] = Field(default_factory=dict, description="values of the template's variables")
    model: str | None = Field(None, max_length=200, description="default: the version's model, else TENBIN_LLM_MODEL")


class RunIn(DraftIn):
    temperature: float | None = Field(None, description="0 to 2; default: the version's, else 0")
    max_tokens: int | None = Field(None, description="answer length limit; default: the version's, else none")


def project_tracing(app: FastAPI, project: str) -> JudgeTracing:
    """The span provider of `project`'s playground runs (one per project, bounded)."""
    with _LOCK:
        cache: OrderedDict[str, JudgeTracing] | None = getattr(app.state, "playground_tracing", None)
        if cache is None:
            cache = app.state.playground_tracing = OrderedDict()
        tracing = cache.pop(project, None)
        if tracing is None:
            tracing = JudgeTracing(StoreExporter(app.state.ingestor), project)
            tracing.provider.add_span_processor(ScopeProcessor())
        cache[project] = tracing
        evicted = cache.popitem(last=False)[1] if len(cache) > MAX_PROVIDERS else None
    if evicted is not None:
        evicted.shutdown()
    return tracing


def run_traced(app: FastAPI, project: str, draft: playground.Draft, **params: Any) -> dict[str, Any]:
    """Run the draft with its spans in `project`, stored before this returns (so its trace opens)."""
    tracing = project_tracing(app, project)
    try:
        return playground.run(draft, tracer=tracing.tracer, **params)
    finally:
        tracing.flush()


def _draft(request: Request, project: str, body: DraftIn) -> playground.Draft:
    spec = body.model_dump(include=set(playground.SPEC_FIELDS), exclude_none=True)
    return playground.prepare(request.app.state.engine, project, spec)


@router.post(BASE + "/render")
async def render(request: Request, project: str, body: DraftIn, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Render the draft in the sandbox and count its tokens; nothing is sent to a model."""
    auth.check_project(project)
    return (await run_in_threadpool(_draft, request, project, body)).to_dict()


@router.post(BASE + "/run")
async def run(request: Request, project: str, body: RunIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Render the draft and send it to the configured LLM (TENBIN_LLM_BASE_URL): the answer, latency,
    token usage and the trace id of the run, traced into the project with the prompt's name and version."""
    auth.check_project(project)
    draft = await run_in_threadpool(_draft, request, project, body)
    result = await run_in_threadpool(run_traced, request.app, project, draft, temperature=body.temperature,
                                     max_tokens=body.max_tokens)
    return {**draft.to_dict(), **result}
