"""All SQL of monitors, their evaluations and alerts; rows in and out are plain dicts.

Validation and the checks themselves live in `tenbin.analytics.monitors`. `record_evaluation`
is the one write of a check: under the monitor's row lock it stores the evaluation, moves the
monitor's state and, on a move from not firing to firing, inserts the alert, so two checkers
(e.g. two server replicas) can never alert twice for one transition.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.prompts import _insert
from tenbin.store.lookup import now_us
from tenbin.store.models import Project
from tenbin.store.models.monitors import Alert, AlertSettings, Monitor, MonitorEvaluation
from tenbin.store.queries import iso
from tenbin.store.writes import ensure_projects

OK, FIRING = "ok", "firing"
DECISIVE = (OK, FIRING)
"""Evaluation statuses that set the monitor's state; others (too few samples, no analysis,
an error) leave it as it was, so a quiet hour neither raises nor clears an alarm."""
MONITOR_FIELDS = ("name", "kind", "comparison", "threshold", "window_s", "min_samples", "filter", "prompt_name",
                  "prompt_version", "analysis_id", "cluster", "group_by", "evaluator", "label", "webhook_url", "interval_s",
                  "enabled")
_EVAL_FIELDS = ("status", "value", "reference", "threshold", "n", "reference_n", "window_start_us", "window_end_us",
                "analysis_id", "cluster", "message", "details")


def _monitor_dict(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", *MONITOR_FIELDS, "state", "created_us", "last_checked_us")}
    prompt = row["prompt_name"]
    if prompt and row["prompt_version"] is not None:
        prompt = f"{prompt}@{row['prompt_version']}"
    return {**out, "project": row["project"], "prompt": prompt, "created": iso(row["created_us"]),
            "last_checked": iso(row["last_checked_us"])}


def _monitors(project: str | None = None) -> Any:
    stmt = select(Monitor.__table__, Project.name.label("project")).join(Project, Project.id == Monitor.project_id)
    return stmt if project is None else stmt.where(Project.name == project)


def create_monitor(engine: Engine, project: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert a validated monitor; a name already used in the project is refused."""
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        _name_taken(conn, pid, fields["name"])
        row = {**{k: fields.get(k) for k in MONITOR_FIELDS}, "project_id": pid, "state": OK, "created_us": now_us()}
        monitor_id = conn.execute(Monitor.__table__.insert().returning(Monitor.id), row).scalar_one()
    return get_monitor(engine, monitor_id)


def get_monitor(engine: Engine, monitor_id: int, project: str | None = None) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(_monitors(project).where(Monitor.id == monitor_id)).mappings().first()
    if row is None:
        where = f" in project {project!r}" if project else ""
        raise NotFound(f"no monitor {monitor_id}{where}; list them with `tenbin monitors ls` "
                       "or GET /api/v1/projects/<project>/monitors")
    return _monitor_dict(row)


def list_monitors(engine: Engine, project: str | None = None, *, due_at_us: int | None = None) -> list[dict[str, Any]]:
    """Monitors of `project` (all projects when None) by id; with `due_at_us`, only the enabled
    ones whose interval has passed since their last check."""
    stmt = _monitors(project).order_by(Monitor.id)
    if due_at_us is not None:
        stmt = stmt.where(Monitor.enabled.is_(True), (Monitor.last_checked_us.is_(None))
                          | (Monitor.last_checked_us + Monitor.interval_s * 1_000_000 <= due_at_us))
    with engine.connect() as conn:
        return [_monitor_dict(r) for r in conn.execute(stmt).mappings()]


def _name_taken(conn: Connection, project_id: int, name: str, other_than: int | None = None) -> None:
    taken = conn.execute(select(Monitor.id).where(Monitor.project_id == project_id, Monitor.name == name,
                                                  Monitor.id != (other_than or 0))).scalar()
    if taken is not None:
        raise InvalidInput(f"this project already has a monitor named {name!r} (id {taken}); "
                           "pick another name or change that monitor")


def update_monitor(engine: Engine, monitor_id: int, changes: dict[str, Any], project: str | None = None) -> dict[str, Any]:
    get_monitor(engine, monitor_id, project)
    unknown = sorted(set(changes) - set(MONITOR_FIELDS))
    if unknown:
        raise InvalidInput(f"cannot change {unknown}; a monitor has: {', '.join(MONITOR_FIELDS)}")
    if changes:
        with write_transaction(engine) as conn:
            if "name" in changes:
                pid = conn.execute(select(Monitor.project_id).where(Monitor.id == monitor_id)).scalar_one()
                _name_taken(conn, pid, changes["name"], monitor_id)
            conn.execute(update(Monitor).where(Monitor.id == monitor_id).values(**changes))
    return get_monitor(engine, monitor_id)


def delete_monitor(engine: Engine, monitor_id: int, project: str | None = None) -> None:
    """Remove the monitor with its evaluations and alerts."""
    get_monitor(engine, monitor_id, project)
    with write_transaction(engine) as conn:
        conn.execute(delete(Alert).where(Alert.monitor_id == monitor_id))
        conn.execute(delete(MonitorEvaluation).where(MonitorEvaluation.monitor_id == monitor_id))
        conn.execute(delete(Monitor).where(Monitor.id == monitor_id))


def record_evaluation(engine: Engine, monitor_id: int, evaluation: dict[str, Any],
                      alert: dict[str, Any] | None, checked_us: int | None = None) -> dict[str, Any]:
    """Store one check (as of `checked_us`, default now) and apply it to the monitor's state under
    its row lock.

    `alert` holds the alert's extra fields (report, webhook URL) and is inserted only when this
    evaluation fires and the monitor was not already firing. Returns the stored evaluation with
    `alert_id` (None when no alert was raised) and the monitor's new `state`."""
    with write_transaction(engine) as conn:
        monitor = conn.execute(select(Monitor.project_id, Monitor.kind, Monitor.state)
                               .where(Monitor.id == monitor_id).with_for_update()).first()
        if monitor is None:
            raise NotFound(f"no monitor {monitor_id}; it was deleted while being checked")
        row = {**{k: evaluation.get(k) for k in _EVAL_FIELDS}, "monitor_id": monitor_id,
               "checked_us": now_us() if checked_us is None else checked_us}
        row["id"] = conn.execute(MonitorEvaluation.__table__.insert().returning(MonitorEvaluation.id), row).scalar_one()
        status = row["status"]
        state = status if status in DECISIVE else monitor.state
        alert_id = None
        if status == FIRING and monitor.state != FIRING:
            alert_id = _insert_alert(conn, monitor, row, alert or {})
        if state == OK and monitor.state == FIRING:
            conn.execute(update(Alert).where(Alert.monitor_id == monitor_id, Alert.resolved_us.is_(None))
                         .values(resolved_us=row["checked_us"]))
        conn.execute(update(Monitor).where(Monitor.id == monitor_id)
                     .values(state=state, last_checked_us=row["checked_us"]))
    return {**_evaluation_dict(row), "alert_id": alert_id, "state": state}


def _insert_alert(conn: Connection, monitor: Any, evaluation: dict[str, Any], extra: dict[str, Any]) -> int:
    url = extra.get("webhook_url")
    row = {"project_id": monitor.project_id, "monitor_id": evaluation["monitor_id"], "evaluation_id": evaluation["id"],
           "kind": monitor.kind, "created_us": evaluation["checked_us"], "report": extra.get("report"),
           "webhook_url": url, "delivery_status": "pending" if url else "none", "delivery_attempts": 0,
           **{k: evaluation[k] for k in ("message", "value", "reference", "threshold", "n", "analysis_id", "cluster")}}
    return int(conn.execute(Alert.__table__.insert().returning(Alert.id), row).scalar_one())


def _evaluation_dict(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "monitor_id", "checked_us", *_EVAL_FIELDS)}
    return {**out, "checked": iso(row["checked_us"]), "window_start": iso(row["window_start_us"]),
            "window_end": iso(row["window_end_us"])}


def evaluations(engine: Engine, monitor_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The monitor's checks, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(MonitorEvaluation.__table__).where(MonitorEvaluation.monitor_id == monitor_id)
                            .order_by(MonitorEvaluation.id.desc()).limit(limit)).mappings().all()
    return [_evaluation_dict(r) for r in rows]


def set_delivery(engine: Engine, alert_id: int, status: str, attempts: int, error: str | None) -> None:
    """Record how the webhook POST of an alert went (`delivered` or `failed`)."""
    with write_transaction(engine) as conn:
        conn.execute(update(Alert).where(Alert.id == alert_id).values(
            delivery_status=status, delivery_attempts=attempts, delivery_error=error,
            delivered_us=now_us() if status == "delivered" else None))


def _alerts(project: str | None) -> Any:
    stmt = (select(Alert.__table__, Project.name.label("project"), Monitor.name.label("monitor_name"))
            .join(Project, Project.id == Alert.project_id).join(Monitor, Monitor.id == Alert.monitor_id))
    return stmt if project is None else stmt.where(Project.name == project)


def _alert_dict(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("created", "resolved", "acknowledged", "delivered"):
        out[key] = iso(row[f"{key}_us"])
    return out


def list_alerts(engine: Engine, project: str, *, status: str | None = None, monitor_id: int | None = None,
                analysis_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Alerts of the project, newest first; `status` is `open` (not acknowledged) or `acknowledged`;
    `analysis_id` keeps those raised about one analysis (its drift or one of its clusters)."""
    if status not in (None, "open", "acknowledged"):
        raise InvalidInput(f"alert status must be open or acknowledged; got {status!r}")
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000; got {limit}")
    stmt = _alerts(project).order_by(Alert.id.desc()).limit(limit)
    if status == "open":
        stmt = stmt.where(Alert.acknowledged_us.is_(None))
    elif status == "acknowledged":
        stmt = stmt.where(Alert.acknowledged_us.is_not(None))
    if monitor_id is not None:
        stmt = stmt.where(Alert.monitor_id == monitor_id)
    if analysis_id is not None:
        stmt = stmt.where(Alert.analysis_id == analysis_id)
    with engine.connect() as conn:
        return [_alert_dict(r) for r in conn.execute(stmt).mappings()]


def get_alert(engine: Engine, alert_id: int, project: str | None = None) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(_alerts(project).where(Alert.id == alert_id)).mappings().first()
    if row is None:
        where = f" in project {project!r}" if project else ""
        raise NotFound(f"no alert {alert_id}{where}; list them with `tenbin monitors alerts`")
    return _alert_dict(row)


def acknowledge(engine: Engine, alert_id: int, project: str | None = None, by: str | None = None) -> dict[str, Any]:
    """Mark an alert as seen; acknowledging it again keeps the first time and person."""
    get_alert(engine, alert_id, project)
    with write_transaction(engine) as conn:
        conn.execute(update(Alert).where(Alert.id == alert_id, Alert.acknowledged_us.is_(None))
                     .values(acknowledged_us=now_us(), acknowledged_by=by))
    return get_alert(engine, alert_id)


def open_alert_count(engine: Engine, project: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Alert).join(Project, Project.id == Alert.project_id)
                                .where(Project.name == project, Alert.acknowledged_us.is_(None))).scalar_one())


def project_webhook(engine: Engine, project: str) -> str | None:
    """The project's default webhook URL (for monitors without their own), or None."""
    with engine.connect() as conn:
        return conn.execute(select(AlertSettings.webhook_url).join(Project, Project.id == AlertSettings.project_id)
                            .where(Project.name == project)).scalar()


def set_project_webhook(engine: Engine, project: str, url: str | None) -> str | None:
    """Set (or, with None, clear) the project's default webhook URL; returns it."""
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        row = {"project_id": pid, "webhook_url": url, "updated_us": now_us()}
        conn.execute(_insert(conn, AlertSettings.__table__).values(**row).on_conflict_do_update(
            index_elements=["project_id"], set_={"webhook_url": url, "updated_us": row["updated_us"]}))
    return url
