"""`/projects/{project}/alerts` and `/projects/{project}/monitors`: the project's alerts (open or all;
the numbers, a link to the cluster on the embeddings page, its LLM report, the webhook delivery, an
Acknowledge button) and its monitors (state, last check, Check now / Enable / Disable / Delete, a
create form whose errors show inline, the project's default webhook). Every form is a CSRF-checked
POST."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.analytics import monitor_checks, monitors
from tenbin.errors import Forbidden, InvalidInput, NotFound
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access
from tenbin.store import monitors as store

router = APIRouter()
ALERTS = "/projects/{project}/alerts"
MONITORS = "/projects/{project}/monitors"
FORM_FIELDS = ("name", "kind", "comparison", "threshold", "window", "min_samples", "filter", "prompt", "cluster",
               "group_by", "evaluator", "label", "webhook_url", "interval")


def _path(project: str, page: str) -> str:
    return f"/projects/{quote(project, safe='')}/{page}"


def _writable(access: Access, project: str) -> None:
    access.check_project(project)
    if "write" not in access.scopes:
        raise Forbidden("this key can only read; sign in with a key that has the write scope to change monitors")


def alerts_context(engine: Engine, access: Access, project: str, show: str) -> dict[str, Any]:
    status = "open" if show == "open" else None
    items = store.list_alerts(engine, project, status=status)
    return {"project": project, "nav": "alerts", "access": access, "alerts": items, "show": status or "all",
            "open_count": store.open_alert_count(engine, project), "monitor_count": len(store.list_monitors(engine, project)),
            "can_write": "write" in access.scopes}


@router.get(ALERTS, response_class=HTMLResponse)
def alerts_page(request: Request, project: str, show: str = "open", access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "alerts.html", **alerts_context(request.app.state.engine, access, project, show))


@router.post(ALERTS + "/{alert_id}/acknowledge")
async def acknowledge(request: Request, project: str, alert_id: int, access: Access = Depends(ui_access)) -> Response:
    await check_csrf(request)
    _writable(access, project)
    await run_in_threadpool(store.acknowledge, request.app.state.engine, alert_id, project, "ui")
    return RedirectResponse(_path(project, "alerts"), status_code=303)


def monitors_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    items = [{**m, "last": next(iter(store.evaluations(engine, m["id"], 1)), None), "window": monitors.human_s(m["window_s"]),
              "interval": monitors.human_s(m["interval_s"])} for m in store.list_monitors(engine, project)]
    return {"project": project, "nav": "alerts", "access": access, "monitors": items, "kinds": monitor_checks.KINDS,
            "comparisons": monitor_checks.COMPARISONS, "error": None, "form": {}, "checked": None,
            "can_write": "write" in access.scopes, "project_webhook": store.project_webhook(engine, project),
            "webhook_error": None}


@router.get(MONITORS, response_class=HTMLResponse)
def monitors_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "monitors.html", **monitors_context(request.app.state.engine, access, project))


def _number(form: dict[str, str], key: str, kind: type) -> Any:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{key.replace('_', ' ')} must be a {'whole number' if kind is int else 'number'}; "
                           f"got {text!r}") from None


def spec_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The monitor spec from the create form (empty fields take the defaults)."""
    spec = {"name": form.get("name", ""), "kind": form.get("kind", ""), "comparison": form.get("comparison") or None,
            "threshold": _number(form, "threshold", float), "min_samples": _number(form, "min_samples", int),
            "window_s": monitors.duration_s(form.get("window"), "window"),
            "interval_s": monitors.duration_s(form.get("interval"), "interval"),
            "filter": form.get("filter", "").strip() or None, "prompt": form.get("prompt", "").strip() or None,
            "cluster": form.get("cluster", "").strip() or None,
            "group_by": form.get("group_by", "").strip() or None, "evaluator": form.get("evaluator", "").strip() or None,
            "label": form.get("label", "").strip() or None, "webhook_url": form.get("webhook_url", "").strip() or None}
    if spec["threshold"] is None:
        raise InvalidInput("give a threshold, e.g. 0.3 for a thumbs-down rate or 2000 (ms) for latency p95")
    return {k: v for k, v in spec.items() if v is not None}


@router.post(MONITORS)
async def create(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    try:
        await run_in_threadpool(lambda: monitors.create(engine, project, spec_from_form(form)))
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(monitors_context, engine, access, project)
        context.update(error=str(exc), form={k: form.get(k, "") for k in FORM_FIELDS})
        return render(request, "monitors.html", status_code=400, **context)
    return RedirectResponse(_path(project, "monitors"), status_code=303)


@router.post("/projects/{project}/alert-settings")
async def project_webhook(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    """The project's default webhook (an empty field clears it)."""
    form = await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    try:
        await run_in_threadpool(monitors.set_project_webhook, engine, project, form.get("webhook_url", "").strip())
    except InvalidInput as exc:
        context = await run_in_threadpool(monitors_context, engine, access, project)
        context.update(webhook_error=str(exc), project_webhook=form.get("webhook_url", ""))
        return render(request, "monitors.html", status_code=400, **context)
    return RedirectResponse(_path(project, "monitors"), status_code=303)


@router.post(MONITORS + "/{monitor_id}/{action}")
async def act(request: Request, project: str, monitor_id: int, action: str,
              access: Access = Depends(ui_access)) -> Response:
    """check (now; the page shows the evaluation), enable, disable or delete."""
    await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    if action == "check":
        checked = await run_in_threadpool(monitors.check, engine, monitor_id, project=project)
        context = await run_in_threadpool(monitors_context, engine, access, project)
        context["checked"] = {**checked, "name": monitors.get_monitor(engine, monitor_id)["name"]}
        return render(request, "monitors.html", **context)
    if action in ("enable", "disable"):
        await run_in_threadpool(monitors.update, engine, monitor_id, {"enabled": action == "enable"}, project)
    elif action == "delete":
        await run_in_threadpool(monitors.delete, engine, monitor_id, project)
    else:
        raise NotFound(f"no action {action!r} on a monitor; use check, enable, disable or delete")
    return RedirectResponse(_path(project, "monitors"), status_code=303)
