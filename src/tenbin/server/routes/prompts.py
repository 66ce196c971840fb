"""The prompt registry over REST: list and push prompts, fetch a version by label or number, move
labels (audited), diff two versions, read the audit log, render with a token count."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin import config
from tenbin.prompts import registry
from tenbin.prompts.tokens import count_tokens
from tenbin.server.auth import Access, reader, writer

router = APIRouter(tags=["prompts"])
BASE = "/projects/{project}/prompts"


class VersionIn(BaseModel):
    """A new version; `name` is taken from the path when pushing to /prompts/{name}/versions."""

    name: str | None = Field(None, max_length=200)
    template: str | None = Field(None, description="a text template; or give messages")
    messages: list[dict[str, Any]] | None = Field(None, description='chat template: [{"role": "system", "content": "..."}]')
    format: str | None = Field(None, description="jinja or fstring ({name} style); detected when omitted")
    variables: list[Any] | dict[str, Any] | None = Field(None, description='e.g. [{"name": "question", "type": "string"}]')
    model: str | None = Field(None, max_length=200)
    params: dict[str, Any] | None = None
    examples: list[dict[str, Any]] | None = None
    message: str | None = Field(None, description="what changed, like a commit message")
    author: str | None = Field(None, max_length=200)


class LabelIn(BaseModel):
    version: int = Field(..., ge=1)
    author: str | None = Field(None, max_length=200)
    reason: str = Field("", max_length=2000)


class RenderIn(BaseModel):
    variables: dict[str, Any] = Field(default_factory=dict)
    model: str | None = Field(None, description="tokenizer to count with; default: the version's model")


def _fields(body: VersionIn) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


@router.get(BASE)
def list_prompts(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Every prompt of the project with its newest version and labels."""
    auth.check_project(project)
    return registry.list_prompts(request.app.state.engine, project)


@router.post(BASE, status_code=201)
def create(request: Request, project: str, body: VersionIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Push a version of prompt `name` (creating the prompt on its first version)."""
    auth.check_project(project)
    return registry.push(request.app.state.engine, project, _fields(body))


@router.post(BASE + "/{name}/versions", status_code=201)
def push_version(request: Request, project: str, name: str, body: VersionIn,
                 auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return registry.push(request.app.state.engine, project, {**_fields(body), "name": name})


@router.get(BASE + "/{name}")
def get_prompt(request: Request, project: str, name: str, label: str | None = None, version: int | None = None,
               auth: Access = Depends(reader)) -> dict[str, Any]:
    """One version, by `?label=` or `?version=`; the newest when neither is given."""
    auth.check_project(project)
    return registry.get(request.app.state.engine, project, name, label=label, version=version)


@router.get(BASE + "/{name}/versions")
def versions(request: Request, project: str, name: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return registry.list_versions(request.app.state.engine, project, name)


@router.put(BASE + "/{name}/labels/{label}")
def move_label(request: Request, project: str, name: str, label: str, body: LabelIn,
               auth: Access = Depends(writer)) -> dict[str, Any]:
    """Point `label` at a version (a rollback is a move back); the move is audited."""
    auth.check_project(project)
    return registry.move_label(request.app.state.engine, project, name, label, body.version,
                               author=body.author, reason=body.reason)


@router.get(BASE + "/{name}/diff")
def diff(request: Request, project: str, name: str, from_version: int, to_version: int,
         auth: Access = Depends(reader)) -> dict[str, Any]:
    """Unified diff of the templates and the other fields that changed, from one version to another."""
    auth.check_project(project)
    return registry.diff(request.app.state.engine, project, name, from_version, to_version)


@router.get(BASE + "/{name}/audit")
def audit(request: Request, project: str, name: str, limit: int = 200,
          auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Every label move, newest first: label, from, to, who, when, why."""
    auth.check_project(project)
    return registry.audit_log(request.app.state.engine, project, name, min(max(limit, 1), 1000))


@router.post(BASE + "/{name}/render")
async def render(request: Request, project: str, name: str, body: RenderIn, label: str | None = None,
                 version: int | None = None, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Render a version with variables; the result's token count says whether it is exact."""
    auth.check_project(project)
    found = await run_in_threadpool(registry.get, request.app.state.engine, project, name, label=label, version=version)
    rendered = registry.template_of(found).render(**body.variables)
    model = body.model or found.get("model") or config.LLM_MODEL.get()
    tokens = await run_in_threadpool(count_tokens, rendered, model)
    return {"name": name, "version": found["version"], "rendered": rendered,
            "tokens": {"count": tokens.count, "exact": tokens.exact, "tokenizer": tokens.tokenizer, "model": model}}
