"""`/projects/{project}/prices`: the model price table costs are computed from — the project's own
entries, global ones and the built-in list prices, the winner of a tie first — with forms to add,
edit and delete an entry and to recompute the cost of past spans over a time range. Every form is a
CSRF-checked POST; bad input is shown inline, the form kept, nothing changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin import config, costs
from tenbin.errors import Forbidden, InvalidInput
from tenbin.prices import builtin_as_of
from tenbin.server.auth import Access
from tenbin.server.routes.common import parse_time
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import prices as store
from tenbin.store.costs import count_pending
from tenbin.store.keys import project_id

router = APIRouter()
PAGE = "/projects/{project}/prices"
FIELDS = ("pattern", "prompt_per_1m", "completion_per_1m", "valid_from", "global")


def _page(project: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/projects/{quote(project, safe='')}/prices" + (f"?{query}" if query else "")


def page_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    entries = store.list_prices(engine, project)
    return {"project": project, "nav": "prices", "access": access, "prices": entries, "as_of": builtin_as_of(),
            "pending": count_pending(engine, project_id(engine, project)), "interval": config.COST_INTERVAL.get(),
            "can_write": "write" in access.scopes, "global_ok": access.project is None, "form": {}, "error": None,
            "edit": None, "recompute_form": {}, "recompute_error": None, "recomputed": None}


@router.get(PAGE, response_class=HTMLResponse)
def prices_page(request: Request, project: str, edit: int | None = None, spans: int | None = None,
                computed: int | None = None, unpriced: int | None = None,
                access: Access = Depends(ui_access)) -> HTMLResponse:
    """`edit` opens an entry's form; `spans`/`computed`/`unpriced` report the recompute just run."""
    access.check_project(project)
    engine = request.app.state.engine
    context = page_context(engine, access, project)
    if edit is not None:
        context["edit"] = store.get_price(engine, project, edit)
        context["form"] = _as_form(context["edit"])
    if spans is not None:
        context["recomputed"] = {"spans": spans, "computed": computed or 0, "unpriced": unpriced or 0}
    return render(request, "prices.html", **context)


def _as_form(entry: dict[str, Any]) -> dict[str, str]:
    valid_from = (entry["valid_from"] or "")[:19]
    return {"pattern": entry["pattern"], "prompt_per_1m": f"{entry['prompt_per_1m']:g}",
            "completion_per_1m": f"{entry['completion_per_1m']:g}", "valid_from": valid_from,
            "global": "1" if entry["scope"] == "global" else ""}


def _price(form: dict[str, str], key: str, label: str) -> float:
    text = form.get(key, "").strip()
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"the {label} price must be a number of USD per 1M tokens, e.g. 2.5; got {text!r}") from None


def spec_from_form(form: dict[str, str]) -> dict[str, Any]:
    return {"pattern": form.get("pattern", ""), "prompt_per_1m": _price(form, "prompt_per_1m", "prompt"),
            "completion_per_1m": _price(form, "completion_per_1m", "completion"),
            "valid_from_us": parse_time(form.get("valid_from", "").strip() or None, "valid from")}


async def _writable(request: Request, access: Access, project: str, is_global: bool) -> dict[str, str]:
    form = await check_csrf(request)
    require_write(access, project, "change model prices")
    if is_global and access.project is not None:
        raise Forbidden("global prices apply to every project, and your key belongs to one; add the price to this "
                        "project instead")
    return form


async def _refused(request: Request, access: Access, project: str, form: dict[str, str], error: str,
                   price_id: int | None = None) -> HTMLResponse:
    engine = request.app.state.engine
    context = await run_in_threadpool(page_context, engine, access, project)
    if price_id is not None:
        context["edit"] = await run_in_threadpool(store.get_price, engine, project, price_id)
    context.update(form={k: form.get(k, "") for k in FIELDS}, error=error)
    return render(request, "prices.html", status_code=400, **context)


@router.post(PAGE)
async def add(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await _writable(request, access, project, bool((await request.form()).get("global")))
    try:
        spec = spec_from_form(form)
        await run_in_threadpool(lambda: store.create_price(request.app.state.engine, project, spec,
                                                           is_global=bool(form.get("global"))))
    except InvalidInput as exc:
        return await _refused(request, access, project, form, str(exc))
    return RedirectResponse(_page(project), status_code=303)


@router.post(PAGE + "/{price_id:int}")
async def change(request: Request, project: str, price_id: int, access: Access = Depends(ui_access)) -> Response:
    engine = request.app.state.engine
    form = await _writable(request, access, project, await run_in_threadpool(store.is_global, engine, project, price_id))
    try:
        spec = spec_from_form(form)
        await run_in_threadpool(store.update_price, engine, project, price_id, spec)
    except InvalidInput as exc:
        return await _refused(request, access, project, form, str(exc), price_id)
    return RedirectResponse(_page(project), status_code=303)


@router.post(PAGE + "/{price_id:int}/delete")
async def delete(request: Request, project: str, price_id: int, access: Access = Depends(ui_access)) -> Response:
    engine = request.app.state.engine
    await _writable(request, access, project, await run_in_threadpool(store.is_global, engine, project, price_id))
    await run_in_threadpool(store.delete_price, engine, project, price_id)
    return RedirectResponse(_page(project), status_code=303)


@router.post(PAGE + "/recompute")
async def recompute(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    """Re-price the spans starting in the form's [start, end) with today's table."""
    form = await _writable(request, access, project, False)
    engine = request.app.state.engine
    try:
        window = (parse_time(form.get("start", "").strip() or None, "start"),
                  parse_time(form.get("end", "").strip() or None, "end"))
        done = await run_in_threadpool(costs.recompute, engine, project, *window)
    except InvalidInput as exc:
        context = await run_in_threadpool(page_context, engine, access, project)
        context.update(recompute_form={"start": form.get("start", ""), "end": form.get("end", "")},
                       recompute_error=str(exc))
        return render(request, "prices.html", status_code=400, **context)
    return RedirectResponse(_page(project, spans=done["spans"], computed=done["computed"], unpriced=done["unpriced"]),
                            status_code=303)
