"""`/projects/{project}/annotation-queues`: the queues with their progress, forms to create score
configs and queues, and one queue's page (its configs, progress and items, with "Start reviewing").

Reviewing itself is pages/annotation_review.py; spans come in from the traces list
(pages/add_to_queue.py) or over REST/CLI. Every form is CSRF-checked and needs the write scope; a
refusal comes back inline with the form as sent and nothing stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access, ui_author
from tenbin.store import annotation_queues as queues
from tenbin.store import score_configs as configs

router = APIRouter()
BASE = "/projects/{project}/annotation-queues"
REVIEWER_COOKIE = "tenbin_reviewer"
PAGE = 50


def queues_url(project: str) -> str:
    return f"/projects/{quote(project, safe='')}/annotation-queues"


def queue_url(project: str, name: str, **query: Any) -> str:
    shown = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{queues_url(project)}/{quote(name, safe='')}" + (f"?{urlencode(shown)}" if shown else "")


def reviewer(request: Request) -> str:
    """Who reviews from this browser: the name given last (a cookie), else the signed-in key's name."""
    author = ui_author(request)
    return unquote(request.cookies.get(REVIEWER_COOKIE, "")) or ("" if author == "ui" else author)


def remember_reviewer(response: Response, name: str) -> Response:
    """Keep the name for the next visit (percent-encoded: a cookie holds only latin-1)."""
    response.set_cookie(REVIEWER_COOKIE, quote(name, safe=""), httponly=True, samesite="strict")
    return response


def list_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    return {"project": project, "nav": "queues", "access": access, "queues": queues.list_queues(engine, project),
            "configs": configs.list_configs(engine, project), "can_write": "write" in access.scopes,
            "config_error": None, "queue_error": None, "form": {}, "picked": []}


@router.get(BASE, response_class=HTMLResponse)
def queues_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "annotation_queues.html", **list_context(request.app.state.engine, access, project))


def _config_from(engine: Engine, project: str, form: Mapping[str, str]) -> dict[str, Any]:
    kind = form.get("type", "")
    labels = [label for label in form.get("labels", "").split(",") if label.strip()] if kind == "categorical" else None
    numbers = {k: form.get(k, "").strip() or None for k in ("min_value", "max_value")} if kind == "numeric" else {}
    return configs.create_config(engine, project, form.get("name", ""), kind, labels=labels,
                                 description=form.get("description", ""), **numbers)


async def _refused(request: Request, access: Access, project: str, form: dict[str, str], picked: Sequence[str],
                   **error: str) -> HTMLResponse:
    context = await run_in_threadpool(list_context, request.app.state.engine, access, project)
    context.update(form=form, picked=list(picked), **error)
    return render(request, "annotation_queues.html", status_code=400, **context)


@router.post("/projects/{project}/score-configs")
async def create_config(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "create score configs")
    try:
        await run_in_threadpool(_config_from, request.app.state.engine, project, form)
    except InvalidInput as exc:
        return await _refused(request, access, project, form, [], config_error=str(exc))
    return RedirectResponse(queues_url(project), status_code=303)


@router.post(BASE)
async def create_queue(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "create annotation queues")
    picked = [str(c) for c in (await request.form()).getlist("config")]
    try:
        made = await run_in_threadpool(queues.create_queue, request.app.state.engine, project, form.get("name", ""),
                                       picked, form.get("description", ""))
    except (InvalidInput, NotFound) as exc:
        return await _refused(request, access, project, form, picked, queue_error=str(exc))
    return RedirectResponse(queue_url(project, made["name"]), status_code=303)


def queue_context(engine: Engine, access: Access, project: str, name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The queue with one page of its items (`status` and `cursor` from the query string)."""
    status = params.get("status") or None
    queue = queues.get_queue(engine, project, name)
    page = queues.list_items(engine, project, name, status, PAGE, params.get("cursor") or None)
    return {"project": project, "nav": "queues", "access": access, "queue": queue, "items": page.items,
            "next_url": queue_url(project, name, status=status, cursor=page.next_cursor) if page.next_cursor else None,
            "status": status or "", "statuses": queues.STATUSES, "can_write": "write" in access.scopes,
            "added": params.get("added"), "already": params.get("already"), "finished": params.get("finished"),
            "start_error": None}


@router.get(BASE + "/{name}", response_class=HTMLResponse)
def queue_page(request: Request, project: str, name: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    context = queue_context(request.app.state.engine, access, project, name, request.query_params)
    return render(request, "annotation_queue.html", reviewer=reviewer(request), **context)


def next_url(engine: Engine, project: str, name: str, who: str) -> str:
    """The review page of the item `who` is leased next, or the queue saying nothing is left."""
    item = queues.next_item(engine, project, name, who)
    if item is None:
        return queue_url(project, name, finished=1)
    return f"{queue_url(project, name)}/items/{item['id']}"


@router.post(BASE + "/{name}/review")
async def start_review(request: Request, project: str, name: str, access: Access = Depends(ui_access)) -> Response:
    """"Start reviewing": remember the reviewer's name and take the next item for them."""
    form = await check_csrf(request)
    require_write(access, project, "review annotation queues")
    engine, who = request.app.state.engine, form.get("reviewer", "").strip()
    try:
        target = await run_in_threadpool(next_url, engine, project, name, who)
    except InvalidInput as exc:
        context = await run_in_threadpool(queue_context, engine, access, project, name, {})
        context["start_error"] = str(exc)
        return render(request, "annotation_queue.html", status_code=400, reviewer=who, **context)
    return remember_reviewer(RedirectResponse(target, status_code=303), who)
