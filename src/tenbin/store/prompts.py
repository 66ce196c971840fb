"""All SQL of the prompt registry. Rows in and out are plain dicts; validation lives in
`tenbin.prompts.registry`.

Pushing a version and moving a label both lock the prompt's row first (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite's write transactions begin IMMEDIATE, which serialises them anyway), so version
numbers never collide and each audit entry's `from_version` is the previous move's `to_version`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from tenbin.errors import NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import Project, Prompt, PromptLabel, PromptLabelMove, PromptVersion
from tenbin.store.writes import ensure_projects

_versions = PromptVersion.__table__
VERSION_FIELDS = ("format", "template", "messages", "variables", "model", "params", "examples", "message", "author")


def _prompt_id(conn: Connection, project: str, name: str, *, lock: bool = False) -> int:
    return id_by_name(conn, Prompt, project, name, "prompt", lock=lock)


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def push_version(engine: Engine, project: str, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store the next version of `name` (creating the prompt, and the project, when new)."""
    with write_transaction(engine) as conn:
        project_id = ensure_projects(conn, {project})[project]
        conn.execute(_insert(conn, Prompt.__table__).on_conflict_do_nothing(index_elements=["project_id", "name"]),
                     {"project_id": project_id, "name": name, "created_us": now_us()})
        prompt_id = _prompt_id(conn, project, name, lock=True)
        latest = conn.execute(select(func.max(PromptVersion.version)).where(PromptVersion.prompt_id == prompt_id)).scalar()
        row = {**{k: fields.get(k) for k in VERSION_FIELDS}, "prompt_id": prompt_id, "version": (latest or 0) + 1,
               "created_us": now_us()}
        row["message"] = row["message"] or ""
        conn.execute(PromptVersion.__table__.insert(), row)
    return {"name": name, "labels": [], **{k: v for k, v in row.items() if k != "prompt_id"}}


def list_prompts(engine: Engine, project: str) -> list[dict[str, Any]]:
    """Each prompt with its newest version number, version count and labels, by name."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Prompt.id, Prompt.name, Prompt.created_us, func.max(PromptVersion.version).label("latest"),
                   func.count(PromptVersion.id).label("versions"), func.max(PromptVersion.created_us).label("updated_us"))
            .join(Project, Project.id == Prompt.project_id).join(PromptVersion, PromptVersion.prompt_id == Prompt.id)
            .where(Project.name == project).group_by(Prompt.id, Prompt.name, Prompt.created_us).order_by(Prompt.name)
        ).all()
        labels = _labels_by_prompt(conn, [r.id for r in rows])
    return [{"name": r.name, "latest_version": r.latest, "versions": r.versions, "created_us": r.created_us,
             "updated_us": r.updated_us, "labels": labels.get(r.id, {})} for r in rows]


def _labels_by_prompt(conn: Connection, prompt_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not prompt_ids:
        return out
    rows = conn.execute(select(PromptLabel.prompt_id, PromptLabel.label, PromptLabel.version)
                        .where(PromptLabel.prompt_id.in_(prompt_ids)).order_by(PromptLabel.label))
    for pid, label, version in rows:
        out.setdefault(pid, {})[label] = version
    return out


def get_version(engine: Engine, project: str, name: str, *, version: int | None = None,
                label: str | None = None) -> dict[str, Any]:
    """One version by number or by label (NotFound lists what exists); neither means the newest."""
    with engine.connect() as conn:
        prompt_id = _prompt_id(conn, project, name)
        by_label = _labels_by_prompt(conn, [prompt_id]).get(prompt_id, {})
        if label is not None:
            if label not in by_label:
                known = ", ".join(by_label) or "none (move one with `tenbin prompts label`)"
                raise NotFound(f"prompt {name!r} has no version labelled {label!r}; labels are: {known}")
            version = by_label[label]
        stmt = select(_versions).where(PromptVersion.prompt_id == prompt_id)
        stmt = stmt.where(PromptVersion.version == version) if version is not None else \
            stmt.order_by(PromptVersion.version.desc()).limit(1)
        row = conn.execute(stmt).mappings().first()
        if row is None:
            latest = conn.execute(select(func.max(PromptVersion.version)).where(PromptVersion.prompt_id == prompt_id)).scalar()
            raise NotFound(f"prompt {name!r} has no version {version}; versions are 1 to {latest}")
    return _version_dict(name, row, by_label)


def list_versions(engine: Engine, project: str, name: str) -> list[dict[str, Any]]:
    """Every version of a prompt, newest first, each with the labels pointing at it."""
    with engine.connect() as conn:
        prompt_id = _prompt_id(conn, project, name)
        by_label = _labels_by_prompt(conn, [prompt_id]).get(prompt_id, {})
        rows = conn.execute(select(_versions).where(PromptVersion.prompt_id == prompt_id)
                            .order_by(PromptVersion.version.desc())).mappings().all()
    return [_version_dict(name, r, by_label) for r in rows]


def _version_dict(name: str, row: Any, by_label: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "version": row["version"], "created_us": row["created_us"],
                           "labels": sorted(k for k, v in by_label.items() if v == row["version"])}
    out.update({k: row[k] for k in VERSION_FIELDS})
    return out


def move_label(engine: Engine, project: str, name: str, label: str, version: int, *,
               author: str | None = None, reason: str = "") -> dict[str, Any]:
    """Point `label` at `version` and log the move, in one transaction under the prompt's lock."""
    with write_transaction(engine) as conn:
        prompt_id = _prompt_id(conn, project, name, lock=True)
        exists = conn.execute(select(PromptVersion.id).where(
            PromptVersion.prompt_id == prompt_id, PromptVersion.version == version)).scalar()
        if exists is None:
            latest = conn.execute(select(func.max(PromptVersion.version)).where(PromptVersion.prompt_id == prompt_id)).scalar()
            raise NotFound(f"prompt {name!r} has no version {version}; versions are 1 to {latest}")
        current = conn.execute(select(PromptLabel.version).where(
            PromptLabel.prompt_id == prompt_id, PromptLabel.label == label)).scalar()
        now = now_us()
        upsert = _insert(conn, PromptLabel.__table__).values(prompt_id=prompt_id, label=label, version=version,
                                                            updated_us=now)
        conn.execute(upsert.on_conflict_do_update(index_elements=["prompt_id", "label"],
                                                  set_={"version": version, "updated_us": now}))
        move = {"prompt_id": prompt_id, "label": label, "from_version": current, "to_version": version,
                "author": author, "reason": reason or "", "moved_us": now}
        move["id"] = conn.execute(PromptLabelMove.__table__.insert().returning(PromptLabelMove.id), move).scalar_one()
    return {"name": name, **{k: v for k, v in move.items() if k != "prompt_id"}}


def label_moves(engine: Engine, project: str, name: str, limit: int = 200) -> list[dict[str, Any]]:
    """The audit log of a prompt's label moves, newest first."""
    with engine.connect() as conn:
        prompt_id = _prompt_id(conn, project, name)
        rows = conn.execute(select(PromptLabelMove.__table__).where(PromptLabelMove.prompt_id == prompt_id)
                            .order_by(PromptLabelMove.id.desc()).limit(limit)).mappings().all()
    return [{"name": name, **{k: v for k, v in r.items() if k != "prompt_id"}} for r in rows]
