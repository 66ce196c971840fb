"""Rendering pages: one Jinja2 environment (autoescaping on), shared context, CSRF cookie."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tenbin.server.ui.security import csrf_token, remember_csrf

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.autoescape = True
KIND_ICONS = {"AGENT": "🤖", "CHAIN": "⛓", "LLM": "💬", "RETRIEVER": "🔎", "TOOL": "🛠", "EMBEDDING": "🧬",
              "RERANKER": "↕", "EVALUATOR": "⚖", "GUARDRAIL": "🛡", "PROMPT": "📝", "UNKNOWN": "•"}


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _time(iso: str | None) -> str:
    if not iso:
        return "–"
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _pretty(value: Any) -> str:
    """JSON-looking text indented for reading; anything else unchanged (escaping is Jinja's job)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
        if not isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _usd(value: float | None) -> str:
    """A cost: cents for a dollar or more, else six decimals (one LLM call costs fractions of a cent)."""
    if value is None:
        return "–"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.6f}"


def _segment(value: str) -> str:
    """Quote a value for use as one URL path segment (a '/' in a project name must not split it)."""
    return quote(str(value), safe="")


templates.env.filters.update(ms=_ms, time=_time, pretty=_pretty, segment=_segment, usd=_usd)
templates.env.globals.update(kind_icons=KIND_ICONS)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("access", None)
    response = templates.TemplateResponse(
        request, template, {"csrf": csrf_token(request), **context}, status_code=status_code
    )
    remember_csrf(request, response)
    return response
