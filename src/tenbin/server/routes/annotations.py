"""Human annotation over REST: score configs, annotation queues, their items and reviewing them.

    GET  POST  /projects/{p}/score-configs                           list / create (categorical, numeric, boolean)
    GET        /projects/{p}/score-configs/{name}
    GET  POST  /projects/{p}/annotation-queues                       list with progress / create
    GET        /projects/{p}/annotation-queues/{q}                   one queue with its configs and progress
    GET  POST  /projects/{p}/annotation-queues/{q}/items             list (?status=) / add by span_ids, trace_ids or filter
    POST       /projects/{p}/annotation-queues/{q}/next              lease the reviewer the next item (with its span)
    POST       /projects/{p}/annotation-queues/{q}/items/{id}/complete   answers → feedback; the item is done
    POST       /projects/{p}/annotation-queues/{q}/items/{id}/skip

`next` writes (it takes a lease), so it needs the write scope like the other POSTs.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin.server.auth import Access, reader, writer
from tenbin.store import annotation_queues as queues
from tenbin.store import score_configs as configs
from tenbin.store.queries import get_span

router = APIRouter(tags=["annotation"])
CONFIGS = "/projects/{project}/score-configs"
QUEUES = "/projects/{project}/annotation-queues"
QUEUE = QUEUES + "/{queue}"


class ConfigIn(BaseModel):
    name: str = Field(..., max_length=200)
    type: Literal["categorical", "numeric", "boolean"]
    labels: list[str] | None = Field(None, description="categorical: the allowed labels, e.g. correct, incorrect")
    min_value: float | None = Field(None, description="numeric: the lowest allowed answer")
    max_value: float | None = Field(None, description="numeric: the highest allowed answer")
    description: str = Field("", max_length=5000)


class QueueIn(BaseModel):
    name: str = Field(..., max_length=200)
    score_configs: list[str] = Field(..., min_length=1, description="names of the score configs to fill, in order")
    description: str = Field("", max_length=5000)


class ItemsIn(BaseModel):
    span_ids: list[str] = Field(default_factory=list, max_length=queues.MAX_ADD)
    trace_ids: list[str] = Field(default_factory=list, max_length=queues.MAX_ADD, description="adds each root span")
    filter: str | None = Field(None, description='spans matching this filter, e.g. kind == "LLM"')
    limit: int = Field(100, ge=1, le=queues.MAX_ADD, description="newest matching spans (with a filter)")


class ReviewerIn(BaseModel):
    reviewer: str = Field(..., min_length=1, max_length=200, description="who reviews: the lease owner and author")


class CompleteIn(ReviewerIn):
    scores: dict[str, Any] = Field(..., description='config name → answer, e.g. {"quality": "correct", "helpful": true}')
    comment: str | None = Field(None, max_length=20000)


@router.get(CONFIGS)
def list_configs(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return configs.list_configs(request.app.state.engine, project)


@router.post(CONFIGS, status_code=201)
def create_config(request: Request, project: str, body: ConfigIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return configs.create_config(request.app.state.engine, project, **body.model_dump())


@router.get(CONFIGS + "/{name}")
def get_config(request: Request, project: str, name: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return configs.get_config(request.app.state.engine, project, name)


@router.get(QUEUES)
def list_queues(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return queues.list_queues(request.app.state.engine, project)


@router.post(QUEUES, status_code=201)
def create_queue(request: Request, project: str, body: QueueIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return queues.create_queue(request.app.state.engine, project, body.name, body.score_configs, body.description)


@router.get(QUEUE)
def get_queue(request: Request, project: str, queue: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return queues.get_queue(request.app.state.engine, project, queue)


@router.get(QUEUE + "/items")
def list_items(request: Request, project: str, queue: str, status: str | None = None, limit: int = 50,
               cursor: str | None = None, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    page = queues.list_items(request.app.state.engine, project, queue, status, limit, cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(QUEUE + "/items", status_code=201)
async def add_items(request: Request, project: str, queue: str, body: ItemsIn,
                    auth: Access = Depends(writer)) -> dict[str, Any]:
    """Spans become pending items; those already in the queue are counted as `already`."""
    auth.check_project(project)
    return await run_in_threadpool(queues.add_items, request.app.state.engine, project, queue, **body.model_dump())


@router.post(QUEUE + "/next")
def next_item(request: Request, project: str, queue: str, body: ReviewerIn,
              auth: Access = Depends(writer)) -> dict[str, Any]:
    """`{"item": …, "span": …}`, the item leased to the reviewer; `{"item": null}` when none is left."""
    auth.check_project(project)
    engine = request.app.state.engine
    item = queues.next_item(engine, project, queue, body.reviewer)
    return {"item": item, "span": get_span(engine, item["span_id"], project) if item else None}


@router.post(QUEUE + "/items/{item_id}/complete")
def complete_item(request: Request, project: str, queue: str, item_id: int, body: CompleteIn,
                  auth: Access = Depends(writer)) -> dict[str, Any]:
    """Every answer is checked against its config first; a bad one stores nothing."""
    auth.check_project(project)
    return queues.complete_item(request.app.state.engine, project, queue, item_id, body.reviewer, body.scores,
                                body.comment)


@router.post(QUEUE + "/items/{item_id}/skip")
def skip_item(request: Request, project: str, queue: str, item_id: int, body: ReviewerIn,
              auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return queues.skip_item(request.app.state.engine, project, queue, item_id, body.reviewer)
