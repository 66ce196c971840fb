"""`/projects/{project}/online-evals`: the project's online eval rules with their backlog and health
(state, last error, next attempt), a create form whose errors (a bad filter, an unknown evaluator,
a rate outside (0, 1]) show inline, and enable/disable, run now and delete buttons (CSRF-checked)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import Forbidden, InvalidInput, NotFound
from tenbin.evals import judge_prompts, judges, online, registry
from tenbin.evals import online_rules as rules
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access
from tenbin.store import prompts as prompt_store

router = APIRouter()
BASE = "/projects/{project}/online-evals"


def _home(project: str) -> str:
    return f"/projects/{quote(project, safe='')}/online-evals"


def _writable(access: Access, project: str) -> None:
    access.check_project(project)
    if "write" not in access.scopes:
        raise Forbidden("this key can only read; sign in with a key that has the write scope to change online evals")


def _evaluators(text: str) -> list[Any]:
    """Comma-separated names, or a JSON list for evaluators with params."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f'evaluators: not a JSON list ({exc}); e.g. ["json_valid", {{"name": "regex", '
                               '"params": {"pattern": "\\\\d+"}}]') from None
        return value if isinstance(value, list) else [value]
    return [n.strip() for n in text.split(",") if n.strip()]


def _limit(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"max per minute must be a whole number of at least 1, or empty for no limit; got {text!r}")
    return int(text)


def create_from_form(engine: Engine, project: str, form: dict[str, str]) -> dict[str, Any]:
    return rules.create(engine, project, form.get("name", ""), evaluators=_evaluators(form.get("evaluators", "")),
                        filter=form.get("filter", ""), sampling_rate=form.get("sampling_rate", "").strip() or "1",
                        max_per_minute=_limit(form.get("max_per_minute", "")), backfill=form.get("backfill") == "on")


def judge_templates(engine: Engine, project: str) -> dict[str, str]:
    """Judge name → its registry prompt, for the judges this project has run (their templates to edit)."""
    names = {p["name"] for p in prompt_store.list_prompts(engine, project)}
    return {j: judge_prompts.prompt_name(j) for j in judges.SPECS if judge_prompts.prompt_name(j) in names}


def page_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    return {"project": project, "nav": "online-evals", "access": access, "rules": rules.list_rules(engine, project),
            "known": registry.names(), "error": None, "form": {}, "can_write": "write" in access.scopes,
            "ran": None, "judge_templates": judge_templates(engine, project), "judge_prefix": judge_prompts.PREFIX}


@router.get(BASE, response_class=HTMLResponse)
def online_evals_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "online_evals.html", **page_context(request.app.state.engine, access, project))


@router.post(BASE)
async def create(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    try:
        await run_in_threadpool(create_from_form, engine, project, form)
    except InvalidInput as exc:
        context = await run_in_threadpool(page_context, engine, access, project)
        context.update(error=str(exc), form=form)
        return render(request, "online_evals.html", status_code=400, **context)
    return RedirectResponse(_home(project), status_code=303)


@router.post(BASE + "/{name}/{action}")
async def act(request: Request, project: str, name: str, action: str, access: Access = Depends(ui_access)) -> Response:
    """enable, disable, delete, or run (one pass now, even if disabled; the page shows its outcome)."""
    await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    if action in ("enable", "disable"):
        await run_in_threadpool(rules.enable, engine, project, name, action == "enable")
    elif action == "delete":
        await run_in_threadpool(rules.delete, engine, project, name)
    elif action == "run":
        [ran] = await run_in_threadpool(online.run_pass, engine, project, name, force=True,
                                        tracing=judge_tracing(request.app))
        context = await run_in_threadpool(page_context, engine, access, project)
        context["ran"] = ran
        return render(request, "online_evals.html", **context)
    else:
        raise NotFound(f"no action {action!r} on an online eval rule; use enable, disable, run or delete")
    return RedirectResponse(_home(project), status_code=303)
