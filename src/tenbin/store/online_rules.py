"""All SQL of online evaluation rules. Validation lives in `tenbin.evals.online`.

Which spans a rule still owes is an anti-join: spans of its project matching its filter, started
since the rule's `since_us`, with no `online_eval_spans` row for the rule. Every matching span gets
a row once decided (evaluated or not sampled), so a span stored late, or one that matches only
later (e.g. when thumbs-down feedback arrives), is still picked up, and none is decided twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tenbin.errors import InvalidInput
from tenbin.filters import compile_filter
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import Feedback, Job, Project, Span
from tenbin.store.models.online_evals import OnlineEvalRule, OnlineEvalSpan
from tenbin.store.writes import ensure_projects

RULE_FIELDS = ("id", "name", "filter", "sampling_rate", "evaluators", "enabled", "max_per_minute", "since_us",
               "created_us", "updated_us", "failures", "last_error", "last_attempt_us", "next_attempt_us",
               "last_success_us")
EDITABLE = ("filter", "sampling_rate", "evaluators", "enabled", "max_per_minute")
OUTCOMES = ("evaluated", "unsampled", "skipped", "error")
JOB_PREFIX = "online-eval:"


def job_name(rule_name: str) -> str:
    """The rule's checkpoint row in `jobs` (tenbin.jobs runs each rule as a batch job)."""
    return JOB_PREFIX + rule_name


def _select_rules() -> Any:
    return (select(*OnlineEvalRule.__table__.c, Project.name.label("project"))
            .join(Project, Project.id == OnlineEvalRule.project_id))


def _rows(conn: Connection, stmt: Any) -> list[dict[str, Any]]:
    return [{f: getattr(r, f) for f in (*RULE_FIELDS, "project", "project_id")} for r in conn.execute(stmt)]


def create_rule(engine: Engine, project: str, values: dict[str, Any], *, backfill: bool = False) -> dict[str, Any]:
    """Store a validated rule; the project is created if no span has arrived yet."""
    now = now_us()
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        taken = conn.execute(select(OnlineEvalRule.id).where(OnlineEvalRule.project_id == pid,
                                                             OnlineEvalRule.name == values["name"])).first()
        if taken:
            raise InvalidInput(f"project {project!r} already has an online eval rule named {values['name']!r}; "
                               "pick another name, or change that rule")
        row = {**values, "project_id": pid, "since_us": 0 if backfill else now, "created_us": now,
               "updated_us": now, "failures": 0}
        conn.execute(OnlineEvalRule.__table__.insert(), row)
    return get_rule(engine, project, values["name"])


def get_rule(engine: Engine, project: str, name: str) -> dict[str, Any]:
    with engine.connect() as conn:
        rid = id_by_name(conn, OnlineEvalRule, project, name, "online eval rule")
        return _rows(conn, _select_rules().where(OnlineEvalRule.id == rid))[0]


def list_rules(engine: Engine, project: str | None = None, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    """Rules of one project (or every project), by name."""
    stmt = _select_rules().order_by(Project.name, OnlineEvalRule.name)
    if project is not None:
        stmt = stmt.where(Project.name == project)
    if enabled_only:
        stmt = stmt.where(OnlineEvalRule.enabled.is_(True))
    with engine.connect() as conn:
        return _rows(conn, stmt)


def update_rule(engine: Engine, project: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change editable fields; re-enabling a rule also clears its back-off so it runs on the next tick."""
    values = {k: v for k, v in changes.items() if k in EDITABLE}
    if changes.get("enabled"):
        values.update(failures=0, next_attempt_us=None)
    with write_transaction(engine) as conn:
        rid = id_by_name(conn, OnlineEvalRule, project, name, "online eval rule", lock=True)
        conn.execute(update(OnlineEvalRule).where(OnlineEvalRule.id == rid).values(updated_us=now_us(), **values))
    return get_rule(engine, project, name)


def delete_rule(engine: Engine, project: str, name: str) -> None:
    """Drop the rule, its decided-spans rows and its job checkpoint; its results stay on the spans."""
    with write_transaction(engine) as conn:
        rid = id_by_name(conn, OnlineEvalRule, project, name, "online eval rule", lock=True)
        pid = conn.execute(select(OnlineEvalRule.project_id).where(OnlineEvalRule.id == rid)).scalar_one()
        conn.execute(delete(OnlineEvalSpan).where(OnlineEvalSpan.rule_id == rid))
        conn.execute(delete(Job).where(Job.project_id == pid, Job.name == job_name(name)))
        conn.execute(delete(OnlineEvalRule).where(OnlineEvalRule.id == rid))


def record_attempt(engine: Engine, rule_id: int, at_us: int, error: str | None, next_attempt_us: int | None) -> None:
    """After a pass: success resets the failure count; a failure counts up and sets the back-off."""
    values: dict[str, Any] = {"last_attempt_us": at_us, "last_error": error, "next_attempt_us": next_attempt_us}
    if error is None:
        values.update(failures=0, last_success_us=at_us)
    else:
        values["failures"] = OnlineEvalRule.failures + 1
    with write_transaction(engine) as conn:
        conn.execute(update(OnlineEvalRule).where(OnlineEvalRule.id == rule_id).values(**values))


def _pending(rule: dict[str, Any]) -> list[Any]:
    decided = select(OnlineEvalSpan.span_id).where(OnlineEvalSpan.rule_id == rule["id"],
                                                   OnlineEvalSpan.span_id == Span.span_id)
    return [Span.project_id == rule["project_id"], Span.start_us >= rule["since_us"], compile_filter(rule["filter"]),
            ~decided.exists()]


def _after(cursor: Sequence[Any] | None) -> list[Any]:
    if not cursor:
        return []
    start_us, span_id = cursor
    return [(Span.start_us > start_us) | ((Span.start_us == start_us) & (Span.span_id > span_id))]


def pending_spans(engine: Engine, rule: dict[str, Any], cursor: Sequence[Any] | None, limit: int) -> list[tuple[str, int]]:
    """(span_id, start_us) of undecided matching spans after `cursor`, oldest first."""
    stmt = (select(Span.span_id, Span.start_us).where(*_pending(rule), *_after(cursor))
            .order_by(Span.start_us, Span.span_id).limit(limit))
    with engine.connect() as conn:
        return [(r.span_id, r.start_us) for r in conn.execute(stmt)]


def count_pending(engine: Engine, rule: dict[str, Any], cursor: Sequence[Any] | None = None) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Span).where(*_pending(rule), *_after(cursor))).scalar_one()


def pending_ids(engine: Engine, rule: dict[str, Any], limit: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Span.span_id).where(*_pending(rule)).limit(limit)).scalars())


def outcome_counts(engine: Engine, rule_id: int) -> dict[str, int]:
    stmt = (select(OnlineEvalSpan.outcome, func.count()).where(OnlineEvalSpan.rule_id == rule_id)
            .group_by(OnlineEvalSpan.outcome))
    with engine.connect() as conn:
        found = dict(conn.execute(stmt).tuples().all())
    return {o: found.get(o, 0) for o in OUTCOMES}


def evaluated_since(engine: Engine, rule_id: int, since_us: int) -> int:
    """Spans the rule evaluated since `since_us` (what its per-minute limit counts)."""
    stmt = select(func.count()).where(OnlineEvalSpan.rule_id == rule_id, OnlineEvalSpan.outcome == "evaluated",
                                      OnlineEvalSpan.done_us >= since_us)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def decide(conn: Connection, rule_id: int, decisions: Sequence[dict[str, Any]]) -> set[str]:
    """Record each span's outcome; returns the span ids this call recorded (another runner that got
    there first keeps its row, and the caller then stores no second result for that span)."""
    if not decisions:
        return set()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(OnlineEvalSpan.__table__).on_conflict_do_nothing(index_elements=["rule_id", "span_id"])
            .returning(OnlineEvalSpan.span_id))
    done = now_us()
    rows = [{"rule_id": rule_id, "done_us": done, "note": None, **d} for d in decisions]
    return {r.span_id for r in conn.execute(stmt, rows)}


def insert_feedback(conn: Connection, project_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Evaluator results as feedback rows (already valid: they come from evaluators, not users)."""
    if rows:
        created = now_us()
        conn.execute(Feedback.__table__.insert(), [{"project_id": project_id, "created_us": created, **r} for r in rows])
