"""Query parameters shared by the list endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import Query

from tenbin.errors import InvalidInput
from tenbin.store.queries import SpanQuery


def parse_time(value: str | None, name: str) -> int | None:
    """ISO-8601 (naive means UTC) or epoch seconds → microseconds."""
    if value is None or value == "":
        return None
    try:
        return int(float(value) * 1_000_000)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{name}={value!r} is not an ISO-8601 time or epoch seconds") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1_000_000)


FilterParam = Annotated[str, Query(description='Filter expression, e.g. kind == "LLM" and latency_ms > 2000')]
TimeParam = Annotated[str | None, Query(description="ISO-8601 time or epoch seconds")]


def span_query(project: str, filter: str = "", start: str | None = None, end: str | None = None) -> SpanQuery:
    return SpanQuery(project, filter, parse_time(start, "start"), parse_time(end, "end"))


@dataclass
class ListParams:
    """A list request: which spans (`query`) and which page of them, in which order."""

    query: SpanQuery
    limit: int
    cursor: str | None
    sort: str
    descending: bool


def list_params(project: str, filter: FilterParam = "", start: TimeParam = None, end: TimeParam = None,
                limit: int = 50, cursor: str | None = None, sort: str = "start_time",
                order: Literal["desc", "asc"] = "desc") -> ListParams:
    return ListParams(span_query(project, filter, start, end), limit, cursor, sort, order == "desc")
