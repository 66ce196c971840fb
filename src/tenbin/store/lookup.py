"""Small lookups every project-scoped store module needs: the current time and a row by name."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from tenbin.errors import NotFound
from tenbin.store.models import Project


def now_us() -> int:
    """Now, in the store's time unit (integer microseconds since the epoch)."""
    return int(time.time() * 1_000_000)


def id_by_name(conn: Connection, model: Any, project: str, name: str, what: str, *, lock: bool = False) -> int:
    """The id of `model`'s row called `name` in `project` (locked FOR UPDATE when `lock`).

    A miss is a NotFound that lists what does exist, so the caller's user can correct the name."""
    stmt = select(model.id).join(Project, Project.id == model.project_id).where(
        Project.name == project, model.name == name)
    found = conn.execute(stmt.with_for_update(of=model) if lock else stmt).scalar()
    if found is None:
        names = conn.execute(select(model.name).join(Project, Project.id == model.project_id)
                             .where(Project.name == project).order_by(model.name).limit(20)).scalars().all()
        raise NotFound(f"project {project!r} has no {what} named {name!r}; "
                       f"{what}s are: {', '.join(names) or 'none yet'}")
    return found
