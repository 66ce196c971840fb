"""`/projects/{project}/prompt-experiments`: A/B experiments between prompt versions — the list,
one experiment's live numbers with charts (per-arm metric with its interval, per-version
performance over time), and a CSRF-checked form that stops it and promotes a version."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.prompts import experiments
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access, ui_author

router = APIRouter()
BASE = "/projects/{project}/prompt-experiments"
PERF_BUCKET_SECONDS = 3600


@router.get(BASE, response_class=HTMLResponse)
def experiment_list(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    rows = experiments.list_all(request.app.state.engine, project)
    return render(request, "prompt_experiments.html", project=project, nav="experiments", access=access, experiments=rows)


def page_context(engine: Engine, access: Access, project: str, experiment_id: int) -> dict[str, Any]:
    live = experiments.results(engine, project, experiment_id)
    perf = experiments.performance(engine, project, live["prompt"], PERF_BUCKET_SECONDS, live["started_us"], live["ended_us"])
    chart = {"arms": [{"label": f"v{a['version']}", "value": a["metric"]["value"], "low": a["metric"]["low"],
                       "high": a["metric"]["high"]} for a in live["arms"]],
             "rate": live["rate"], "performance": perf}
    return {"project": project, "nav": "experiments", "access": access, "exp": live, "chart": chart,
            "can_write": "write" in access.scopes and live["status"] == "running", "stop_error": None}


@router.get(BASE + "/{experiment_id}", response_class=HTMLResponse)
def experiment_page(request: Request, project: str, experiment_id: int,
                    access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "prompt_experiment.html", **page_context(request.app.state.engine, access, project, experiment_id))


def _promotion(text: str) -> int | str | None:
    text = text.strip()
    if text in ("", "none"):
        return None
    return int(text) if text.isdigit() else text


@router.post(BASE + "/{experiment_id}/stop")
async def stop(request: Request, project: str, experiment_id: int, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "stop experiments")
    engine = request.app.state.engine
    try:
        await run_in_threadpool(experiments.stop, engine, project, experiment_id, _promotion(form.get("promote", "")),
                                author=ui_author(request), force=form.get("force") == "on")
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(page_context, engine, access, project, experiment_id)
        context["stop_error"] = str(exc)
        return render(request, "prompt_experiment.html", status_code=400 if isinstance(exc, InvalidInput) else 404, **context)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/prompt-experiments/{experiment_id}", status_code=303)
