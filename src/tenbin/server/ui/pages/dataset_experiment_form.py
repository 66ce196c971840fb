"""The "New experiment" page: choose a dataset version, a prompt version (or label) and evaluators,
and start an eval experiment through `experiments.start_stored`, the function REST's
POST …/datasets/{name}/experiments calls; then the experiment's own page shows its progress.
A refusal (no evaluator, bad parameters, a reference evaluator on examples without expected output…)
comes back inline with the form as sent; nothing is stored.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin import config
from tenbin.errors import InvalidInput, LLMError, NotFound
from tenbin.evals import experiments, judge_prompts
from tenbin.prompts import registry as prompts
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui.evaluator_choice import choices, chosen
from tenbin.server.ui.pages.datasets import EXPERIMENTS
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import datasets as store

router = APIRouter()


def _prompt_refs(prompt: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, text) of each way to name a prompt version: its labels, then every version, newest first."""
    name = prompt["name"]
    labelled = [(f"{name}@{label}", f"{name}@{label} (v{v})") for label, v in prompt["labels"].items()]
    return labelled + [(f"{name}@{v}", f"{name} v{v}") for v in range(prompt["latest_version"], 0, -1)]


def form_context(engine: Engine, access: Access, project: str, form: dict[str, str]) -> dict[str, Any]:
    """Everything the form offers: datasets, the app's prompts (not tenbin's judge templates), evaluators."""
    listed = [p for p in prompts.list_prompts(engine, project) if not p["name"].startswith(judge_prompts.PREFIX)]
    return {"project": project, "nav": "datasets", "access": access, "form": form, "error": None,
            "can_write": "write" in access.scopes, "datasets": store.list_datasets(engine, project),
            "prompts": [{"name": p["name"], "refs": _prompt_refs(p)} for p in listed],
            "evaluators": choices(judge_prompts.Local(engine, project)), "fields": experiments.FIELD_SOURCES,
            "model": config.LLM_MODEL.get()}


def _start_arguments(form: dict[str, str]) -> dict[str, Any]:
    """The form as `start_stored`'s keyword arguments (the REST body's fields), checked for presence."""
    version = form.get("version", "").strip()
    if not form.get("dataset", "").strip():
        raise InvalidInput("choose a dataset")
    if not form.get("prompt", "").strip():
        raise InvalidInput("choose a prompt version (NAME@VERSION or NAME@LABEL)")
    specs = chosen(form)
    if version and not version.isdigit():
        raise InvalidInput(f"the dataset version is a whole number (empty for the latest); got {version!r}")
    return {"dataset": form["dataset"].strip(), "prompt": form["prompt"].strip(), "version": int(version) if version else None,
            "evaluators": specs, "name": form.get("name", "").strip() or None}


@router.get(EXPERIMENTS + "/new", response_class=HTMLResponse)
def new_page(request: Request, project: str, dataset: str = "", version: str = "", prompt: str = "",
             access: Access = Depends(ui_access)) -> HTMLResponse:
    """The form, pre-filled from the page that links here (a dataset version, or a prompt version)."""
    access.check_project(project)
    form = {"dataset": dataset, "version": version, "prompt": prompt}
    return render(request, "experiment_new.html", **form_context(request.app.state.engine, access, project, form))


@router.post(EXPERIMENTS)
async def start(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    """Start it in the background and go to its page, or show the form again with the refusal."""
    form = await check_csrf(request)
    require_write(access, project, "start experiments")
    engine, tracing = request.app.state.engine, judge_tracing(request.app)
    try:
        started = await run_in_threadpool(partial(experiments.start_stored, engine, project, **_start_arguments(form),
                                                  tracer=tracing.tracer, on_done=tracing.flush))
    except (InvalidInput, NotFound, LLMError) as exc:
        context = await run_in_threadpool(form_context, engine, access, project, form)
        context["error"] = str(exc)
        return render(request, "experiment_new.html", status_code=exc.status_code, **context)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/experiments/{started['id']}", status_code=303)
