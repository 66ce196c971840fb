"""Background work as plain functions over batches, with progress and resumability.

A job says how to fetch the batch after a cursor, how to compute it (no database writes: this is
the slow part, e.g. a model), and how to write the result in a transaction. `run_job` drives it and
advances the checkpoint in the batch's own transaction, so a crash or an interruption resumes exactly
at the last committed batch and never writes a batch twice. It runs in-process by default; the same
three functions can be mapped over partitions by a distributed engine (Ray, Dask) later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine

from tenbin.errors import InvalidInput
from tenbin.store import jobs as store
from tenbin.store.engine import write_transaction

B = TypeVar("B")
R = TypeVar("R")


@dataclass(frozen=True)
class Batch(Generic[B]):
    items: B
    size: int
    """Units of work in the batch (what `processed` counts)."""
    next_cursor: Any


@dataclass(frozen=True)
class Progress:
    processed: int
    backlog: int | None
    """Units left after the cursor when the run started, minus those done since (an estimate)."""
    total: int | None


class BatchJob(Protocol[B, R]):
    name: str
    project_id: int

    def start_cursor(self, last: dict[str, Any] | None) -> Any:
        """Where a fresh run starts, given the previous run's checkpoint (None: never ran)."""

    def backlog(self, cursor: Any) -> int | None: ...

    def next_batch(self, cursor: Any) -> Batch[B] | None: ...

    def compute(self, batch: Batch[B]) -> R: ...

    def write(self, conn: Connection, batch: Batch[B], result: R) -> None: ...


ProgressFn = Callable[[Progress], None]
_running: set[tuple[int, str]] = set()
_lock = threading.Lock()


def _claim(job: BatchJob[Any, Any]) -> None:
    with _lock:
        if (job.project_id, job.name) in _running:
            raise InvalidInput(f"job {job.name!r} is already running in this process; wait for it to finish")
        _running.add((job.project_id, job.name))


def _release(job: BatchJob[Any, Any]) -> None:
    with _lock:
        _running.discard((job.project_id, job.name))


def is_running(project_id: int, name: str) -> bool:
    with _lock:
        return (project_id, name) in _running


def run_job(engine: Engine, job: BatchJob[Any, Any], progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run `job` to the end; resume an interrupted run from its checkpoint. Returns the final checkpoint."""
    _claim(job)
    try:
        return _run(engine, job, progress)
    finally:
        _release(job)


def _run(engine: Engine, job: BatchJob[Any, Any], progress: ProgressFn | None) -> dict[str, Any]:
    last = store.get_checkpoint(engine, job.project_id, job.name)
    resuming = last is not None and last["status"] in ("running", "failed")
    cursor = last["cursor"] if resuming and last else job.start_cursor(last)
    processed = last["processed"] if resuming and last else 0
    remaining = job.backlog(cursor)
    total = None if remaining is None else processed + remaining
    store.begin_run(engine, job.project_id, job.name, cursor, processed, remaining)
    try:
        while (batch := job.next_batch(cursor)) is not None:
            result = job.compute(batch)
            processed += batch.size
            remaining = None if total is None else max(total - processed, 0)
            with write_transaction(engine) as conn:
                job.write(conn, batch, result)
                store.advance(conn, job.project_id, job.name, batch.next_cursor, processed, remaining)
            cursor = batch.next_cursor
            if progress:
                progress(Progress(processed, remaining, total))
    except BaseException as exc:
        store.finish(engine, job.project_id, job.name, "failed", f"{type(exc).__name__}: {exc}")
        raise
    store.finish(engine, job.project_id, job.name, "done")
    return store.get_checkpoint(engine, job.project_id, job.name) or {}


def start_in_background(engine: Engine, job: BatchJob[Any, Any]) -> threading.Thread:
    """Run `job` on a daemon thread (the server's default); failures land in the checkpoint row."""
    _claim(job)

    def target() -> None:
        try:
            _run(engine, job, None)
        except Exception:  # noqa: BLE001 - recorded in the job's row by _run
            pass
        finally:
            _release(job)

    thread = threading.Thread(target=target, name=f"tenbin-job-{job.name}", daemon=True)
    thread.start()
    return thread
