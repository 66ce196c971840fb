"""`/projects/{project}/prompt-generations`: start an automatic prompt generation run (CSRF-checked
form, inline errors, reachable from the prompts list and with `?dataset=` from a dataset), the list
of runs, and one run: progress while it runs, then the ranked candidates (template shown escaped,
score with its 95% interval, per-example drill-down) each with a "Save as version" form."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.autoprompt import runs
from tenbin.autoprompt.plan import MAX_CANDIDATES, evaluator_spec
from tenbin.autoprompt.plan import Request as GenerationRequest
from tenbin.errors import Forbidden, InvalidInput, TenbinError
from tenbin.evals import registry as evaluators
from tenbin.prompts import registry as prompts
from tenbin.prompts.templates import Template
from tenbin.server.auth import Access
from tenbin.server.routes.prompt_generations import start_run
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access, ui_author
from tenbin.store import datasets as datasets_store

router = APIRouter()
BASE = "/projects/{project}/prompt-generations"
DEFAULTS = {"n": "4", "evaluator": "contains", "shots": "2", "limit": "50"}


def _iso(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()


def _writable(access: Access, project: str) -> None:
    access.check_project(project)
    if "write" not in access.scopes:
        raise Forbidden("this key can only read; sign in with a key that has the write scope to generate prompts")


def _number(form: dict[str, str], key: str) -> int:
    text = (form.get(key) or DEFAULTS[key]).strip()
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{key} must be a whole number; got {text!r}") from None


def request_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The REST body of a run from the form's fields (evaluator params as a JSON object)."""
    evaluator = evaluator_spec(form.get("evaluator", "").strip() or "contains", form.get("evaluator_params"))
    body: dict[str, Any] = {"dataset": form.get("dataset", "").strip(), "task": form.get("task", "").strip(),
                            "evaluator": evaluator, **{k: _number(form, k) for k in ("n", "shots", "limit")}}
    for key in ("base_prompt", "input_var"):
        if form.get(key, "").strip():
            body[key] = form[key].strip()
    return body


def list_context(engine: Engine, access: Access, project: str, form: dict[str, str]) -> dict[str, Any]:
    items = [{**r, "created": _iso(r["created_us"])} for r in runs.list_runs(engine, project)]
    return {"project": project, "nav": "prompts", "access": access, "runs": items, "error": None,
            "form": {**DEFAULTS, **form}, "datasets": datasets_store.list_datasets(engine, project),
            "prompts": prompts.list_prompts(engine, project), "evaluators": evaluators.names(),
            "max_candidates": MAX_CANDIDATES, "shots_default": GenerationRequest.shots,
            "can_write": "write" in access.scopes}


@router.get(BASE, response_class=HTMLResponse)
def generations_page(request: Request, project: str, dataset: str = "", access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    form = {"dataset": dataset} if dataset else {}
    return render(request, "prompt_generations.html", **list_context(request.app.state.engine, access, project, form))


@router.post(BASE)
async def start(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    _writable(access, project)
    try:
        started = await run_in_threadpool(lambda: start_run(request, project, request_from_form(form)))
    except TenbinError as exc:  # bad input, unknown names, or no LLM: shown on the form, nothing stored
        context = await run_in_threadpool(list_context, request.app.state.engine, access, project, form)
        context["error"] = str(exc)
        return render(request, "prompt_generations.html", status_code=exc.status_code, **context)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/prompt-generations/{started['id']}", status_code=303)


def run_context(engine: Engine, access: Access, project: str, run_id: int) -> dict[str, Any]:
    found = runs.get_run(engine, run_id, project=project)
    for cand in found["candidates"]:
        valid = cand["status"] == "valid"
        cand["source"] = Template.from_dict(cand["template"]).as_text() if valid else (cand["template"] or {}).get("template")
    return {"project": project, "nav": "prompts", "access": access, "run": found, "created": _iso(found["created_us"]),
            "active": found["status"] in runs.ACTIVE, "can_write": "write" in access.scopes, "save_error": None,
            "save_position": None, "form": {}}


@router.get(BASE + "/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, project: str, run_id: int, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "prompt_generation.html", **run_context(request.app.state.engine, access, project, run_id))


@router.post(BASE + "/{run_id}/candidates/{position}/save")
async def save(request: Request, project: str, run_id: int, position: int, access: Access = Depends(ui_access)) -> Response:
    """Save as version: the new version's page is where the user lands."""
    form = await check_csrf(request)
    _writable(access, project)
    engine, name = request.app.state.engine, form.get("name", "").strip()
    try:
        saved = await run_in_threadpool(runs.save_candidate, engine, run_id, position, name,
                                        label=form.get("label", "").strip() or None, author=ui_author(request),
                                        project=project)
    except TenbinError as exc:
        context = await run_in_threadpool(run_context, engine, access, project, run_id)
        context.update(save_error=str(exc), save_position=position, form=form)
        return render(request, "prompt_generation.html", status_code=exc.status_code, **context)
    target = f"/projects/{quote(project, safe='')}/prompts/{quote(saved['name'], safe='')}?version={saved['version']}"
    return RedirectResponse(target, status_code=303)
