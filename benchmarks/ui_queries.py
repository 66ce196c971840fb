"""UI query speed at a million spans: the traces list and the overview, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/ui_queries.py                 # 1M spans, both databases, 30 runs
    .venv/bin/python benchmarks/ui_queries.py --spans 100000 --only sqlite --explain

Seeds (once, cached under benchmarks/.work/ui-queries/, see `_ui_db.py`) 250k four-span traces,
then serves each database with the real app (`create_app(engine=...)` under uvicorn on loopback)
and times real HTTP GETs of the pages: warm-up requests first, then `--runs` timed ones each,
reported as p50/p95 against the targets (list p95 < 200 ms, overview p95 < 500 ms). The HTML
pages are timed when the app serves them; their REST equivalents are timed always. `--explain`
prints the query plan of every SQL statement slower than 20 ms seen while serving a page.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from sqlalchemy import Engine, event  # noqa: E402

from _ui_db import postgres_engine, postgres_server, sqlite_engine  # noqa: E402
from _ui_seed import PROJECT, SeedParams  # noqa: E402
from tenbin.loopback import LoopbackServer  # noqa: E402
from tenbin.server.app import create_app  # noqa: E402

FILTERS = {
    "no filter": "",
    "slow LLM": 'kind == "LLM" and latency_ms > 2000',
    "task billing": 'metadata["task"] == "billing"',
    "errors": 'status == "ERROR"',
}
TARGETS_MS = {"list": 200.0, "overview": 500.0}
SLOW_MS = 20.0


def pages(html: bool) -> list[tuple[str, str, list[str]]]:
    """(page kind, label, the GETs one view of it makes)."""
    p = quote(PROJECT)
    out: list[tuple[str, str, list[str]]] = []
    for label, expr in FILTERS.items():
        query = f"?filter={quote(expr)}" if expr else ""
        if html:
            out.append(("list", f"HTML traces, {label}", [f"/projects/{p}/traces{query}"]))
        query = f"&filter={quote(expr)}" if expr else ""
        out.append(("list", f"REST traces, {label}", [f"/api/v1/projects/{p}/traces?limit=50{query}"]))
    if html:
        out.append(("overview", "HTML overview", [f"/projects/{p}"]))
    out.append(("overview", "REST overview (metrics by day + 10 slowest)", [
        f"/api/v1/projects/{p}/metrics?bucket_seconds=86400",
        f"/api/v1/projects/{p}/traces?sort=latency_ms&limit=10",
    ]))
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the value a q-fraction of runs did not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@contextmanager
def statement_log(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """Every SQL statement the app runs while the block is open, with its duration in ms."""
    seen: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info["tb_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seen.append(((time.perf_counter() - conn.info.pop("tb_t0")) * 1000, statement, params))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(engine: Engine, statements: list[tuple[float, str, Any]]) -> None:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    for ms, sql, params in sorted(statements, key=lambda s: -s[0]):
        if ms < SLOW_MS or sql.lstrip().upper().startswith(("EXPLAIN", "INSERT")):
            continue
        print(f"    --- {ms:.0f} ms: {' '.join(sql.split())[:400]}")
        with engine.connect() as conn:
            for row in conn.exec_driver_sql(prefix + sql, params):
                print("      ", " | ".join(str(c) for c in row))


def time_view(client: httpx.Client, urls: list[str], runs: int, warmup: int) -> list[float]:
    times = []
    for i in range(warmup + runs):
        began = time.perf_counter()
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        if i >= warmup:
            times.append((time.perf_counter() - began) * 1000)
    return times


def html_pages_exist(client: httpx.Client) -> bool:
    p = quote(PROJECT)
    return all(client.get(u).status_code == 200 for u in (f"/projects/{p}", f"/projects/{p}/traces"))


def measure(engine: Engine, args: argparse.Namespace) -> list[tuple[str, str, list[float]]]:
    results = []
    with LoopbackServer(create_app(engine=engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        html = html_pages_exist(client)
        if not html:
            print("  (HTML pages /projects/{p} and /projects/{p}/traces not served yet: REST only)")
        for kind, label, urls in pages(html):
            with statement_log(engine) as statements:
                times = time_view(client, urls, args.runs, args.warmup)
                per_view = len(statements) // (args.runs + args.warmup)
            print(f"  {label:48} p50 {percentile(times, 0.5):7.1f} ms  p95 {percentile(times, 0.95):7.1f} ms"
                  f"  ({per_view} SQL statements per view)", flush=True)
            if args.explain:
                explain(engine, statements[: len(statements) // (args.runs + args.warmup)])
            results.append((kind, label, times))
    return results


def report(all_results: dict[str, list[tuple[str, str, list[float]]]], params: SeedParams) -> None:
    print(f"\n{params.spans:,} spans ({params.traces:,} traces over {params.days} days)")
    print(f"{'page':50} {'database':10} {'p50 ms':>8} {'p95 ms':>8}  target")
    for dialect, results in all_results.items():
        for kind, label, times in results:
            p95 = percentile(times, 0.95)
            target = TARGETS_MS[kind]
            verdict = "ok" if p95 < target else "OVER"
            print(f"{label:50} {dialect:10} {percentile(times, 0.5):8.1f} {p95:8.1f}  p95 < {target:.0f} {verdict}")


def databases(args: argparse.Namespace, params: SeedParams) -> Iterator[tuple[str, Callable[[], Engine]]]:
    if "sqlite" in args.only:
        yield "sqlite", lambda: sqlite_engine(params)
    if "postgresql" in args.only:
        with postgres_server() as url:
            yield "postgresql", lambda: postgres_engine(url, params)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    ap.add_argument("--explain", action="store_true", help="print plans of statements slower than 20 ms")
    args = ap.parse_args(argv)
    args.only = set(args.only.split(","))
    params = SeedParams(spans=args.spans)
    results: dict[str, list[tuple[str, str, list[float]]]] = {}
    for dialect, open_engine in databases(args, params):
        engine = open_engine()
        print(f"== {dialect}", flush=True)
        try:
            results[dialect] = measure(engine, args)
        finally:
            engine.dispose()
    report(results, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
