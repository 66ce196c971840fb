"""Ingest throughput: tenbin vs Arize Phoenix vs a bare decode+sqlite3 ceiling, on identical OTLP bodies.

    .venv/bin/python benchmarks/bench_ingest.py [--spans 50000] [--senders 4] [--batch 512]

Both servers run as separate processes on loopback and get the same protobuf bodies from the same
senders (httpx, keep-alive, retry on 429/503 after Retry-After). Phoenix acknowledges before it
stores, so for both the clock runs from the first send until the server's SQLite file holds every
sent span ("stored throughput"). Phoenix is installed on first run into benchmarks/.work/.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import RssSampler, Server, free_port, raise_on_sigterm  # noqa: E402
from _spans import count_spans, make_bodies  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
PHOENIX_VENV = WORK / "phoenix-venv"
PB = {"content-type": "application/x-protobuf"}


@dataclass
class Result:
    name: str
    sent: int
    stored: int
    seconds: float
    rss_mb: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def send_all(url: str, bodies: list[bytes], senders: int, deadline: float) -> tuple[int, list[str]]:
    """POST every body once from `senders` threads; return (spans acknowledged, errors)."""
    counts = [count_spans([b]) for b in bodies]
    todo = list(range(len(bodies)))
    lock = threading.Lock()
    acked, errors = [0], []

    def worker() -> None:
        with httpx.Client(timeout=120, headers=PB) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop(0)
                problem = _post(client, url, bodies[i], deadline)
                with lock:
                    if problem:
                        errors.append(problem)
                    else:
                        acked[0] += counts[i]

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked[0], errors


def _post(client: httpx.Client, url: str, body: bytes, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        try:
            r = client.post(url, content=body)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if r.status_code in (429, 503):
            time.sleep(float(r.headers.get("retry-after", "1")))
            continue
        return None if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:200]}"
    return "deadline passed while retrying"


def sqlite_count(path: Path, table: str) -> Callable[[], int]:
    """A read-only `count(*)` of `table` in the SQLite file at `path` (0 while it does not exist)."""

    def count() -> int:
        if not path.exists():
            return 0
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                return conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
        except sqlite3.OperationalError:
            return 0

    return count


def measure(server: Server, path: str, bodies: list[bytes], total: int, count: Callable[[], int],
            args: argparse.Namespace) -> Result:
    """Send everything, then poll the store until it holds every sent span or the timeout hits."""
    assert server.proc is not None
    with RssSampler(server.proc.pid) as rss:
        t0 = time.monotonic()
        deadline = t0 + args.timeout
        acked, errors = send_all(server.url + path, bodies, args.senders, deadline)
        stored = count()
        while stored < total and time.monotonic() < deadline:
            time.sleep(0.1)
            stored = count()
        seconds = time.monotonic() - t0
    note = "" if stored >= total else f"not all stored after {args.timeout:.0f}s"
    if errors:
        note += f" {len(errors)} failed requests, first: {errors[0]}"
    return Result(server.name, total, stored, seconds, rss.peak / 2**20, note.strip())


def run_tenbin(bodies: list[bytes], total: int, tmp: Path, args: argparse.Namespace) -> Result:
    db = tmp / "tenbin.db"
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tenbin.server.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {"TENBIN_DATABASE_URL": f"sqlite:///{db}"}
    with Server("tenbin", argv, env, port, tmp / "tenbin.log") as srv:
        srv.wait_ready("/healthz", 60)
        return measure(srv, "/v1/traces", bodies, total, sqlite_count(db, "spans"), args)


def ensure_phoenix() -> Path:
    """Phoenix's own venv under benchmarks/.work (created on first run, from PyPI only)."""
    exe = PHOENIX_VENV / "bin" / "phoenix"
    if not exe.exists():
        print(f"installing arize-phoenix into {PHOENIX_VENV} (first run only, takes a few minutes)…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PHOENIX_VENV)], check=True, timeout=300)
        subprocess.run([str(PHOENIX_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        "arize-phoenix"], check=True, timeout=1800)
    return exe


def phoenix_version() -> str:
    out = subprocess.run([str(PHOENIX_VENV / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('arize-phoenix'))"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or "unknown"


def run_phoenix(bodies: list[bytes], total: int, tmp: Path, args: argparse.Namespace) -> Result:
    exe = ensure_phoenix()
    workdir = tmp / "phoenix"
    workdir.mkdir()
    port = free_port()
    env = {"PHOENIX_WORKING_DIR": str(workdir), "PHOENIX_PORT": str(port), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_GRPC_PORT": str(free_port()), "PHOENIX_TELEMETRY_ENABLED": "false",
           "PHOENIX_ENABLE_AUTH": "false", "PHOENIX_SQL_DATABASE_URL": f"sqlite:///{workdir / 'phoenix.db'}"}
    with Server(f"phoenix {phoenix_version()}", [str(exe), "serve"], env, port, tmp / "phoenix.log") as srv:
        srv.wait_ready("/healthz", 180)
        return measure(srv, "/v1/traces", bodies, total, sqlite_count(workdir / "phoenix.db", "spans"), args)


def run_bare(bodies: list[bytes], total: int, tmp: Path) -> Result:
    """The ceiling: protobuf decode + one executemany per body into a span-shaped table, same durability."""
    conn = sqlite3.connect(tmp / "bare.db", isolation_level=None)
    conn.executescript("""
        PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
        CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT, parent_id TEXT, name TEXT, kind TEXT,
            start_us INTEGER, end_us INTEGER, model TEXT, prompt_tokens INTEGER, session_id TEXT,
            user_id TEXT, attributes JSON);
        CREATE INDEX ix_trace ON spans (trace_id); CREATE INDEX ix_start ON spans (start_us);
    """)
    t0 = time.monotonic()
    for body in bodies:
        rows = []
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans:
            for ss in rs.scope_spans:
                for s in ss.spans:
                    a = {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in s.attributes}
                    rows.append((s.span_id.hex(), s.trace_id.hex(), s.parent_span_id.hex() or None, s.name,
                                 a.get("openinference.span.kind"), s.start_time_unix_nano // 1000,
                                 s.end_time_unix_nano // 1000, a.get("llm.model_name"),
                                 a.get("llm.token_count.prompt"), a.get("session.id"), a.get("user.id"),
                                 json.dumps(a)))
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
    seconds = time.monotonic() - t0
    stored = conn.execute("select count(*) from spans").fetchone()[0]
    conn.close()
    return Result("bare decode+sqlite3", total, stored, seconds)


def report(results: list[Result]) -> None:
    print(f"\n{'target':<24} {'sent':>7} {'stored':>7} {'seconds':>8} {'stored/s':>9} {'peak RSS MB':>12}")
    for r in results:
        rss = f"{r.rss_mb:.0f}" if r.rss_mb is not None else "-"
        print(f"{r.name:<24} {r.sent:>7} {r.stored:>7} {r.seconds:>8.2f} {r.rate:>9.0f} {rss:>12}  {r.note}")
    by = {r.name.split()[0]: r for r in results}
    tenbin, phoenix, bare = by.get("tenbin"), by.get("phoenix"), by.get("bare")
    if tenbin is None:
        return
    print("\ntargets:")
    if phoenix and phoenix.rate:
        ratio = tenbin.rate / phoenix.rate
        print(f"  tenbin/Phoenix stored rate  {ratio:6.2f}x   (target >= 5x)   {'OK' if ratio >= 5 else 'MISSED'}")
    if bare and bare.rate:
        ratio = tenbin.rate / bare.rate
        print(f"  tenbin/bare stored rate     {ratio:6.2f}x   (aim >= 0.5x)   {'OK' if ratio >= 0.5 else 'MISSED'}")
    lost = tenbin.sent - tenbin.stored
    print(f"  tenbin spans lost           {lost:6d}    (target 0)       {'OK' if lost == 0 else 'MISSED'}")
    rss_ok = tenbin.rss_mb is not None and tenbin.rss_mb < 300
    print(f"  tenbin peak RSS             {tenbin.rss_mb or 0:6.0f} MB (target < 300 MB) {'OK' if rss_ok else 'MISSED'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=50_000, help="spans to send (whole traces of 5)")
    p.add_argument("--senders", type=int, default=4, help="concurrent HTTP senders")
    p.add_argument("--batch", type=int, default=512, help="spans per OTLP request")
    p.add_argument("--timeout", type=float, default=600, help="seconds each server gets to store everything")
    p.add_argument("--only", default="bare,tenbin,phoenix", help="comma-separated subset of bare,tenbin,phoenix")
    args = p.parse_args()
    raise_on_sigterm()
    only = set(args.only.split(","))
    t = time.monotonic()
    bodies = make_bodies(args.spans, args.batch)
    total = count_spans(bodies)
    size = sum(map(len, bodies)) / 2**20
    print(f"{total} spans in {len(bodies)} bodies ({size:.0f} MB protobuf), made in {time.monotonic() - t:.1f}s; "
          f"{args.senders} senders; {os.cpu_count()} CPUs", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="tenbin-bench-") as tmpdir:
        tmp = Path(tmpdir)
        runs: list[tuple[str, Callable[[], Result]]] = [
            ("bare", lambda: run_bare(bodies, total, tmp)),
            ("tenbin", lambda: run_tenbin(bodies, total, tmp, args)),
            ("phoenix", lambda: run_phoenix(bodies, total, tmp, args)),
        ]
        for name, run in runs:
            if name in only:
                print(f"running {name}…", flush=True)
                try:
                    results.append(run())
                except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                    print(f"{name} could not run: {exc}", flush=True)
                    results.append(Result(name, total, 0, 0.0, None, f"could not run: {str(exc)[:200]}"))
    report(results)


if __name__ == "__main__":
    main()
