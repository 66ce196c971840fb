"""Bulk writes of generated traffic (the planted-problem generator used by tests, the demo and the
benchmarks): spans and their feedback in one transaction. Real feedback goes through
`store.feedback.add_feedback`, which checks each item; generated rows are valid by construction,
and one row at a time would make a 10⁵-span seed take minutes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Feedback
from tenbin.store.writes import ensure_projects, insert_spans

_CHUNK = 5000


def write_traffic(engine: Engine, project: str, spans: Sequence[dict[str, Any]],
                  feedback: Sequence[dict[str, Any]] = ()) -> int:
    """Insert span rows (all SPAN_COLUMNS but project_id) and feedback rows (trace_id, span_id,
    name, kind, value, source); returns the project id."""
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        for i in range(0, len(spans), _CHUNK):
            insert_spans(conn, [{**r, "project_id": pid} for r in spans[i:i + _CHUNK]])
        created = now_us()
        rows = [{"label": None, "comment": None, "author": None, "details": None, "created_us": created, **f,
                 "project_id": pid} for f in feedback]
        for i in range(0, len(rows), _CHUNK):
            conn.execute(Feedback.__table__.insert(), rows[i:i + _CHUNK])
    return pid
