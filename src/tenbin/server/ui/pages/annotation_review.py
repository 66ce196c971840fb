"""The review screen of one queue item: the span's input and output (the trace page's partials,
escaped), a link to the whole trace, and a score form built from the queue's score configs.

"Submit and next" stores the answers as human feedback by the reviewer and marks the item done;
"Skip" marks it skipped; both then take the reviewer's next item (a lease, so two reviewers are not
shown the same one) or go back to the queue when none is left. A bad answer comes back inline with
the form as filled and nothing stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.server.auth import Access
from tenbin.server.ui.pages.annotation_queues import (
    BASE,
    next_url,
    queue_url,
    remember_reviewer,
    reviewer,
)
from tenbin.server.ui.pages.trace import span_view
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import annotation_queues as queues
from tenbin.store.queries import get_span

router = APIRouter()
ITEM = BASE + "/{name}/items/{item_id:int}"
SCORE = "score."


def review_context(engine: Engine, access: Access, project: str, name: str, item_id: int) -> dict[str, Any]:
    item = queues.get_item(engine, project, name, item_id)
    span = get_span(engine, item["span_id"], project)
    return {"project": project, "nav": "queues", "access": access, "queue": queues.get_queue(engine, project, name),
            "item": item, "span": span, "view": span_view(span), "can_write": "write" in access.scopes,
            "queue_url": queue_url(project, name), "error": None, "answers": {}, "comment": ""}


@router.get(ITEM, response_class=HTMLResponse)
def review_page(request: Request, project: str, name: str, item_id: int,
                access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    context = review_context(request.app.state.engine, access, project, name, item_id)
    return render(request, "annotation_review.html", reviewer=reviewer(request), **context)


def answers_of(form: Mapping[str, str]) -> dict[str, str]:
    """The score form's answers by config name (fields `score.<config>`; an empty one is unanswered)."""
    return {k[len(SCORE):]: v for k, v in form.items() if k.startswith(SCORE) and v.strip()}


def _act(engine: Engine, project: str, name: str, item_id: int, form: Mapping[str, str]) -> str:
    """Complete or skip the item as the form says; the URL to go to next."""
    who = form.get("reviewer", "").strip()
    if form.get("action") == "skip":
        queues.skip_item(engine, project, name, item_id, who)
    else:
        queues.complete_item(engine, project, name, item_id, who, answers_of(form), form.get("comment"))
    return next_url(engine, project, name, who)


@router.post(ITEM)
async def review(request: Request, project: str, name: str, item_id: int, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "review annotation queues")
    engine, who = request.app.state.engine, form.get("reviewer", "").strip()
    try:
        target = await run_in_threadpool(_act, engine, project, name, item_id, form)
    except InvalidInput as exc:
        context = await run_in_threadpool(review_context, engine, access, project, name, item_id)
        context.update(error=str(exc), answers=answers_of(form), comment=form.get("comment", ""))
        return render(request, "annotation_review.html", status_code=400, reviewer=who, **context)
    return remember_reviewer(RedirectResponse(target, status_code=303), who)
