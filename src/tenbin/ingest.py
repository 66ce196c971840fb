"""Bounded queue → one writer thread → a transaction per batch; callers learn the outcome after commit.

HTTP handlers call `Ingestor.submit(rows)`, which returns only once those rows are committed (so
OTLP's 200 means "stored"). The writer merges whatever requests are waiting into one transaction.
If that transaction fails on a data error, it retries span by span inside SAVEPOINTs so that one bad
span is rejected alone (Phoenix's bulk inserter does the same). A full queue raises `Overloaded`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from tenbin import config
from tenbin.errors import Overloaded, TenbinError
from tenbin.store.writes import encode_json, ensure_projects, insert_spans

log = logging.getLogger(__name__)


class StoreUnavailable(TenbinError):
    status_code = 503


@dataclass
class WriteResult:
    accepted: int = 0
    rejected: list[str] = field(default_factory=list)


@dataclass
class _Item:
    rows: list[dict[str, Any]]
    future: Future[WriteResult]


class Ingestor:
    def __init__(self, engine: Engine, max_queued: int | None = None, batch_max: int | None = None):
        self.engine = engine
        self.max_queued = config.QUEUE_MAX_SPANS.get_int(max_queued)
        self.batch_max = config.BATCH_MAX_SPANS.get_int(batch_max)
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()
        self._projects: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tenbin-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._thread:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    @property
    def queued_spans(self) -> int:
        return self._queued

    def submit_nowait(self, rows: list[dict[str, Any]]) -> Future[WriteResult]:
        """Queue rows for the writer (their JSON columns encoded here, in the caller's thread);
        raise Overloaded if the queue would exceed its bound."""
        with self._lock:
            if self._queued and self._queued + len(rows) > self.max_queued:
                raise Overloaded(f"ingest queue is full ({self._queued} spans waiting); retry later")
            self._queued += len(rows)
        encode_json(rows)
        item = _Item(rows, Future())
        self._queue.put(item)
        return item.future

    async def submit(self, rows: list[dict[str, Any]]) -> WriteResult:
        if not rows:
            return WriteResult()
        return await asyncio.wrap_future(self.submit_nowait(rows))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, total, stop = [first], len(first.rows), False
            while total < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                total += len(nxt.rows)
            self._write(batch)
            with self._lock:
                self._queued -= total
            if stop:
                return

    def _write(self, batch: list[_Item]) -> None:
        try:
            self._write_all(batch)
        except (OperationalError, InterfaceError) as exc:
            self._projects.clear()  # ids made in the rolled-back transaction are gone
            log.exception("store unavailable")
            for item in batch:
                item.future.set_exception(StoreUnavailable(f"store unavailable, retry later: {exc.orig}"))
        except DBAPIError:
            self._projects.clear()
            self._write_one_by_one(batch)
        except Exception as exc:  # never let the writer thread die with callers waiting
            self._projects.clear()
            log.exception("ingest write failed")
            for item in batch:
                item.future.set_exception(exc)

    def _with_project_ids(self, conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Set each row's `project_id` (in place: the writer owns queued rows; `project` stays, and
        is ignored by the insert), creating projects not seen before."""
        names = {r["project"] for r in rows} - self._projects.keys()
        if names:
            self._projects.update(ensure_projects(conn, names))
        ids = self._projects
        for r in rows:
            r["project_id"] = ids[r["project"]]
        return rows

    def _write_all(self, batch: list[_Item]) -> None:
        rows = [r for item in batch for r in item.rows]
        with self.engine.begin() as conn:
            insert_spans(conn, sorted(self._with_project_ids(conn, rows), key=lambda r: r["span_id"]))
        for item in batch:
            item.future.set_result(WriteResult(accepted=len(item.rows)))

    def _write_one_by_one(self, batch: list[_Item]) -> None:
        results = [WriteResult() for _ in batch]
        with self.engine.begin() as conn:
            for item, result in zip(batch, results):
                for row in self._with_project_ids(conn, item.rows):
                    try:
                        with conn.begin_nested():
                            insert_spans(conn, [row])
                        result.accepted += 1
                    except DBAPIError as exc:
                        result.rejected.append(f"span {row['span_id']}: {str(exc.orig).strip()[:200]}")
        for item, result in zip(batch, results):
            item.future.set_result(result)
