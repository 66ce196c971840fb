"""`/projects/{project}/traces`: the traces list.

Every bit of state (filter, time range, sort, cursor, page size) lives in the query string, so a
copied link reproduces the view and other pages (segments, overview) can link here with a filter.
Ticked rows go to a dataset through pages/add_to_dataset.py, to evaluators through
pages/evaluate_spans.py, or to an annotation queue through pages/add_to_queue.py; each shows this
same view on an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.datastructures import FormData

from tenbin.errors import FilterError, InvalidInput
from tenbin.filters import EXAMPLE
from tenbin.server.auth import Access
from tenbin.server.ui.evaluator_choice import span_form
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store.annotation_queues import queue_names
from tenbin.store.datasets import dataset_names
from tenbin.store.queries import SpanQuery, list_traces
from tenbin.store.ui_queries import llm_details

router = APIRouter()

RANGES: dict[str, tuple[str, timedelta | None]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 h", timedelta(days=1)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "all": ("All time", None),
}
SORTS = ("start_time", "latency_ms")
MAX_PAGE = 200
MAX_BACK = 20
"""Earlier pages remembered for "Previous page"; keyset cursors only go forward, so the URL keeps them."""
FIRST = "~"


@dataclass(frozen=True)
class ListState:
    """The view as the URL spells it; kept as the user's text so a bad value can be shown back."""

    filter: str = ""
    range: str = ""
    start: str = ""
    end: str = ""
    sort: str = "start_time"
    order: str = "desc"
    back: str = ""
    """The cursors of the pages before this one, oldest first, comma-separated (`~` = the first page)."""
    cursor: str = ""
    limit: str = "50"

    @classmethod
    def from_query(cls, params: Any) -> ListState:
        return cls(**{f.name: params.get(f.name, f.default) for f in fields(cls)})

    def url(self, project: str, **changes: str) -> str:
        """This view's link with some state changed; defaults are left out so links stay short."""
        if "cursor" in changes and "back" not in changes:
            changes["back"] = ""
        state, default = asdict(replace(self, **changes)), asdict(ListState())
        params = {k: v for k, v in state.items() if v and v != default[k]}
        return f"/projects/{quote(project, safe='')}/traces" + (f"?{urlencode(params)}" if params else "")

    def sort_url(self, project: str, sort: str) -> str:
        """Clicking the active column flips the order; another column starts descending."""
        order = ("asc" if self.order == "desc" else "desc") if sort == self.sort else "desc"
        return self.url(project, sort=sort, order=order, cursor="")

    def next_url(self, project: str, next_cursor: str) -> str:
        stack = [*self._stack(), self.cursor or FIRST][-MAX_BACK:]
        return self.url(project, cursor=next_cursor, back=",".join(stack))

    def previous_url(self, project: str) -> str | None:
        """The page before this one, or None on the first page (or when the trail was trimmed away)."""
        stack = self._stack()
        if not stack:
            return None
        previous = stack.pop()
        return self.url(project, cursor="" if previous == FIRST else previous, back=",".join(stack))

    def _stack(self) -> list[str]:
        return [c for c in self.back.split(",") if c]

    def page_size(self) -> int:
        if not self.limit.isdigit() or not 1 <= int(self.limit) <= MAX_PAGE:
            raise InvalidInput(f"page size (limit) must be a whole number from 1 to {MAX_PAGE}; got {self.limit!r}")
        return int(self.limit)

    def window(self) -> tuple[int | None, int | None]:
        """(start_us, end_us): explicit start/end win; otherwise the quick range counts back from now."""
        if self.start or self.end:
            return _micros(self.start, "start"), _micros(self.end, "end")
        if self.range not in ("", *RANGES):
            raise InvalidInput(f"unknown time range {self.range!r}; choose one of: {', '.join(RANGES)}")
        span = RANGES.get(self.range, ("", None))[1]
        return (int((datetime.now(timezone.utc) - span).timestamp() * 1e6), None) if span else (None, None)

    def check_sort(self) -> None:
        if self.sort not in SORTS or self.order not in ("asc", "desc"):
            raise InvalidInput(f"sort by one of {', '.join(SORTS)} with order asc or desc; "
                               f"got sort={self.sort!r}, order={self.order!r}")


def _micros(text: str, which: str) -> int | None:
    """A `datetime-local` value (read as UTC, like every time on the page) in microseconds."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{which} time {text!r} is not a date and time like 2025-01-31T14:30") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1e6)


def feedback_text(summary: dict[str, dict[str, Any]]) -> list[str]:
    """Short readable cells: thumbs as up/down counts, other scores as mean (count)."""
    cells = []
    for name, s in sorted(summary.items()):
        count, mean = s["count"], s["mean"]
        if name == "thumbs" and mean is not None:
            up = round(count * mean)
            cells.append(f"👍 {up} 👎 {count - up}")
        elif mean is not None:
            cells.append(f"{name} {mean:.2f} (n={count})")
        else:
            cells.append(f"{name} ×{count}")
    return cells


def _rows(engine: Engine, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = llm_details(engine, [t["trace_id"] for t in items])
    for t in items:
        llm = details.get(t["trace_id"], {})
        root = t["root"]
        t["model"] = root.get("model") or llm.get("model")
        t["prompt_name"] = root.get("prompt_name") or llm.get("prompt_name")
        t["prompt_version"] = root.get("prompt_version") or llm.get("prompt_version")
        t["feedback_cells"] = feedback_text(t["feedback"])
    return items


def list_context(engine: Engine, access: Access, project: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The list as `params` (a query string's fields) asks for it; a bad view is an `error`, not an exception.
    `view` is that query string again, so the "Add to dataset" and "Evaluate" controls can bring the same list back."""
    state = ListState.from_query(params)
    items: list[dict[str, Any]] = []
    next_cursor, error = None, None
    try:
        state.check_sort()
        start_us, end_us = state.window()
        page = list_traces(engine, SpanQuery(project, state.filter, start_us, end_us),
                           limit=state.page_size(), cursor=state.cursor or None, sort=state.sort,
                           descending=state.order == "desc")
        items, next_cursor = _rows(engine, page.items), page.next_cursor
    except FilterError as exc:
        error = {"message": str(exc), "part": exc.part, "filter": True}
    except InvalidInput as exc:
        error = {"message": str(exc), "part": None, "filter": False}
    can_write = "write" in access.scopes
    return {"project": project, "nav": "traces", "access": access, "state": state, "items": items,
            "next_cursor": next_cursor, "error": error, "ranges": RANGES, "example": EXAMPLE,
            "view": urlencode(dict(params)), "can_write": can_write,
            "dataset_names": dataset_names(engine, project) if can_write and items else [],
            "queue_names": queue_names(engine, project) if can_write and items else [], "queue_error": None,
            "add_error": None, "add_form": {}, "checked": set(), **span_form(can_write and bool(items))}


@router.get("/projects/{project}/traces", response_class=HTMLResponse)
def traces(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    context = list_context(request.app.state.engine, access, project, request.query_params)
    return render(request, "traces.html", status_code=400 if context["error"] else 200, **context)


def ticked(form: FormData) -> list[str]:
    """The ticked rows' span ids; "select all" sends every row's id, so it works without JavaScript."""
    ids = form.getlist("span_id") + (form.getlist("page_span") if form.get("all_on_page") else [])
    return list(dict.fromkeys(str(i) for i in ids if i))


async def selection(request: Request, access: Access, project: str, what: str) -> tuple[dict[str, str], list[str]]:
    """A POST of the list's selection form (Add to dataset, Evaluate, Add to queue): its fields,
    CSRF-checked, and the ticked span ids; `what` completes "... scope to"."""
    form = await check_csrf(request)
    require_write(access, project, what)
    return form, ticked(await request.form())


async def refused(request: Request, access: Access, project: str, form: dict[str, str], ids: list[str],
                  status: int, **shown: str) -> HTMLResponse:
    """The list again in the view the form came from, ticks and choices kept, `shown` (an error) inline."""
    view = dict(parse_qsl(form.get("view", "")))
    context = await run_in_threadpool(list_context, request.app.state.engine, access, project, view)
    context.update(add_form=form, eval_form=form, checked=set(ids), **shown)
    return render(request, "traces.html", status_code=status, **context)
