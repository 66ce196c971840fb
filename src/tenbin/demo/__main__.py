"""`make demo`: start tenbin on SQLite, run the support bot over a few hundred questions through the
real OTLP path, record rule-based feedback, print a summary and the URL. The server keeps running.

Feedback rule (checkable, not random): thumbs-down when the answer cites no retrieved passage or
the question is out of scope; thumbs-up otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from tenbin.client import Client
from tenbin.demo.workload import PROJECT, run_workload

console = Console()


def stop_previous(workdir: Path) -> None:
    pidfile = workdir / "server.pid"
    if pidfile.exists():
        try:
            os.killpg(int(pidfile.read_text()), signal.SIGTERM)
            time.sleep(0.5)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pidfile.unlink()


def start_server(workdir: Path, port: int) -> str:
    """`tenbin serve` as a detached process on a fresh demo database; returns its URL once healthy."""
    stop_previous(workdir)
    for old in workdir.glob("tenbin.db*"):
        old.unlink()
    env = {**os.environ, "TENBIN_DATABASE_URL": f"sqlite:///{workdir / 'tenbin.db'}", "TENBIN_AUTH": "0"}
    log = (workdir / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "tenbin", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (workdir / "server.pid").write_text(str(proc.pid))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"tenbin serve exited; see {workdir / 'server.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"tenbin serve did not become healthy; see {workdir / 'server.log'}")


def summary(url: str) -> None:
    with Client(url) as client:
        spans = client.metrics(PROJECT)[0]
        by_task = client.metrics(PROJECT, filter='kind == "CHAIN" and name == "turn"', group_by="metadata.task")
    table = Table("task", "turns", "latency p50 ms", "thumbs-up rate")
    for row in by_task:
        rate = row["thumbs_up_rate"]
        table.add_row(str(row["group"]), str(row["count"]), f"{row['latency_p50_ms']:.1f}",
                      "-" if rate is None else f"{rate:.0%}")
    console.print(table)
    console.print(f"{spans['count']} spans stored, {spans['total_tokens']} tokens, "
                  f"error rate {spans['error_rate']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=120)
    parser.add_argument("--port", type=int, default=int(os.environ.get("TENBIN_PORT", "6206")))
    parser.add_argument("--workdir", type=Path, default=Path(".tenbin-demo"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = start_server(args.workdir.resolve(), args.port)
    console.print(f"tenbin is running at {url} (database {args.workdir / 'tenbin.db'})")
    answers, downs = run_workload(url, args.conversations, console=console)
    console.print(f"answered {answers} questions; {downs} got a thumbs-down by the feedback rule")
    summary(url)
    console.print(f"\nOpen [bold]{url}/docs[/bold] for the API; e.g. {url}/api/v1/projects/{PROJECT}/traces")
    console.print(f"Stop the server with: kill -- -$(cat {args.workdir / 'server.pid'})")


if __name__ == "__main__":
    main()
