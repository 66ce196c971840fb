"""The `jobs` table: one checkpoint row per (project, job name), read at start and advanced in the
same transaction as the batch it covers, so a crash resumes exactly where the last commit left it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from tenbin.store.engine import write_transaction
from tenbin.store.models import Job

FIELDS = ("name", "cursor", "processed", "backlog", "status", "last_error", "started_us", "updated_us")


def now_us() -> int:
    return time.time_ns() // 1000


def _as_dict(row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in FIELDS}


def get_checkpoint(engine: Engine, project_id: int, name: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(Job).where(Job.project_id == project_id, Job.name == name)).first()
    return _as_dict(row) if row else None


def list_checkpoints(engine: Engine, project_id: int, prefix: str = "") -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Job).where(Job.project_id == project_id, Job.name.startswith(prefix))
                            .order_by(Job.name)).all()
    return [_as_dict(r) for r in rows]


def begin_run(engine: Engine, project_id: int, name: str, cursor: Any, processed: int, backlog: int | None) -> None:
    """Create or reset the job's row to `running` from `cursor`."""
    values = {"cursor": cursor, "processed": processed, "backlog": backlog, "status": "running",
              "last_error": None, "started_us": now_us(), "updated_us": now_us()}
    with write_transaction(engine) as conn:
        found = conn.execute(update(Job).where(Job.project_id == project_id, Job.name == name).values(**values))
        if found.rowcount == 0:
            conn.execute(Job.__table__.insert().values(project_id=project_id, name=name, **values))


def advance(conn: Connection, project_id: int, name: str, cursor: Any, processed: int, backlog: int | None) -> None:
    """Move the checkpoint inside the caller's batch transaction."""
    conn.execute(update(Job).where(Job.project_id == project_id, Job.name == name).values(
        cursor=cursor, processed=processed, backlog=backlog, updated_us=now_us()))


def finish(engine: Engine, project_id: int, name: str, status: str, error: str | None = None) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(Job).where(Job.project_id == project_id, Job.name == name).values(
            status=status, last_error=error, updated_us=now_us()))
