"""Keyset (cursor) pagination: stable under concurrent inserts, and as fast on page 1,000 as on page 1."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_

from tenbin.errors import InvalidInput

MAX_LIMIT = 1000


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid cursor: pass back the `next_cursor` of the previous page unchanged") from exc
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput("invalid cursor: pass back the `next_cursor` of the previous page unchanged")
    return values


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    return limit


def keyset(stmt: Select, key: ColumnElement, tiebreak: ColumnElement, descending: bool,
           cursor: str | None, limit: int) -> Select:
    """Order by (key, tiebreak) and continue after the row the cursor names."""
    if cursor:
        value, tie = decode_cursor(cursor, 2)
        if descending:
            stmt = stmt.where(or_(key < value, and_(key == value, tiebreak < tie)))
        else:
            stmt = stmt.where(or_(key > value, and_(key == value, tiebreak > tie)))
    order = (key.desc(), tiebreak.desc()) if descending else (key.asc(), tiebreak.asc())
    return stmt.order_by(*order).limit(check_limit(limit) + 1)


def page_of(rows: list[dict[str, Any]], limit: int, key: str, tiebreak: str) -> Page:
    """Cut the extra row fetched by `keyset` and turn it into the next cursor."""
    if len(rows) <= limit:
        return Page(rows)
    rows = rows[:limit]
    return Page(rows, encode_cursor([rows[-1][key], rows[-1][tiebreak]]))
