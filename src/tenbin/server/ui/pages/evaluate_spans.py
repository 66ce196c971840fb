""""Evaluate" from the traces: the traces ticked on the traces list (each one's root span) or the span
shown on a trace page, scored by the chosen evaluators through `runner.evaluate_spans` — what REST's
POST /api/v1/evals/run calls, with the same judge tracing — and stored as feedback on the spans.

The list answers with a results page (it runs synchronously: at most one page of traces, well
within the runner's MAX_SPANS); a trace page goes back to its feedback section. A refusal (nothing
ticked, no evaluator, a span lacking a needed field, no reachable LLM for a judge) comes back inline
with the form as sent, and nothing is stored: the runner checks every field before any call and
stores only after every evaluator has answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, LLMError, NotFound
from tenbin.evals import runner
from tenbin.evals.tracing import JudgeTracing
from tenbin.server.auth import Access
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui.evaluator_choice import chosen
from tenbin.server.ui.pages.trace import error_page, shown_span
from tenbin.server.ui.pages.traces import refused, selection
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access
from tenbin.store.ui_queries import span_traces

router = APIRouter()
REFUSALS = (InvalidInput, NotFound, LLMError)


def evaluate(engine: Engine, tracing: JudgeTracing, project: str, span_ids: Sequence[str],
             form: Mapping[str, str]) -> dict[str, Any]:
    """The ticked evaluators on `span_ids` (of `project`), stored as feedback; the runner's report."""
    if not span_ids:
        raise InvalidInput("select at least one trace (tick its box) to evaluate")
    return runner.evaluate_spans(engine, span_ids, chosen(form), tracing=tracing, project=project,
                                 skip_missing=bool(form.get("skip_missing")))


def summary(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per evaluator: how many results, how many of each label, and the mean score (1 = good)."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_name[r["evaluator"]].append(r)
    out = []
    for name, rows in by_name.items():
        scores = [r["score"] for r in rows if r["score"] is not None]
        labels: dict[str, int] = defaultdict(int)
        for r in rows:
            if r["label"]:
                labels[r["label"]] += 1
        out.append({"evaluator": name, "n": len(rows), "labels": dict(labels),
                    "mean": sum(scores) / len(scores) if scores else None})
    return out


def results_context(engine: Engine, access: Access, project: str, report: dict[str, Any],
                    span_ids: Sequence[str], view: str) -> dict[str, Any]:
    """The results page: the summary, every result and every skip, each linked to its trace."""
    return {"project": project, "nav": "traces", "access": access, "report": report, "span_count": len(span_ids),
            "spans": span_traces(engine, list(span_ids)), "summary": summary(report["results"]), "view": view}


@router.post("/projects/{project}/traces/evaluate")
async def evaluate_ticked(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form, ids = await selection(request, access, project, "evaluate spans")
    engine = request.app.state.engine
    try:
        report = await run_in_threadpool(evaluate, engine, judge_tracing(request.app), project, ids, form)
    except REFUSALS as exc:
        return await refused(request, access, project, form, ids, exc.status_code, eval_error=str(exc))
    context = await run_in_threadpool(results_context, engine, access, project, report, ids, form.get("view", ""))
    return render(request, "evaluation.html", **context)


def _evaluate_one(engine: Engine, tracing: JudgeTracing, access: Access, trace_id: str,
                  form: Mapping[str, str]) -> dict[str, Any]:
    span = shown_span(engine, access, trace_id, form.get("span_id", ""), "evaluate spans")
    return evaluate(engine, tracing, span["project"], [span["span_id"]], form)


@router.post("/traces/{trace_id}/evaluate")
async def evaluate_shown(request: Request, trace_id: str, access: Access = Depends(ui_access)) -> Response:
    """Evaluate the shown span, then show it again at its feedback, saying how many results were stored."""
    form = await check_csrf(request)
    engine, span_id = request.app.state.engine, form.get("span_id", "")
    try:
        report = await run_in_threadpool(_evaluate_one, engine, judge_tracing(request.app), access, trace_id, form)
    except REFUSALS as exc:
        context = await run_in_threadpool(error_page, engine, access, trace_id, span_id)
        context.update(eval_error=str(exc), eval_form=form)
        return render(request, "trace.html", status_code=exc.status_code, **context)
    query = {"span": span_id, "evaluated": report["stored"]}
    if report["skipped"]:
        query["skipped"] = ",".join(s["evaluator"] for s in report["skipped"])
    return RedirectResponse(f"/traces/{quote(trace_id, safe='')}?{urlencode(query)}#feedback", status_code=303)
