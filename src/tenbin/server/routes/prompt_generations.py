"""Automatic prompt generation over REST: start a run (202: it runs in the background), list runs,
read one (status, progress, ranked candidates with per-example results), run one again, and save a
candidate as a new prompt version. The run uses the server's model (TENBIN_LLM_*); its LLM calls are traced into
the `tenbin-evals` project, like judges', never into the user's project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin.autoprompt import runs
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.evals import judge_tracing

router = APIRouter(tags=["prompt generation"])
BASE = "/projects/{project}/prompt-generations"
ONE = "/prompt-generations/{run_id}"


class GenerationIn(BaseModel):
    """Ranges are checked by tenbin, so a bad value gets a 400 saying what is allowed."""

    dataset: str = Field(..., description="the dataset whose examples score the candidates")
    task: str = Field(..., description="what the prompt should make the model do")
    n: int = Field(4, description="candidates to generate (1-12)")
    evaluator: str | dict[str, Any] = Field("contains", description='a name, or {"name": "regex", "params": {...}}; '
                                            "contains without params checks the expected output")
    base_prompt: str | None = Field(None, description="NAME@VERSION to improve on; scored as candidate 0")
    input_var: str | None = Field(None, description="variable a text input goes into (default: input)")
    dataset_version: int | None = None
    shots: int = Field(2, description="few-shot pool size, held out of scoring (0-8)")
    limit: int = Field(50, description="score on at most this many examples")
    seed: int = 0
    max_tokens: int = Field(256, description="per answer")


class SaveIn(BaseModel):
    name: str = Field(..., description="prompt to add the version to (created when new)")
    label: str | None = Field(None, description="also move this label to the new version")
    author: str | None = Field(None, max_length=200)


def start_run(request: Request, project: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a run with the server's model, its calls traced into `tenbin-evals` (the UI uses this too)."""
    tracing = judge_tracing(request.app)
    return runs.start(request.app.state.engine, project, body, tracer=tracing.tracer, on_done=tracing.flush)


@router.post(BASE, status_code=202)
async def create(request: Request, project: str, body: GenerationIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Check the request and the LLM (503 naming what to set if it is down; nothing stored), then run
    in the background; poll GET /prompt-generations/{id} for status and progress."""
    auth.check_project(project)
    return await run_in_threadpool(start_run, request, project, body.model_dump(exclude_none=True))


@router.get(BASE)
def list_runs(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """The project's runs, newest first, each with its best candidate's summary."""
    auth.check_project(project)
    return runs.list_runs(request.app.state.engine, project)


@router.get(ONE)
def get_run(request: Request, run_id: int, results: bool = True, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Status, progress (done/total), notes, and candidates ranked best first (invalid ones last, with why)."""
    found = runs.get_run(request.app.state.engine, run_id, results=results)
    auth.check_project(found["project"])
    return found


def rerun_run(request: Request, run_id: int, project: str | None = None) -> dict[str, Any]:
    """Run `run_id` again with the server's model, traced like a start (the UI uses this too)."""
    tracing = judge_tracing(request.app)
    return runs.rerun(request.app.state.engine, run_id, project=project, tracer=tracing.tracer, on_done=tracing.flush)


@router.post(ONE + "/rerun", status_code=202)
async def rerun(request: Request, run_id: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start a new run with this run's request as it was resolved (dataset version, base prompt
    version, evaluator and its judge template version), linked by `spec.rerun_of`; 400 while it runs."""
    found = await run_in_threadpool(runs.get_run, request.app.state.engine, run_id, results=False)
    auth.check_project(found["project"])
    return await run_in_threadpool(rerun_run, request, run_id)


@router.post(ONE + "/candidates/{position}/save", status_code=201)
def save(request: Request, run_id: int, position: int, body: SaveIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Store candidate `position` as the next version of prompt `name`, optionally labelled."""
    engine = request.app.state.engine
    auth.check_project(runs.get_run(engine, run_id, results=False)["project"])
    return runs.save_candidate(engine, run_id, position, body.name, label=body.label, author=body.author)
