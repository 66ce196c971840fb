"""Datasets and experiments over REST: create a dataset (from examples, span ids or a filter), add or
remove examples (each change a new version), run a prompt version over it with evaluators (and run
such an experiment again), store an experiment the SDK ran itself, and compare two experiments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin.evals import compare as comparing
from tenbin.evals import datasets, experiment_reruns, experiments, runner
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.evals import judge_tracing
from tenbin.store import datasets as store

router = APIRouter(tags=["datasets"])
BASE = "/projects/{project}/datasets"
EXPERIMENTS = "/projects/{project}/experiments"


class Source(BaseModel):
    examples: list[dict[str, Any]] | None = Field(None, max_length=datasets.MAX_EXAMPLES,
                                                  description='e.g. [{"input": "...", "expected": "..."}]')
    span_ids: list[str] = Field(default_factory=list, max_length=runner.MAX_SPANS)
    filter: str | None = Field(None, description='spans matching this filter, e.g. kind == "LLM"')
    limit: int = Field(100, ge=1, le=runner.MAX_SPANS, description="newest matching spans (with a filter)")
    expected_from: datasets.ExpectedFrom = Field(
        "reference", description="a span's expected output: its metadata.reference, its own output, or none")


class DatasetIn(Source):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = ""


class ChangeIn(Source):
    remove: list[int] = Field(default_factory=list, description="example ids to drop from the next version")
    message: str = ""


class RunIn(BaseModel):
    prompt: str = Field(..., description="NAME@VERSION, NAME@LABEL or NAME (newest)")
    evaluators: list[str | dict[str, Any]] = Field(..., min_length=1)
    version: int | None = Field(None, ge=1, description="dataset version; default the latest")
    name: str | None = Field(None, max_length=200)


class ResultIn(BaseModel):
    example_id: int
    output: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    scores: list[dict[str, Any]] = Field(default_factory=list)


class ExperimentIn(BaseModel):
    """An experiment the SDK ran itself (a Python function task)."""

    dataset: str
    version: int = Field(..., ge=1)
    name: str = Field(..., min_length=1, max_length=200)
    task: dict[str, Any] = Field(default_factory=dict)
    evaluators: list[dict[str, Any]] = Field(default_factory=list)
    results: list[ResultIn] = Field(..., min_length=1, max_length=datasets.MAX_EXAMPLES)


def _source(request: Request, project: str, body: Source) -> list[dict[str, Any]]:
    return datasets.collect(request.app.state.engine, project, examples=body.examples, span_ids=body.span_ids,
                            filter=body.filter, limit=body.limit, expected_from=body.expected_from)


@router.get(BASE)
def list_datasets(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return store.list_datasets(request.app.state.engine, project)


@router.post(BASE, status_code=201)
async def create_dataset(request: Request, project: str, body: DatasetIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """A new dataset, version 1 holding the examples (all checked first; one bad one refuses them all)."""
    auth.check_project(project)
    examples = await run_in_threadpool(_source, request, project, body)
    return await run_in_threadpool(store.create_dataset, request.app.state.engine, project, body.name, examples,
                                   description=body.description)


@router.get(BASE + "/{name}")
def get_dataset(request: Request, project: str, name: str, version: int | None = None,
                auth: Access = Depends(reader)) -> dict[str, Any]:
    """A dataset's versions and the examples of `version` (default: the latest)."""
    auth.check_project(project)
    return store.get_dataset(request.app.state.engine, project, name, version)


@router.post(BASE + "/{name}/versions", status_code=201)
async def change(request: Request, project: str, name: str, body: ChangeIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """The next version: add examples (from any source) and/or remove example ids."""
    auth.check_project(project)
    add = [] if body.examples is None and not body.span_ids and body.filter is None else \
        await run_in_threadpool(_source, request, project, body)
    return await run_in_threadpool(store.change_examples, request.app.state.engine, project, name, add=add,
                                   remove=body.remove, message=body.message)


@router.post(BASE + "/{name}/experiments", status_code=202)
async def run_experiment(request: Request, project: str, name: str, body: RunIn,
                         auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start a prompt version over the dataset on the server's model (TENBIN_LLM_*): bad input is refused
    at once; otherwise the experiment comes back `running` and runs in the background. Poll
    GET .../experiments/{id} for `status` (running → done | failed | interrupted) and `done`/`total`."""
    auth.check_project(project)
    tracing = judge_tracing(request.app)
    return await run_in_threadpool(experiments.start_stored, request.app.state.engine, project, name,
                                   prompt=body.prompt, evaluators=body.evaluators, version=body.version,
                                   name=body.name, tracer=tracing.tracer, on_done=tracing.flush)


@router.post(EXPERIMENTS + "/{experiment_id}/rerun", status_code=202)
async def rerun_experiment(request: Request, project: str, experiment_id: int,
                           auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start a new experiment with this one's prompt version, dataset version, evaluators and judge
    template versions, linked by `task.rerun_of`; 400 while it is still running. Poll like a start."""
    auth.check_project(project)
    tracing = judge_tracing(request.app)
    return await run_in_threadpool(experiment_reruns.start_rerun, request.app.state.engine, project, experiment_id,
                                   tracer=tracing.tracer, on_done=tracing.flush)


@router.post(EXPERIMENTS, status_code=201)
def store_experiment(request: Request, project: str, body: ExperimentIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Store an experiment whose task ran elsewhere (the SDK's Python functions)."""
    auth.check_project(project)
    engine = request.app.state.engine
    results = [r.model_dump() for r in body.results]
    fields = {"name": body.name, "task": body.task, "evaluators": body.evaluators,
              "summary": experiments.summarize(results)}
    exp_id = store.insert_experiment(engine, project, body.dataset, body.version, fields, results)
    return store.get_experiment(engine, project, exp_id)


@router.get(EXPERIMENTS)
def list_experiments(request: Request, project: str, dataset: str | None = None,
                     auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return store.list_experiments(request.app.state.engine, project, dataset)


@router.get(EXPERIMENTS + "/compare")
def compare(request: Request, project: str, a: int, b: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Experiment B against A: per-example differences and per-evaluator mean deltas with 95% paired t intervals."""
    auth.check_project(project)
    engine = request.app.state.engine
    return comparing.compare(store.get_experiment(engine, project, a), store.get_experiment(engine, project, b))


@router.get(EXPERIMENTS + "/{experiment_id}")
def get_experiment(request: Request, project: str, experiment_id: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return store.get_experiment(request.app.state.engine, project, experiment_id)
