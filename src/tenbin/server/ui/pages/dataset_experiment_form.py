"""The "New experiment" page: choose a dataset version, a prompt version (or label) and evaluators,
and start an eval experiment through `experiments.start_stored`, the function REST's
POST …/datasets/{name}/experiments calls; then the experiment's own page shows its progress.
A refusal (no evaluator, bad parameters, a reference evaluator on examples without expected output…)
comes back inline with the form as sent; nothing is stored.

This module's name sorts before `datasets.py` on purpose: pages are mounted in name order, and
/experiments/new must be matched before that module's /experiments/{experiment_id}.
"""

from __future__ import annotations

import json
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
from tenbin.evals import registry as evaluators
from tenbin.prompts import registry as prompts
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import datasets as store

router = APIRouter()
EXPERIMENTS = "/projects/{project}/experiments"
CHECKED, PARAMS = "eval.", "params."
"""Form field prefixes: `eval.NAME` is an evaluator's checkbox, `params.NAME` its JSON parameters."""
PARAMS_EXAMPLE = '{"pattern": "\\\\d+"}'


def _prompt_refs(prompt: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, text) of each way to name a prompt version: its labels, then every version, newest first."""
    name = prompt["name"]
    labelled = [(f"{name}@{label}", f"{name}@{label} (v{v})") for label, v in prompt["labels"].items()]
    return labelled + [(f"{name}@{v}", f"{name} v{v}") for v in range(prompt["latest_version"], 0, -1)]


def _with_hints(item: dict[str, Any]) -> dict[str, Any]:
    """A catalog entry plus what its parameters box shows: the required ones as an object to fill in
    (else the optional names), and every accepted name as its tooltip."""
    params = item.get("parameters") or []
    required = [p["name"] for p in params if p["required"]]
    placeholder = "{" + ", ".join(f'"{n}": …' for n in required) + "}" if required else \
        "optional: " + ", ".join(p["name"] for p in params)
    accepted = ", ".join(p["name"] + (" (required)" if p["required"] else "") for p in params)
    return {**item, "summary": (item.get("doc") or "").strip().split("\n")[0],
            "placeholder": placeholder if params else "", "accepts": f"a JSON object; parameters: {accepted}"}


def form_context(engine: Engine, access: Access, project: str, form: dict[str, str]) -> dict[str, Any]:
    """Everything the form offers: datasets, the app's prompts (not tenbin's judge templates), evaluators."""
    listed = [p for p in prompts.list_prompts(engine, project) if not p["name"].startswith(judge_prompts.PREFIX)]
    catalog = evaluators.catalog(judge_prompts.Local(engine, project))
    return {"project": project, "nav": "datasets", "access": access, "form": form, "error": None,
            "can_write": "write" in access.scopes, "datasets": store.list_datasets(engine, project),
            "prompts": [{"name": p["name"], "refs": _prompt_refs(p)} for p in listed],
            "evaluators": [_with_hints(e) for e in catalog], "fields": experiments.FIELD_SOURCES,
            "model": config.LLM_MODEL.get()}


def _spec(name: str, params: str) -> evaluators.Spec:
    """An evaluator as REST names it: the bare name, or {"name", "params"} when parameters were given."""
    if not params.strip():
        return name
    try:
        value = json.loads(params)
    except ValueError as exc:
        raise InvalidInput(f"parameters of {name}: not JSON ({exc}); write an object such as {PARAMS_EXAMPLE}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"parameters of {name}: write a JSON object such as {PARAMS_EXAMPLE}; got {params!r}")
    return {"name": name, "params": value}


def _start_arguments(form: dict[str, str]) -> dict[str, Any]:
    """The form as `start_stored`'s keyword arguments (the REST body's fields), checked for presence."""
    chosen = [key.removeprefix(CHECKED) for key in form if key.startswith(CHECKED)]
    version = form.get("version", "").strip()
    if not form.get("dataset", "").strip():
        raise InvalidInput("choose a dataset")
    if not form.get("prompt", "").strip():
        raise InvalidInput("choose a prompt version (NAME@VERSION or NAME@LABEL)")
    if not chosen:
        raise InvalidInput("choose at least one evaluator")
    if version and not version.isdigit():
        raise InvalidInput(f"the dataset version is a whole number (empty for the latest); got {version!r}")
    return {"dataset": form["dataset"].strip(), "prompt": form["prompt"].strip(), "version": int(version) if version else None,
            "evaluators": [_spec(name, form.get(PARAMS + name, "")) for name in chosen],
            "name": form.get("name", "").strip() or None}


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
    engine, tracing = request.app.state.engine, judge_tracing(request)
    try:
        started = await run_in_threadpool(partial(experiments.start_stored, engine, project, **_start_arguments(form),
                                                  tracer=tracing.tracer, on_done=tracing.flush))
    except (InvalidInput, NotFound, LLMError) as exc:
        context = await run_in_threadpool(form_context, engine, access, project, form)
        context["error"] = str(exc)
        return render(request, "experiment_new.html", status_code=exc.status_code, **context)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/experiments/{started['id']}", status_code=303)
