""""Add to dataset" from the traces: the traces ticked on the traces list (each one's root span) or
the span shown on a trace page become examples — a new version of a chosen dataset, or version 1 of
a new one. The spans go through `datasets.collect` like the span ids typed on the dataset page, so
both paths make the same examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import FormData

from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import datasets
from tenbin.server.auth import Access
from tenbin.server.ui.pages.datasets import dataset_url
from tenbin.server.ui.pages.trace import page_context
from tenbin.server.ui.pages.traces import list_context
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import datasets as store
from tenbin.store.queries import get_span

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


def ticked(form: FormData) -> list[str]:
    """The ticked rows' span ids; "select all" sends every row's id, so it works without JavaScript."""
    ids = form.getlist("span_id") + (form.getlist("page_span") if form.get("all_on_page") else [])
    return list(dict.fromkeys(str(i) for i in ids if i))


@router.post("/projects/{project}/traces/add-to-dataset")
async def add_from_list(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "add spans to datasets")
    engine, ids = request.app.state.engine, ticked(await request.form())
    try:
        name, count = await run_in_threadpool(add_spans, engine, project, ids, form)
    except (InvalidInput, NotFound) as exc:
        view = dict(parse_qsl(form.get("view", "")))
        context = await run_in_threadpool(list_context, engine, access, project, view)
        context.update(add_error=str(exc), add_form=form, checked=set(ids))
        return render(request, "traces.html", status_code=400, **context)
    return RedirectResponse(dataset_url(project, name, count), status_code=303)


def _add_one(engine: Engine, access: Access, trace_id: str, form: Mapping[str, str]) -> tuple[str, str, int]:
    """Check the span belongs to this trace (and the key's project and write scope), then add it;
    returns (project, dataset, count)."""
    span_id = form.get("span_id", "")
    if not span_id:
        raise InvalidInput("no span given: pick a span in the tree, then press Add to dataset")
    span = get_span(engine, span_id, access.project)
    if span["trace_id"] != trace_id:
        raise NotFound(f"trace {trace_id} has no span {span_id!r}; pick a span from the tree on the trace page")
    require_write(access, span["project"], "add spans to datasets")
    return (span["project"], *add_spans(engine, span["project"], [span_id], form))


def _trace_page(engine: Engine, access: Access, trace_id: str, span_id: str) -> dict[str, object]:
    """The trace page to show an error on: the span asked for, or the root when it is not in this trace."""
    try:
        return page_context(engine, access, trace_id, span_id or None)
    except NotFound:
        return page_context(engine, access, trace_id, None)


@router.post("/traces/{trace_id}/add-to-dataset")
async def add_from_trace(request: Request, trace_id: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    engine = request.app.state.engine
    try:
        project, name, count = await run_in_threadpool(_add_one, engine, access, trace_id, form)
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(_trace_page, engine, access, trace_id, form.get("span_id", ""))
        context.update(add_error=str(exc), add_form=form)
        return render(request, "trace.html", status_code=400, **context)
    return RedirectResponse(dataset_url(project, name, count), status_code=303)
