"""What the spans indexes cost ingest: plain sqlite3 inserts of the same decoded spans into tenbin's
spans table as migrated to a given revision, and into the same table with its primary key only.

    .venv/bin/python benchmarks/bench_span_indexes.py [--spans 50000] [--rounds 3] [--old 0013]

The spans are bench_ingest's OTLP bodies, decoded by tenbin once up front; each batch of 512 is one
`executemany` + COMMIT with tenbin's pragmas (WAL, synchronous=FULL), so what differs between the
rows of the table is index maintenance alone. Rounds alternate between schemas; medians reported.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _spans import make_bodies

from tenbin.decode import to_rows
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.models import Span
from tenbin.store.writes import NOT_INGESTED

COLUMNS = [c.name for c in Span.__table__.columns if c.name not in NOT_INGESTED]
JSON_COLUMNS = {"prompt_variables", "tags", "metadata", "attributes", "events"}
INSERT = (f"INSERT INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
          "ON CONFLICT (span_id) DO NOTHING")


def batches(spans: int) -> list[list[tuple[object, ...]]]:
    """Parameter tuples per OTLP body, sorted by span id as ingest writes them."""
    out = []
    for body in make_bodies(spans, 512):
        rows = sorted(to_rows(ExportTraceServiceRequest.FromString(body)).rows, key=lambda r: r["span_id"])
        out.append([tuple(orjson.dumps(r[c]).decode() if c in JSON_COLUMNS and r[c] is not None
                          else (1 if c == "project_id" else r[c]) for c in COLUMNS) for r in rows])
    return out


def schema(path: Path, revision: str | None) -> list[str]:
    """Migrate a blank file to `revision` (None: head with every secondary spans index dropped)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, revision or "head")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO projects (id, name, created_at) VALUES (1, 'bench', '2026-01-01')")
        names = [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans' AND sql IS NOT NULL")]
        if revision is None:
            for name in names:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
    engine.dispose()
    return [] if revision is None else names


def insert_seconds(path: Path, data: list[list[tuple[object, ...]]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
    began = time.perf_counter()
    for rows in data:
        conn.execute("BEGIN")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--old", default="0013", help="the revision to compare head with")
    args = p.parse_args()
    data = batches(args.spans)
    total = sum(map(len, data))
    targets = {f"revision {args.old}": args.old, "head": "head", "primary key only": None}
    times: dict[str, list[float]] = {name: [] for name in targets}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="tenbin-idx-") as tmp:
        for i in range(args.rounds):
            for name, revision in targets.items():
                path = Path(tmp) / f"{i}-{len(times[name])}-{name.replace(' ', '_')}.db"
                counts[name] = len(schema(path, revision))
                times[name].append(insert_seconds(path, data))
    print(f"{total} spans, batches of 512, median of {args.rounds} rounds (plain sqlite3 {sqlite3.sqlite_version})")
    base = statistics.median(times["primary key only"])
    for name, values in times.items():
        s = statistics.median(values)
        print(f"  {name:20} {counts[name]:2d} secondary indexes  {s:6.2f} s  {total / s:8.0f} spans/s  "
              f"{s / base:5.2f}x primary-key-only time")


if __name__ == "__main__":
    main()
