"""Data for the trace page's "Similar spans" panel: the nearest LLM spans by input embedding."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tenbin.errors import NotFound
from tenbin.server.auth import Access
from tenbin.store.embeddings import similar_spans

LIMIT = 5
PREVIEW = 160


def similar_panel(engine: Engine, access: Access, span: dict[str, Any] | None) -> dict[str, Any] | None:
    """None for non-LLM spans (no panel); otherwise the neighbours, or a note saying how to get them."""
    if not span or span.get("kind") != "LLM":
        return None
    try:
        found = similar_spans(engine, span["span_id"], field="input", limit=LIMIT, project=access.project)
    except NotFound as exc:
        return {"items": [], "model": None, "note": str(exc)}
    items = [{**item, "preview": (item["input_value"] or "")[:PREVIEW]} for item in found["items"]]
    return {"items": items, "model": found["model"], "note": None if items else "no other embedded spans yet"}
