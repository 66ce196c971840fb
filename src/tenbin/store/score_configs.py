"""All SQL of score configs: a project's annotation dimensions (checked by `tenbin.scores`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from tenbin.errors import InvalidInput, NotFound
from tenbin.scores import check_config
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import Project, ScoreConfig
from tenbin.store.writes import ensure_projects

CONFIG_FIELDS = ("name", "type", "labels", "min_value", "max_value", "description", "created_us")


def _select() -> Any:
    return select(ScoreConfig.id, *(getattr(ScoreConfig, f) for f in CONFIG_FIELDS))


def _dict(row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in ("id", *CONFIG_FIELDS)}


def create_config(engine: Engine, project: str, name: Any, type: Any, *, labels: Sequence[Any] | None = None,
                  min_value: Any = None, max_value: Any = None, description: str = "") -> dict[str, Any]:
    """Store a checked config; the project is created if no span has arrived yet. A taken name is refused:
    answers are feedback named after the config, so two meanings under one name would mix."""
    row = check_config(name, type, labels=labels, min_value=min_value, max_value=max_value, description=description)
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        refuse_taken(conn, ScoreConfig, pid, row["name"], f"project {project!r} already has a score config named "
                     f"{row['name']!r}; use it, or pick another name")
        row.update(project_id=pid, created_us=now_us())
        row["id"] = conn.execute(ScoreConfig.__table__.insert().returning(ScoreConfig.id), row).scalar_one()
    return {f: row[f] for f in ("id", *CONFIG_FIELDS)}


def refuse_taken(conn: Connection, model: Any, project_id: int, name: str, message: str) -> None:
    """InvalidInput(`message`) when the project already has a `model` row called `name`."""
    if conn.execute(select(model.id).where(model.project_id == project_id, model.name == name)).first():
        raise InvalidInput(message)


def list_configs(engine: Engine, project: str) -> list[dict[str, Any]]:
    """The project's score configs, by name."""
    stmt = (_select().join(Project, Project.id == ScoreConfig.project_id)
            .where(Project.name == project).order_by(ScoreConfig.name))
    with engine.connect() as conn:
        return [_dict(r) for r in conn.execute(stmt)]


def get_config(engine: Engine, project: str, name: str) -> dict[str, Any]:
    with engine.connect() as conn:
        cid = id_by_name(conn, ScoreConfig, project, name, "score config")
        return _dict(conn.execute(_select().where(ScoreConfig.id == cid)).one())


def config_ids(conn: Connection, project_id: int, names: Sequence[str]) -> list[int]:
    """Ids of the named configs in the given order; an unknown name is a NotFound listing the known ones."""
    found = dict(conn.execute(select(ScoreConfig.name, ScoreConfig.id).where(
        ScoreConfig.project_id == project_id, ScoreConfig.name.in_(list(names)))).tuples().all())
    missing = [n for n in names if n not in found]
    if missing:
        known = conn.execute(select(ScoreConfig.name).where(ScoreConfig.project_id == project_id)
                             .order_by(ScoreConfig.name)).scalars().all()
        raise NotFound(f"no score config named {', '.join(map(repr, missing))}; create it first "
                       f"(score configs are: {', '.join(known) or 'none yet'})")
    return [found[n] for n in names]


def configs_of(conn: Connection, config_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The configs with these ids, in this order."""
    rows = {r.id: _dict(r) for r in conn.execute(_select().where(ScoreConfig.id.in_(list(config_ids))))}
    return [rows[i] for i in config_ids if i in rows]
