"""`/traces/{trace_id}`: one trace — the span tree with a timing waterfall, the selected span in full
(`?span=<id>` selects, so it works without JavaScript), and feedback given from the page."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.errors import Forbidden, InvalidInput, NotFound
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.evaluator_choice import span_form
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.server.ui.similar import similar_panel
from tenbin.store.datasets import dataset_names
from tenbin.store.feedback import add_feedback
from tenbin.store.queries import get_span, get_trace

router = APIRouter()

MESSAGES_IN, MESSAGES_OUT, DOCUMENTS = "llm.input_messages", "llm.output_messages", "retrieval.documents"
MAX_NAME = 200


def layout(roots: list[dict[str, Any]], t0: int, t1: int) -> dict[str, dict[str, Any]]:
    """Give every span its depth and waterfall bar (percent of the trace); return spans by id."""
    total = max(t1 - t0, 1)
    by_id: dict[str, dict[str, Any]] = {}
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        span, depth = stack.pop()
        start = min(max(span["start_us"] - t0, 0), total)
        end = min(max(span["end_us"] - t0, start), total)
        span.update(depth=depth, bar_left=round(start / total * 100, 2), bar_width=round((end - start) / total * 100, 2))
        by_id[span["span_id"]] = span
        stack.extend((child, depth + 1) for child in reversed(span["children"]))
    return by_id


def messages(raw: Any) -> list[dict[str, Any]] | None:
    """OpenInference chat messages (already un-flattened by ingest) as role/content/tool calls."""
    if not isinstance(raw, list):
        return None
    out = []
    for m in (m for m in raw if isinstance(m, dict)):
        content = m.get("content")
        if content is None and isinstance(m.get("contents"), list):
            content = "\n".join(str(c["text"]) for c in m["contents"] if isinstance(c, dict) and c.get("text"))
        calls = [
            {"name": c.get("function.name") or c.get("name"), "arguments": c.get("function.arguments") or c.get("arguments"),
             "id": c.get("id")}
            for c in m.get("tool_calls") or [] if isinstance(c, dict)
        ]
        out.append({"role": m.get("role") or "message", "name": m.get("name"), "content": content,
                    "tool_calls": calls, "tool_call_id": m.get("tool_call_id")})
    return out


def span_view(span: dict[str, Any]) -> dict[str, Any]:
    """What the detail pane shows beyond plain columns; `attributes` keeps only what is not shown."""
    attrs = dict(span.get("attributes") or {})
    events = [e for e in span.get("events") or [] if isinstance(e, dict)]
    documents = attrs.pop(DOCUMENTS, None)
    view = {
        "input_messages": messages(attrs.pop(MESSAGES_IN, None)),
        "output_messages": messages(attrs.pop(MESSAGES_OUT, None)),
        "documents": [d for d in documents if isinstance(d, dict)] if isinstance(documents, list) else None,
        "exceptions": [e.get("attributes") or {} for e in events if e.get("name") == "exception"],
        "events": [e for e in events if e.get("name") != "exception"],
        "tool": None,
        "attributes": attrs,
    }
    if span["kind"] == "TOOL":
        view["tool"] = {"name": attrs.get("tool.name") or span["name"],
                        "parameters": attrs.get("tool.parameters") or span.get("input_value")}
    return view


def page_context(engine: Engine, access: Access, trace_id: str, span_id: str | None) -> dict[str, Any]:
    trace = get_trace(engine, trace_id, access.project)
    spans = layout(trace["roots"], trace["start_us"], trace["end_us"])
    selected = spans.get(span_id) if span_id else (trace["roots"][0] if trace["roots"] else None)
    if span_id and selected is None:
        raise NotFound(f"trace {trace_id} has no span {span_id!r}; pick a span from the tree on the trace page")
    feedback_count = sum(len(s["feedback"]) for s in spans.values())
    can_write = "write" in access.scopes
    return {"trace": trace, "selected": selected, "view": span_view(selected) if selected else None,
            "project": trace["project"], "nav": "traces", "access": access, "can_write": can_write,
            "feedback_count": feedback_count, "feedback_error": None, "form": {},
            "similar": similar_panel(engine, access, selected),
            "dataset_names": dataset_names(engine, trace["project"]) if can_write else [],
            "add_error": None, "add_form": {}, "evaluated": None, "skipped": [], **span_form(can_write)}


def shown_span(engine: Engine, access: Access, trace_id: str, span_id: str, what: str) -> dict[str, Any]:
    """The span a trace page's form acts on, checked to be in this trace and writable by the key
    (`what` completes "... scope to")."""
    if not span_id:
        raise InvalidInput("no span given: pick a span in the tree, then press the button again")
    span = get_span(engine, span_id, access.project)
    if span["trace_id"] != trace_id:
        raise NotFound(f"trace {trace_id} has no span {span_id!r}; pick a span from the tree on the trace page")
    require_write(access, span["project"], what)
    return span


def error_page(engine: Engine, access: Access, trace_id: str, span_id: str) -> dict[str, Any]:
    """The trace page to show a form's error on: the span asked for, or the root when it is not in this trace."""
    try:
        return page_context(engine, access, trace_id, span_id or None)
    except NotFound:
        return page_context(engine, access, trace_id, None)


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(request: Request, trace_id: str, span: str | None = None, evaluated: int | None = None,
               skipped: str = "", access: Access = Depends(ui_access)) -> HTMLResponse:
    """`evaluated`/`skipped` (set by "Evaluate this span") confirm how many results were just stored."""
    context = page_context(request.app.state.engine, access, trace_id, span or None)
    context.update(evaluated=evaluated, skipped=[s for s in skipped.split(",") if s])
    return render(request, "trace.html", **context)


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(f"the score must be a number such as 0.8 or 4; got {text.strip()!r}")
    return value


def feedback_fields(form: dict[str, str]) -> dict[str, Any]:
    """The `add_feedback` arguments for the button that was pressed; bad input raises InvalidInput."""
    give, comment = form.get("give", ""), form.get("comment", "").strip() or None
    if give in ("up", "down"):
        return {"kind": "thumbs", "name": "thumbs", "value": 1.0 if give == "up" else 0.0, "comment": comment}
    if give == "score":
        name = form.get("score_name", "").strip() or "score"
        if len(name) > MAX_NAME:
            raise InvalidInput(f"the score name is {len(name)} characters long; use at most {MAX_NAME}")
        return {"kind": "score", "name": name, "value": _score(form.get("score", "")), "comment": comment}
    if give == "comment":
        if not comment:
            raise InvalidInput("write a comment before pressing “Add comment”")
        return {"kind": "comment", "name": "comment", "comment": comment}
    raise InvalidInput("press thumbs up, thumbs down, “Save score” or “Add comment” to give feedback")


def _record(engine: Engine, access: Access, trace_id: str, form: dict[str, str]) -> None:
    """Check the span belongs to this trace (and the key's project), then store the feedback."""
    context = page_context(engine, access, trace_id, form.get("span_id") or None)
    add_feedback(engine, span_id=context["selected"]["span_id"], source="human", author=None,
                 project=access.project, **feedback_fields(form))


@router.post("/traces/{trace_id}/feedback")
async def give_feedback(request: Request, trace_id: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    if "write" not in access.scopes:
        raise Forbidden("this key can only read; sign in with a key that has the write scope to give feedback")
    engine, span_id = request.app.state.engine, form.get("span_id", "")
    try:
        await run_in_threadpool(_record, engine, access, trace_id, form)
    except InvalidInput as exc:
        context = await run_in_threadpool(page_context, engine, access, trace_id, span_id or None)
        context.update(feedback_error=str(exc), form=form)
        return render(request, "trace.html", status_code=400, **context)
    target = f"/traces/{quote(trace_id, safe='')}?span={quote(span_id, safe='')}#feedback"
    return RedirectResponse(target, status_code=303)
