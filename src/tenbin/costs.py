"""Computed cost: tenbin prices a span from its model and token counts when the app sent no cost.

    cost = (prompt_tokens × prompt price + completion_tokens × completion price) / 1,000,000   (USD)

The app's own cost (`llm.cost.total`) always wins: tenbin writes `spans.cost` only where it is NULL
or was computed by tenbin (`cost_computed` true or false), never over an app's value.

Why a background job that stores the cost, and not the ingest path or query time:
- Ingest is the benchmarked hot path (decode → queue → one writer); looking prices up there would
  add work and a price cache to every ingest replica. Ingest does not change at all: the one thing an
  ingested span pays is an entry in the partial index `ix_spans_cost_pending`, and only when it has a
  model and no cost (see benchmarks/RESULTS.md "Cost").
- At query time every surface would need the price rules in SQL: patterns are regular expressions
  and globs with a precedence order (`tenbin.prices`), which are not portable SQL, and every trace
  list, filter (`cost > 0.01`) and sampled summary would carry a per-model CASE. A stored cost is a
  plain indexed column that filters, sums and samples like tokens do.
- A stored cost is stable: a new price applies from its valid-from time, and past spans change only
  through an explicit `recompute` over a time range, so yesterday's bill does not move silently.

`fill_pending` runs on the server's scheduler every TENBIN_COST_INTERVAL seconds: for each project with
pending spans, a `jobs.BatchJob` reads them through `ix_spans_cost_pending` (oldest first), resolves
prices in Python, and writes one UPDATE per price per batch, which takes the spans out of that index.
It yields to ingest: a pass stops between batches while spans wait in the ingest queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from tenbin import jobs
from tenbin.errors import InvalidInput
from tenbin.prices import Price, PriceBook
from tenbin.store import costs as store
from tenbin.store import jobs as checkpoints
from tenbin.store.keys import project_id as lookup_project
from tenbin.store.prices import price_book
from tenbin.store.queries import iso

BATCH = 500
"""Spans per batch and transaction (short, so ingest's writer never waits long for the lock)."""
FILL, RECOMPUTE = "cost-fill", "cost-recompute"
Groups = tuple[dict[Price, list[str]], list[str]]


@dataclass
class CostJob:
    """A `jobs.BatchJob` pricing a project's spans: the pending ones (`window` None) or, to recompute,
    every span in [start, end) whose cost is not the app's; cursor (start_us, span_id) in the window."""

    engine: Engine
    project_id: int
    window: tuple[int | None, int | None] | None = None
    busy: Callable[[], bool] = lambda: False
    batch_size: int = BATCH
    name: str = field(init=False)
    computed: int = field(default=0, init=False)
    unpriced: int = field(default=0, init=False)
    _left: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.name = FILL if self.window is None else RECOMPUTE
        with self.engine.connect() as conn:
            self.book: PriceBook = price_book(conn, self.project_id)

    def start_cursor(self, last: dict[str, Any] | None) -> Any:
        return None

    def backlog(self, cursor: Any) -> int | None:
        if self.window is None:
            self._left = store.count_pending(self.engine, self.project_id)
            return self._left
        return store.count_in_window(self.engine, self.project_id, *self.window)

    def next_batch(self, cursor: Any) -> jobs.Batch[list[Any]] | None:
        if self.window is None:
            return self._next_pending()
        rows = store.spans_in_window(self.engine, self.project_id, *self.window, cursor, self.batch_size)
        return jobs.Batch(rows, len(rows), [rows[-1].start_us, rows[-1].span_id]) if rows else None

    def _next_pending(self) -> jobs.Batch[list[Any]] | None:
        """Pending spans, up to as many as were pending when the pass began (later ones wait for the
        next pass), and none while ingest has spans queued."""
        if self.busy() or not self._left:
            return None
        rows = store.pending_spans(self.engine, self.project_id, min(self.batch_size, self._left))
        self._left -= len(rows)
        return jobs.Batch(rows, len(rows), None) if rows else None

    def compute(self, batch: jobs.Batch[list[Any]]) -> Groups:
        priced: dict[Price, list[str]] = {}
        unpriced: list[str] = []
        for row in batch.items:
            price = self.book.price_for(row.model, row.start_us)
            if price is None or (row.prompt_tokens is None and row.completion_tokens is None):
                unpriced.append(row.span_id)
            else:
                priced.setdefault(price, []).append(row.span_id)
        return priced, unpriced

    def write(self, conn: Connection, batch: jobs.Batch[list[Any]], result: Groups) -> None:
        store.write_costs(conn, *result, pending_only=self.window is None)
        self.computed += sum(map(len, result[0].values()))
        self.unpriced += len(result[1])


def fill_pending(engine: Engine, busy: Callable[[], bool] = lambda: False) -> dict[int, dict[str, int]]:
    """Price every project's pending spans now; per project id: spans computed and unpriced."""
    done: dict[int, dict[str, int]] = {}
    for pid in store.pending_projects(engine):
        if busy() or jobs.is_running(pid, FILL):
            continue
        job = CostJob(engine, pid, busy=busy)
        jobs.run_job(engine, job)
        done[pid] = {"computed": job.computed, "unpriced": job.unpriced}
    return done


def recompute(engine: Engine, project: str, start_us: int | None = None, end_us: int | None = None,
              progress: jobs.ProgressFn | None = None) -> dict[str, Any]:
    """Price again, with today's table, every span in [start_us, end_us) whose cost is not the app's."""
    if start_us is not None and end_us is not None and end_us <= start_us:
        raise InvalidInput(f"the recompute range ends ({iso(end_us)}) before it starts ({iso(start_us)})")
    pid = lookup_project(engine, project)
    if jobs.is_running(pid, RECOMPUTE):
        raise InvalidInput(f"a cost recompute is already running for project {project!r}; wait for it to finish")
    last = checkpoints.get_checkpoint(engine, pid, RECOMPUTE)
    if last and last["status"] in ("running", "failed"):
        checkpoints.finish(engine, pid, RECOMPUTE, "superseded", "a newer recompute started from the beginning")
    job = CostJob(engine, pid, (start_us, end_us))
    final = jobs.run_job(engine, job, progress)
    return {"project": project, "start": iso(start_us), "end": iso(end_us), "spans": final.get("processed", 0),
            "computed": job.computed, "unpriced": job.unpriced}
