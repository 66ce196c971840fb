""""Add to queue" on the traces list: each ticked trace's root span becomes a pending item of the
chosen annotation queue (a span already in it stays as it is). The third control of the list's
selection form, beside "Add to dataset" and "Evaluate"; a refusal shows the list again, ticks kept."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.server.auth import Access
from tenbin.server.ui.pages.annotation_queues import queue_url
from tenbin.server.ui.pages.traces import refused, selection
from tenbin.server.ui.security import ui_access
from tenbin.store import annotation_queues as queues

router = APIRouter()


def add(engine: Engine, project: str, queue: str, span_ids: Sequence[str]) -> str:
    """Add the spans to `queue`; the queue page's URL saying how many were added."""
    if not span_ids:
        raise InvalidInput("select at least one trace (tick its box) to add to a queue")
    if not queue:
        raise InvalidInput("choose the annotation queue to add the ticked traces to")
    result = queues.add_items(engine, project, queue, span_ids=span_ids)
    return queue_url(project, queue, added=result["added"], already=result["already"])


@router.post("/projects/{project}/traces/add-to-queue")
async def add_ticked(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form, ids = await selection(request, access, project, "add spans to annotation queues")
    try:
        target = await run_in_threadpool(add, request.app.state.engine, project, form.get("queue", ""), ids)
    except (InvalidInput, NotFound) as exc:
        return await refused(request, access, project, form, ids, 400, queue_error=str(exc))
    return RedirectResponse(target, status_code=303)
