"""Online eval rules over REST, and the scheduler task that runs them in the server.

    GET    /projects/{p}/online-evals            rules with status (backlog, evaluated, last error, next attempt)
    POST   /projects/{p}/online-evals            create (every field checked first; 400 says what to fix)
    GET    /projects/{p}/online-evals/{name}     one rule with status
    PATCH  /projects/{p}/online-evals/{name}     change filter, sampling_rate, evaluators, max_per_minute, enabled
    DELETE /projects/{p}/online-evals/{name}     delete (the results stay on the spans)
    POST   /projects/{p}/online-evals/run        one pass now: {"rule": name} or every enabled rule

Judges run here on the server's model (TENBIN_LLM_*), traced into `tenbin-evals` like `/evals/run`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tenbin import config
from tenbin.errors import InvalidInput
from tenbin.evals import online
from tenbin.evals import online_rules as rules
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.evals import judge_tracing
from tenbin.store import online_rules as store

router = APIRouter(tags=["online evals"])
BASE = "/projects/{project}/online-evals"


class RuleIn(BaseModel):
    name: str = Field(..., description="letters, digits, '-', '_', '.'")
    evaluators: list[str | dict[str, Any]] = Field(..., description='e.g. ["json_valid", "qa_correctness"]')
    filter: str = Field("", description='which spans, e.g. kind == "LLM" (empty: every span)')
    sampling_rate: Any = Field(1.0, description="share of matching spans evaluated, in (0, 1]")
    max_per_minute: Any = Field(None, description="most spans evaluated per minute; null: no limit")
    enabled: bool = True
    backfill: bool = Field(False, description="also evaluate spans stored before the rule was created")


class RuleChange(BaseModel):
    evaluators: list[str | dict[str, Any]] | None = None
    filter: str | None = None
    sampling_rate: Any = None
    max_per_minute: Any = Field(None, description="0 or null removes the limit")
    enabled: bool | None = None


class RunIn(BaseModel):
    rule: str | None = Field(None, description="run this rule (even if disabled); default every enabled rule")


@router.get(BASE)
def list_rules(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return rules.list_rules(request.app.state.engine, project)


@router.post(BASE, status_code=201)
def create_rule(request: Request, project: str, body: RuleIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """A rule over spans that start from now on (or, with backfill, those already stored too)."""
    auth.check_project(project)
    return rules.create(request.app.state.engine, project, body.name, evaluators=body.evaluators, filter=body.filter,
                        sampling_rate=body.sampling_rate, max_per_minute=body.max_per_minute, enabled=body.enabled,
                        backfill=body.backfill)


@router.post(BASE + "/run")
async def run_rules(request: Request, project: str, body: RunIn | None = None,
                    auth: Access = Depends(writer)) -> list[dict[str, Any]]:
    """One pass now, ignoring back-off: per rule its outcome, spans scanned and evaluated, any error."""
    auth.check_project(project)
    name = body.rule if body else None
    return await run_in_threadpool(online.run_pass, request.app.state.engine, project, name, force=True,
                                   tracing=judge_tracing(request.app))


@router.get(BASE + "/{name}")
def get_rule(request: Request, project: str, name: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return rules.get(request.app.state.engine, project, name)


@router.patch(BASE + "/{name}")
def change_rule(request: Request, project: str, name: str, body: RuleChange,
                auth: Access = Depends(writer)) -> dict[str, Any]:
    """Change what is given; spans already decided stay decided."""
    auth.check_project(project)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "max_per_minute"}
    if changes.get("max_per_minute") == 0:
        changes["max_per_minute"] = None
    return rules.update(request.app.state.engine, project, name, **changes)


@router.delete(BASE + "/{name}")
def delete_rule(request: Request, project: str, name: str, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Delete the rule; the results it stored stay on the spans."""
    auth.check_project(project)
    rules.delete(request.app.state.engine, project, name)
    return {"deleted": name, "project": project}


def _tick(app: FastAPI) -> None:
    engine = app.state.engine
    if store.list_rules(engine, enabled_only=True):
        online.run_pass(engine, tracing=judge_tracing(app), stop=app.state.scheduler.stopping)


def schedule(app: FastAPI, interval_s: float | None = None) -> None:
    """Run every enabled rule every TENBIN_ONLINE_EVAL_INTERVAL seconds on the app's scheduler (0: never)."""
    text = config.ONLINE_EVAL_INTERVAL.get(None if interval_s is None else str(interval_s))
    try:
        interval = float(text)
    except ValueError:
        raise InvalidInput(f"TENBIN_ONLINE_EVAL_INTERVAL must be a number of seconds (0 disables); got {text!r}") from None
    if interval > 0:
        app.state.scheduler.register("online-evals", interval, lambda: _tick(app))
