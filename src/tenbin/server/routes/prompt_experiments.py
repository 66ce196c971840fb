"""Prompt A/B experiments over REST: create, list, live results, stop and promote; the sticky
per-unit assignment the SDK fetches; and per-version performance over time."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tenbin.prompts import experiments
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.common import TimeParam, parse_time

router = APIRouter(tags=["prompt experiments"])
BASE = "/projects/{project}/prompt-experiments"


class ArmIn(BaseModel):
    version: int = Field(..., ge=1)
    weight: float
    prompt: str | None = Field(None, description="optional; must be the experiment's prompt")


class MetricIn(BaseModel):
    kind: Literal["thumbs", "score", "eval"] = "thumbs"
    name: str | None = Field(None, max_length=200, description="feedback name; default thumbs for kind thumbs")


class ExperimentIn(BaseModel):
    prompt: str
    name: str | None = Field(None, max_length=200)
    arms: list[ArmIn]
    metric: MetricIn = Field(default_factory=MetricIn)
    guardrails: dict[str, float] | None = Field(None, description="maxima of latency_p95_ms, tokens_per_span, error_rate")
    author: str | None = Field(None, max_length=200)


class StopIn(BaseModel):
    promote: int | Literal["winner"] | None = Field(None, description="a version of an arm, or 'winner'")
    author: str | None = Field(None, max_length=200)
    force: bool = Field(False, description="promote even though `production` was moved during the experiment")


@router.post(BASE, status_code=201)
def create(request: Request, project: str, body: ExperimentIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start an A/B experiment over versions of one prompt (weights must add up to 1)."""
    auth.check_project(project)
    data = body.model_dump(exclude_none=True)
    data["arms"] = [{k: v for k, v in a.items() if v is not None} for a in data["arms"]]
    return experiments.create(request.app.state.engine, project, data)


@router.get(BASE)
def list_experiments(request: Request, project: str, prompt: str | None = None,
                     auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return experiments.list_all(request.app.state.engine, project, prompt)


@router.get(BASE + "/{experiment_id}")
def results(request: Request, project: str, experiment_id: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Live results per arm: n, metric with 95% interval, P(best), mSPRT, guardrails; SRM alarm."""
    auth.check_project(project)
    return experiments.results(request.app.state.engine, project, experiment_id)


@router.post(BASE + "/{experiment_id}/stop")
def stop(request: Request, project: str, experiment_id: int, body: StopIn,
         auth: Access = Depends(writer)) -> dict[str, Any]:
    """Close the experiment, optionally moving `production` to the winner (audited)."""
    auth.check_project(project)
    return experiments.stop(request.app.state.engine, project, experiment_id, body.promote,
                            author=body.author, force=body.force)


@router.get("/projects/{project}/prompts/{name}/assign")
def assign(request: Request, project: str, name: str, unit: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    """The version for `unit` (user or session id): its sticky arm while an experiment runs, else production."""
    auth.check_project(project)
    return experiments.assign(request.app.state.engine, project, name, unit)


@router.get("/projects/{project}/prompts/{name}/performance")
def performance(request: Request, project: str, name: str, bucket_seconds: int = 3600, start: TimeParam = None,
                end: TimeParam = None, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Per time bucket and version: spans, latency, tokens, cost, errors, thumbs-up rate, eval scores."""
    auth.check_project(project)
    return experiments.performance(request.app.state.engine, project, name, bucket_seconds,
                                   parse_time(start, "start"), parse_time(end, "end"))
