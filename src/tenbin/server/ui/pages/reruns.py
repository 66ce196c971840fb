""""Run again" for the three kinds of background run: an embedding analysis, an eval experiment and a
prompt generation. The button (templates/rerun.html) shows on a run page when the run failed or
was interrupted; its CSRF-checked POST starts a new run with the stored parameters through the same
functions as REST (…/rerun) and lands on the new run's page. A refusal (the run is still going, a
dataset or prompt version it used is gone, no LLM) is shown on the run's page; nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from tenbin.analytics import analysis
from tenbin.errors import InvalidInput, LLMError
from tenbin.evals import experiment_reruns
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.routes.prompt_generations import rerun_run
from tenbin.server.ui.pages import datasets, embeddings, prompt_generations
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access

router = APIRouter()
PROJECT = "/projects/{project}"


async def _run_again(request: Request, project: str, access: Access, start: Callable[[], dict[str, Any]],
                     page: str, context: Callable[[], dict[str, Any]], kind: str) -> Response:
    """Start the new run and redirect to `…/{kind}/{new id}`, or show the refusal on the old run's page."""
    await check_csrf(request)
    require_write(access, project, "run it again")
    try:
        started = await run_in_threadpool(start)
    except (InvalidInput, LLMError) as exc:
        shown = await run_in_threadpool(context)
        shown["rerun_error"] = str(exc)
        return render(request, page, status_code=exc.status_code, **shown)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/{kind}/{started['id']}", status_code=303)


@router.post(PROJECT + "/embeddings/{analysis_id}/rerun")
async def rerun_analysis(request: Request, project: str, analysis_id: int, access: Access = Depends(ui_access)) -> Response:
    engine = request.app.state.engine
    return await _run_again(request, project, access,
                            lambda: analysis.rerun_in_background(engine, analysis_id, project), "embeddings_run.html",
                            lambda: embeddings.run_context(engine, access, project, analysis_id), "embeddings")


@router.post(PROJECT + "/experiments/{experiment_id}/rerun")
async def rerun_experiment(request: Request, project: str, experiment_id: int,
                           access: Access = Depends(ui_access)) -> Response:
    engine, tracing = request.app.state.engine, judge_tracing(request.app)
    return await _run_again(request, project, access,
                            lambda: experiment_reruns.start_rerun(engine, project, experiment_id, tracer=tracing.tracer,
                                                                  on_done=tracing.flush), "experiment.html",
                            lambda: datasets.experiment_context(engine, access, project, experiment_id), "experiments")


@router.post(PROJECT + "/prompt-generations/{run_id}/rerun")
async def rerun_generation(request: Request, project: str, run_id: int, access: Access = Depends(ui_access)) -> Response:
    engine = request.app.state.engine
    return await _run_again(request, project, access, lambda: rerun_run(request, run_id, project),
                            "prompt_generation.html",
                            lambda: prompt_generations.run_context(engine, access, project, run_id), "prompt-generations")
