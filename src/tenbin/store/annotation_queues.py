"""All SQL of annotation queues: queues, their items, who reviews what, and the answers as feedback.

Reviewers take items with `next_item`: the oldest pending item nobody else holds, leased to the
reviewer for `LEASE_SECONDS`. Taking one is a single write transaction that skips rows other
reviewers hold or are taking right now (`FOR UPDATE SKIP LOCKED` on PostgreSQL: the row picked
stays locked until the lease is written; SQLite takes its write lock at BEGIN, so takers queue), so
two reviewers asking at the same moment get different items. A lease that runs out (a reviewer who walked
away) frees the item again. Completing stores the answers as feedback rows and marks the item done
in one transaction: a second completion, or one by another reviewer while the lease holds, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tenbin.errors import InvalidInput, NotFound
from tenbin.scores import answers_feedback
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import id_by_name, now_us
from tenbin.store.models import (
    AnnotationItem,
    AnnotationQueue,
    AnnotationQueueConfig,
    Feedback,
    Project,
    Span,
    Trace,
)
from tenbin.store.pages import Page, keyset, page_of
from tenbin.store.queries import SpanQuery, iso, span_conditions
from tenbin.store.score_configs import config_ids, configs_of, refuse_taken
from tenbin.store.writes import ensure_projects

LEASE_SECONDS = 600
STATUSES = ("pending", "done", "skipped")
MAX_ADD = 10_000
MAX_NAME = 200
PREVIEW_CHARS = 200
CHUNK = 500


def _text(value: Any, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME:
        raise InvalidInput(f"{what} must be 1 to {MAX_NAME} characters; got {value!r}")
    return text


def _queue_id(conn: Connection, project: str, name: str, lock: bool = False) -> int:
    return id_by_name(conn, AnnotationQueue, project, name, "annotation queue", lock=lock)


def create_queue(engine: Engine, project: str, name: Any, configs: Sequence[str], description: str = "") -> dict[str, Any]:
    """A queue asking for the named score configs (they must exist), in that order."""
    name = _text(name, "a queue's name")
    names = list(dict.fromkeys(c.strip() for c in configs if c.strip()))
    if not names:
        raise InvalidInput("a queue needs at least one score config to fill; create one first")
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        refuse_taken(conn, AnnotationQueue, pid, name,
                     f"project {project!r} already has an annotation queue named {name!r}; pick another name")
        ids = config_ids(conn, pid, names)
        row = {"project_id": pid, "name": name, "description": (description or "").strip(), "created_us": now_us()}
        qid = conn.execute(AnnotationQueue.__table__.insert().returning(AnnotationQueue.id), row).scalar_one()
        conn.execute(AnnotationQueueConfig.__table__.insert(),
                     [{"queue_id": qid, "config_id": c, "position": i} for i, c in enumerate(ids)])
    return get_queue(engine, project, name)


def _configs(conn: Connection, queue_id: int) -> list[dict[str, Any]]:
    ids = conn.execute(select(AnnotationQueueConfig.config_id).where(AnnotationQueueConfig.queue_id == queue_id)
                       .order_by(AnnotationQueueConfig.position)).scalars().all()
    return configs_of(conn, ids)


def _progress(conn: Connection, queue_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per queue: items in each status and the total."""
    stmt = (select(AnnotationItem.queue_id, AnnotationItem.status, func.count()).where(
        AnnotationItem.queue_id.in_(list(queue_ids))).group_by(AnnotationItem.queue_id, AnnotationItem.status))
    out = {q: dict.fromkeys(STATUSES, 0) for q in queue_ids}
    for qid, status, n in conn.execute(stmt):
        out[qid][status] = n
    for counts in out.values():
        counts["total"] = sum(counts[s] for s in STATUSES)
    return out


def _queues(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    progress = _progress(conn, [r.id for r in rows])
    return [{"id": r.id, "name": r.name, "description": r.description, "created_at": iso(r.created_us),
             "configs": _configs(conn, r.id), "progress": progress[r.id]} for r in rows]


def list_queues(engine: Engine, project: str) -> list[dict[str, Any]]:
    """The project's queues by name, each with its score configs and progress."""
    stmt = (select(AnnotationQueue.__table__).join(Project, Project.id == AnnotationQueue.project_id)
            .where(Project.name == project).order_by(AnnotationQueue.name))
    with engine.connect() as conn:
        return _queues(conn, conn.execute(stmt).all())


def queue_names(engine: Engine, project: str) -> list[str]:
    """The project's queue names, sorted: the choices of an "Add to queue" picker."""
    stmt = (select(AnnotationQueue.name).join(Project, Project.id == AnnotationQueue.project_id)
            .where(Project.name == project).order_by(AnnotationQueue.name))
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def get_queue(engine: Engine, project: str, name: str) -> dict[str, Any]:
    with engine.connect() as conn:
        qid = _queue_id(conn, project, name)
        return _queues(conn, conn.execute(select(AnnotationQueue.__table__).where(AnnotationQueue.id == qid)).all())[0]


Found = tuple[str, str, int]
"""(span id, trace id, start time) of a span to add."""


def _chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    """`values` in slices small enough for any SQLite build's bound-parameter limit (999)."""
    return [values[i:i + size] for i in range(0, len(values), size)]


def _spans_by_id(conn: Connection, pid: int, span_ids: Sequence[str]) -> list[Found]:
    stmt = select(Span.span_id, Span.trace_id, Span.start_us).where(Span.project_id == pid)
    found = {r.span_id: tuple(r) for ids in _chunks(span_ids) for r in conn.execute(stmt.where(Span.span_id.in_(ids)))}
    missing = [s for s in span_ids if s not in found]
    if missing:
        raise NotFound(f"no span with id {', '.join(map(repr, missing[:10]))} in this project; nothing added")
    return list(found.values())


def _root_spans(conn: Connection, pid: int, trace_ids: Sequence[str]) -> list[Found]:
    """A trace stands for its root span."""
    stmt = select(Trace.trace_id, Trace.root_span_id, Trace.start_us).where(Trace.project_id == pid)
    found = {r.trace_id: r for ids in _chunks(trace_ids) for r in conn.execute(stmt.where(Trace.trace_id.in_(ids)))}
    missing = [t for t in trace_ids if t not in found]
    if missing:
        raise NotFound(f"no trace with id {', '.join(map(repr, missing[:10]))} in this project; nothing added")
    rootless = [t for t in trace_ids if not found[t].root_span_id]
    if rootless:
        raise InvalidInput(f"trace {rootless[0]!r} has no root span stored (yet); add one of its spans by id")
    return [(found[t].root_span_id, t, found[t].start_us) for t in trace_ids]


def _matching(conn: Connection, project: str, filter: str, limit: int) -> list[Found]:
    """The newest `limit` spans matching `filter`."""
    stmt = (select(Span.span_id, Span.trace_id, Span.start_us).where(*span_conditions(conn, SpanQuery(project, filter)))
            .order_by(Span.start_us.desc(), Span.span_id.desc()).limit(limit))
    rows = [tuple(r) for r in conn.execute(stmt)]
    if not rows:
        raise InvalidInput(f"no spans of project {project!r} match the filter {filter!r}; nothing added")
    return rows


def add_items(engine: Engine, project: str, name: str, *, span_ids: Sequence[str] = (), trace_ids: Sequence[str] = (),
              filter: str | None = None, limit: int = 100) -> dict[str, Any]:
    """Add spans (by id, a trace's root span, or the newest `limit` matching `filter`) as pending items,
    oldest span first, so reviewers meet them in the order they happened; a span already in the
    queue stays as it is. Returns how many were added and how many were there."""
    span_ids, trace_ids = list(dict.fromkeys(span_ids)), list(dict.fromkeys(trace_ids))
    if not (span_ids or trace_ids or filter is not None):
        raise InvalidInput("say which spans to add: span_ids, trace_ids (their root spans) or a filter")
    if not 1 <= limit <= MAX_ADD or len(span_ids) + len(trace_ids) > MAX_ADD:
        raise InvalidInput(f"add at most {MAX_ADD} spans at a time (limit from 1 to {MAX_ADD}); got more")
    with engine.connect() as conn:  # the spans are found first: a filter's scan must not hold SQLite's write lock
        qid = _queue_id(conn, project, name)
        pid = conn.execute(select(AnnotationQueue.project_id).where(AnnotationQueue.id == qid)).scalar_one()
        pairs = _spans_by_id(conn, pid, span_ids) + _root_spans(conn, pid, trace_ids)
        if filter is not None:
            pairs += _matching(conn, project, filter, limit)
    spans = {s: t for s, t, _ in sorted(set(pairs), key=lambda p: (p[2], p[0]))}
    with write_transaction(engine) as conn:
        added = _insert_items(conn, _queue_id(conn, project, name, lock=True), spans)
    return {"queue": name, "added": added, "already": len(spans) - added}


def _insert_items(conn: Connection, queue_id: int, spans: dict[str, str]) -> int:
    if not spans:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(AnnotationItem.__table__).on_conflict_do_nothing(index_elements=["queue_id", "span_id"])
            .returning(AnnotationItem.id))
    created = now_us()
    rows = [{"queue_id": queue_id, "span_id": s, "trace_id": t, "status": "pending", "created_us": created}
            for s, t in spans.items()]
    return sum(len(conn.execute(stmt, list(chunk)).all()) for chunk in _chunks(rows, CHUNK // 5))


ITEM_COLUMNS = (AnnotationItem.id, AnnotationItem.span_id, AnnotationItem.trace_id, AnnotationItem.status,
                AnnotationItem.created_us, AnnotationItem.lease_owner, AnnotationItem.lease_until_us,
                AnnotationItem.completed_by, AnnotationItem.completed_us)


def _item(row: Any, queue: str, now: int | None = None) -> dict[str, Any]:
    """An item as the API shows it; the lease only while it holds (and the item is pending)."""
    m = row._mapping
    held = m["status"] == "pending" and m["lease_until_us"] is not None and m["lease_until_us"] > (now or now_us())
    out = {"id": m["id"], "queue": queue, "span_id": m["span_id"], "trace_id": m["trace_id"], "status": m["status"],
           "created_at": iso(m["created_us"]), "reviewer": m["lease_owner"] if held else None,
           "lease_until": iso(m["lease_until_us"]) if held else None, "completed_by": m["completed_by"],
           "completed_at": iso(m["completed_us"])}
    out.update({k: m[k] for k in ("span_name", "span_kind", "input_preview") if k in m})
    return out


def list_items(engine: Engine, project: str, name: str, status: str | None = None, limit: int = 50,
               cursor: str | None = None) -> Page:
    """The queue's items in the order they are reviewed (oldest first), with each span's name and input's start."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    stmt = (select(*ITEM_COLUMNS, Span.name.label("span_name"), Span.kind.label("span_kind"),
                   func.substr(Span.input_value, 1, PREVIEW_CHARS).label("input_preview"))
            .outerjoin(Span, Span.span_id == AnnotationItem.span_id))
    with engine.connect() as conn:
        qid = _queue_id(conn, project, name)
        stmt = stmt.where(AnnotationItem.queue_id == qid)
        if status is not None:
            stmt = stmt.where(AnnotationItem.status == status)
        now = now_us()
        rows = [_item(r, name, now) for r in conn.execute(keyset(stmt, AnnotationItem.id, AnnotationItem.id, False,
                                                                cursor, limit))]
    return page_of(rows, limit, "id", "id")


def _locked_item(conn: Connection, project: str, name: str, item_id: int) -> tuple[Any, int, int]:
    """The item row (locked for the transaction), its queue's id and project id; NotFound names the queue."""
    qid = _queue_id(conn, project, name)
    row = conn.execute(select(*ITEM_COLUMNS).where(AnnotationItem.queue_id == qid, AnnotationItem.id == item_id)
                       .with_for_update()).first()
    if row is None:
        raise NotFound(f"annotation queue {name!r} has no item {item_id}; list its items to find one")
    return row, qid, conn.execute(select(AnnotationQueue.project_id).where(AnnotationQueue.id == qid)).scalar_one()


def get_item(engine: Engine, project: str, name: str, item_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        qid = _queue_id(conn, project, name)
        row = conn.execute(select(*ITEM_COLUMNS).where(AnnotationItem.queue_id == qid,
                                                       AnnotationItem.id == item_id)).first()
    if row is None:
        raise NotFound(f"annotation queue {name!r} has no item {item_id}; list its items to find one")
    return _item(row, name)


def _free_for(reviewer: str, now: int) -> Any:
    return or_(AnnotationItem.lease_until_us.is_(None), AnnotationItem.lease_until_us <= now,
               AnnotationItem.lease_owner == reviewer)


def next_item(engine: Engine, project: str, name: str, reviewer: str,
              lease_seconds: float = LEASE_SECONDS) -> dict[str, Any] | None:
    """Lease the reviewer the item they already hold, else the oldest pending item nobody holds; None when none is left."""
    reviewer = _text(reviewer, "the reviewer")
    with write_transaction(engine) as conn:
        qid = _queue_id(conn, project, name)
        now = now_us()
        mine_first = case((AnnotationItem.lease_owner == reviewer, 0), else_=1)
        pick = (select(AnnotationItem.id).where(AnnotationItem.queue_id == qid, AnnotationItem.status == "pending",
                                                _free_for(reviewer, now))
                .order_by(mine_first, AnnotationItem.id).limit(1).with_for_update(skip_locked=True))
        item_id = conn.execute(pick).scalar()
        if item_id is None:
            return None
        until = now + int(lease_seconds * 1_000_000)
        conn.execute(update(AnnotationItem).where(AnnotationItem.id == item_id)
                     .values(lease_owner=reviewer, lease_until_us=until))
        row = conn.execute(select(*ITEM_COLUMNS).where(AnnotationItem.id == item_id)).one()
    return _item(row, name, now)


def _check_open(row: Any, item_id: int, reviewer: str, now: int) -> None:
    """Refuse an item that is finished, or held by another reviewer whose lease still runs."""
    if row.status != "pending":
        raise InvalidInput(f"item {item_id} is already {row.status} (by {row.completed_by} at "
                           f"{iso(row.completed_us)}); nothing changed")
    if row.lease_owner not in (None, reviewer) and (row.lease_until_us or 0) > now:
        raise InvalidInput(f"item {item_id} is being reviewed by {row.lease_owner} until {iso(row.lease_until_us)}; "
                           "take the next item instead")


def _finish(conn: Connection, row: Any, status: str, reviewer: str, now: int) -> None:
    conn.execute(update(AnnotationItem).where(AnnotationItem.id == row.id, AnnotationItem.status == "pending")
                 .values(status=status, completed_by=reviewer, completed_us=now, lease_owner=None, lease_until_us=None))


def complete_item(engine: Engine, project: str, name: str, item_id: int, reviewer: str, answers: dict[str, Any],
                  comment: str | None = None) -> dict[str, Any]:
    """Store the answers (and a comment) as human feedback by `reviewer` on the item's span, and mark it done."""
    reviewer = _text(reviewer, "the reviewer")
    comment = (comment or "").strip() or None
    with write_transaction(engine) as conn:
        row, qid, pid = _locked_item(conn, project, name, item_id)
        now = now_us()
        _check_open(row, item_id, reviewer, now)
        fields = answers_feedback(_configs(conn, qid), answers)
        if comment:
            fields.append({"name": "comment", "kind": "comment", "value": None, "label": None})
        base = {"project_id": pid, "trace_id": row.trace_id, "span_id": row.span_id, "source": "human",
                "author": reviewer, "created_us": now, "details": {"annotation_queue": name, "item": item_id}}
        conn.execute(Feedback.__table__.insert(), [{"comment": comment if f["kind"] == "comment" else None, **base, **f}
                                                   for f in fields])
        _finish(conn, row, "done", reviewer, now)
    return {**get_item(engine, project, name, item_id), "feedback": len(fields)}


def skip_item(engine: Engine, project: str, name: str, item_id: int, reviewer: str) -> dict[str, Any]:
    """Mark the item skipped (no answers stored): it leaves the pending items."""
    reviewer = _text(reviewer, "the reviewer")
    with write_transaction(engine) as conn:
        row, _, _ = _locked_item(conn, project, name, item_id)
        now = now_us()
        _check_open(row, item_id, reviewer, now)
        _finish(conn, row, "skipped", reviewer, now)
    return get_item(engine, project, name, item_id)
