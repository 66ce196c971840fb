""""Add to dataset" from the traces: the traces ticked on the traces list (each one's root span) or
the span shown on a trace page become examples — a new version of a chosen dataset, or version 1 of
a new one. The spans go through `datasets.collect` like the span ids typed on the dataset page, so
both paths make the same examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import datasets
from tenbin.server.auth import Access
from tenbin.server.ui.pages.datasets import dataset_url
from tenbin.server.ui.pages.trace import error_page, shown_span
from tenbin.server.ui.pages.traces import refused, selection
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access
from tenbin.store import datasets as store

router = APIRouter()


def target(form: Mapping[str, str]) -> tuple[str, bool]:
    """(name, is new) from the choose-or-create control: an existing dataset or a new name, not both."""
    chosen, new = form.get("dataset", "").strip(), form.get("new_name", "").strip()
    if chosen and new:
        raise InvalidInput(f"choose the dataset {chosen!r} or type a new name, not both")
    if not (chosen or new):
        raise InvalidInput("choose a dataset, or type a name to create a new one")
    return new or chosen, bool(new)


def add_spans(engine: Engine, project: str, span_ids: Sequence[str], form: Mapping[str, str]) -> tuple[str, int]:
    """Store the spans as examples of the chosen dataset; returns (dataset, count). Any error stores nothing."""
    if not span_ids:
        raise InvalidInput("select at least one trace (tick its box) to add to a dataset")
    name, new = target(form)
    examples = datasets.collect(engine, project, span_ids=span_ids,
                                expected_from=form.get("expected_from") or "reference")
    message = f"{len(examples)} span{'s' if len(examples) != 1 else ''} added from the traces"
    if new:
        store.create_dataset(engine, project, name, examples, message=message)
    else:
        store.change_examples(engine, project, name, add=examples, message=message)
    return name, len(examples)


@router.post("/projects/{project}/traces/add-to-dataset")
async def add_from_list(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form, ids = await selection(request, access, project, "add spans to datasets")
    try:
        name, count = await run_in_threadpool(add_spans, request.app.state.engine, project, ids, form)
    except (InvalidInput, NotFound) as exc:
        return await refused(request, access, project, form, ids, 400, add_error=str(exc))
    return RedirectResponse(dataset_url(project, name, count), status_code=303)


def _add_one(engine: Engine, access: Access, trace_id: str, form: Mapping[str, str]) -> tuple[str, str, int]:
    """Add the trace page's span (checked by `shown_span`); returns (project, dataset, count)."""
    span = shown_span(engine, access, trace_id, form.get("span_id", ""), "add spans to datasets")
    return (span["project"], *add_spans(engine, span["project"], [span["span_id"]], form))


@router.post("/traces/{trace_id}/add-to-dataset")
async def add_from_trace(request: Request, trace_id: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    engine = request.app.state.engine
    try:
        project, name, count = await run_in_threadpool(_add_one, engine, access, trace_id, form)
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(error_page, engine, access, trace_id, form.get("span_id", ""))
        context.update(add_error=str(exc), add_form=form)
        return render(request, "trace.html", status_code=400, **context)
    return RedirectResponse(dataset_url(project, name, count), status_code=303)
