"""All SQL of judge calibrations: the last report per project and judge, replaced by the next one.

Rows in and out are plain dicts: `save` takes `CalibrationReport.to_dict()`; a summary is the
headline numbers the evaluator list shows (plus `created`, ISO time), `report` adds the whole report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Project
from tenbin.store.models.calibrations import JudgeCalibration
from tenbin.store.prompts import _insert
from tenbin.store.queries import iso
from tenbin.store.writes import ensure_projects

SUMMARY = ("judge", "version", "model", "n", "accuracy", "kappa", "unparseable")


def save(engine: Engine, project: str, report: dict[str, Any]) -> dict[str, Any]:
    """Keep `report` as the project's last calibration of its judge; returns its summary."""
    row = {**{k: report[k] for k in SUMMARY}, "report": report, "created_us": now_us()}
    with write_transaction(engine) as conn:
        row["project_id"] = ensure_projects(conn, {project})[project]
        conn.execute(_insert(conn, JudgeCalibration.__table__).values(**row).on_conflict_do_update(
            index_elements=["project_id", "judge"], set_={k: v for k, v in row.items() if k != "project_id"}))
    return _summary(row)


def _summary(row: Any) -> dict[str, Any]:
    values = row if isinstance(row, dict) else row._mapping
    return {**{k: values[k] for k in SUMMARY}, "created": iso(values["created_us"])}


def _of_project(project: str, *columns: Any) -> Any:
    return (select(*columns).join(Project, Project.id == JudgeCalibration.project_id)
            .where(Project.name == project))


def summaries(engine: Engine, project: str) -> dict[str, dict[str, Any]]:
    """Judge → summary of its last calibration in `project` (judges never calibrated are absent);
    the headline columns only, not the reports."""
    table = JudgeCalibration.__table__
    columns = [table.c[k] for k in (*SUMMARY, "created_us")]
    with engine.connect() as conn:
        return {r.judge: _summary(r) for r in conn.execute(_of_project(project, *columns))}


def last_report(engine: Engine, project: str, judge: str) -> dict[str, Any] | None:
    """The whole last report of `judge` in `project` with its `created` time, or None."""
    with engine.connect() as conn:
        row = conn.execute(_of_project(project, JudgeCalibration.report, JudgeCalibration.created_us)
                           .where(JudgeCalibration.judge == judge)).first()
    return None if row is None else {**row.report, "created": iso(row.created_us)}
