"""`/projects/{project}/evaluators`: every evaluator the project can use (what GET /evals/evaluators
lists for it), each judge with the registry template it uses (linked, to edit) and its last
calibration; `…/evaluators/{judge}` shows that judge's last calibration report in full.

Calibrate runs `calibration.calibrate_project`, the function POST /evals/calibrate runs for a project,
on the server's model (TENBIN_LLM_*). It runs within the request: 22 cases take seconds on a fast
model and about 30 s on the bundled local one, and a plain form POST answered with the report works
without JavaScript and needs no job to track. A failure is shown on the judge's page; nothing is kept.
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
from tenbin.errors import InvalidInput, LLMError, NotFound, TenbinError
from tenbin.evals import calibration, judge_prompts, judges
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import calibrations as store

router = APIRouter()
BASE = "/projects/{project}/evaluators"


def _url(project: str, judge: str) -> str:
    return f"/projects/{quote(project, safe='')}/evaluators/{quote(judge, safe='')}"


def _known_judge(judge: str) -> None:
    if judge not in judges.SPECS:
        raise NotFound(f"no LLM judge {judge!r}; judges: {', '.join(judges.SPECS)}")


def _common(access: Access, project: str) -> dict[str, Any]:
    return {"project": project, "nav": "evaluators", "access": access, "can_write": "write" in access.scopes,
            "llm_url": config.LLM_BASE_URL.get(), "llm_model": config.LLM_MODEL.get(),
            "kappa_reading": calibration.kappa_reading, "judge_prefix": judge_prompts.PREFIX, "error": None}


def catalog_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    return {**_common(access, project), "evaluators": calibration.project_catalog(engine, project)}


def judge_context(engine: Engine, access: Access, project: str, judge: str) -> dict[str, Any]:
    """The judge as the catalog lists it, its set's size and its last report (None if never calibrated)."""
    item = next(e for e in calibration.project_catalog(engine, project) if e["name"] == judge)
    report = store.last_report(engine, project, judge)
    wrong = [p for p in report["predictions"] if p["expected"] != p["predicted"]] if report else []
    return {**_common(access, project), "judge": item, "cases": len(calibration.load_set(judge)),
            "report": report, "wrong": wrong}


def failure(exc: TenbinError) -> str:
    """What went wrong, and for a model error where the model is set."""
    message = f"Calibration failed, nothing was stored: {exc}"
    if isinstance(exc, LLMError) and "TENBIN_LLM_BASE_URL" not in message:
        message += " Check the server's TENBIN_LLM_BASE_URL and TENBIN_LLM_MODEL."
    return message


@router.get(BASE, response_class=HTMLResponse)
def evaluators_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "evaluators.html", **catalog_context(request.app.state.engine, access, project))


@router.get(BASE + "/{judge}", response_class=HTMLResponse)
def judge_page(request: Request, project: str, judge: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    _known_judge(judge)
    return render(request, "evaluator.html", **judge_context(request.app.state.engine, access, project, judge))


@router.post(BASE + "/{judge}/calibrate")
async def calibrate(request: Request, project: str, judge: str, access: Access = Depends(ui_access)) -> Response:
    """Calibrate the project's template of `judge` and show the report (kept as its last calibration)."""
    await check_csrf(request)
    require_write(access, project, "calibrate judges")
    _known_judge(judge)
    engine = request.app.state.engine
    tracing = judge_tracing(request.app)
    try:
        await run_in_threadpool(partial(calibration.calibrate_project, engine, judge, project, tracer=tracing.tracer))
    except (LLMError, InvalidInput) as exc:
        context = await run_in_threadpool(judge_context, engine, access, project, judge)
        context["error"] = failure(exc)
        return render(request, "evaluator.html", status_code=exc.status_code, **context)
    finally:
        await run_in_threadpool(tracing.flush)
    return RedirectResponse(_url(project, judge) + "#report", status_code=303)
