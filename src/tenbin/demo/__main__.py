"""`make demo`: tenbin on SQLite plus the local model (SmolLM2 via llama.cpp), then the Kumo Notes docs
chatbot answers a few hundred questions in several categories, many as multi-turn sessions, traced
through the real OTLP path. Feedback follows a checkable rule (thumbs-down when the answer cites no
retrieved passage or the question is out of scope). Both servers keep running afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import tenbin
from tenbin import config
from tenbin.client import Client
from tenbin.examples.docs_bot import Conversation, DocsBot, conversations, thumbs_up
from tenbin.llm import LLM
from tenbin.llm.local import LocalModelServer

console = Console()
PROJECT = "kumo-docs-bot"


def stop_previous(workdir: Path) -> None:
    """Stop the servers an earlier demo left running (their process groups are in pid files)."""
    for pidfile in (workdir / "server.pid", workdir / "llm.pid"):
        if pidfile.exists():
            for pid in pidfile.read_text().split():
                try:
                    os.killpg(int(pid), signal.SIGTERM)
                except (ProcessLookupError, ValueError, PermissionError):
                    pass
            time.sleep(0.5)
            pidfile.unlink()


def start_tenbin(workdir: Path, port: int) -> str:
    """`tenbin serve` as a detached process on a fresh demo database; returns its URL once healthy."""
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


def start_models(workdir: Path, first_port: int, count: int) -> list[LocalModelServer]:
    """`count` single-threaded model servers, left running after the demo (pids kept to stop them).

    llama.cpp's server answers one request at a time; on 2 cores two 1-thread servers fed by two
    workers answer more questions per minute than one 2-thread server."""
    models = []
    for i in range(count):
        model = LocalModelServer(first_port + i, log_path=workdir / f"llm-{i}.log",
                                 n_threads=max(1, (os.cpu_count() or 2) // count))
        model.start()
        models.append(model)
    (workdir / "llm.pid").write_text("\n".join(str(m.proc.pid) for m in models))
    return models


def ask_all(bot: DocsBot, convs: list[Conversation], progress: Callable[[], None]) -> tuple[int, int]:
    """One worker: every turn of its conversations, with rule-based feedback; (answers, thumbs-down)."""
    answers = downs = 0
    for conv in convs:
        with tenbin.session(conv.session_id, user_id=conv.user_id), tenbin.metadata(task=conv.category):
            for question in conv.turns:
                answer = bot.ask(question, session_id=conv.session_id)
                good = thumbs_up(conv.category, answer)
                tenbin.feedback(span_id=answer.span_id, thumbs=good, author=conv.user_id,
                                comment=None if good else "no cited passage or out of scope")
                answers, downs = answers + 1, downs + (not good)
        progress()
    return answers, downs


def run(url: str, models: list[LocalModelServer], sessions: int) -> tuple[int, int]:
    """Spread the conversations over one worker per model server; return (answers, thumbs-down)."""
    convs = conversations(sessions)
    tenbin.init(url, project=PROJECT)
    bots = [DocsBot(LLM(m.base_url, m.model), json_mode=True, max_steps=2) for m in models]
    try:
        with Progress(console=console) as bar, ThreadPoolExecutor(len(bots)) as pool:
            task = bar.add_task("conversations", total=len(convs))
            advance = lambda: bar.advance(task)  # noqa: E731
            shares = [pool.submit(ask_all, bot, convs[i :: len(bots)], advance) for i, bot in enumerate(bots)]
            totals = [share.result() for share in shares]
    finally:
        for bot in bots:
            bot.close()
        tenbin.shutdown()
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def summary(url: str) -> None:
    with Client(url) as client:
        spans = client.metrics(PROJECT)[0]
        by_task = client.metrics(PROJECT, filter='kind == "AGENT"', group_by="metadata.task")
    table = Table("task", "answers", "latency p50", "thumbs-up rate")
    for row in by_task:
        rate = row["thumbs_up_rate"]
        table.add_row(str(row["group"]), str(row["count"]), f"{row['latency_p50_ms'] / 1000:.1f} s",
                      "-" if rate is None else f"{rate:.0%}")
    console.print(table)
    console.print(f"{spans['count']} spans stored, {spans['total_tokens']} tokens, error rate {spans['error_rate']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=config.DEMO_SESSIONS.get_int())
    parser.add_argument("--port", type=int, default=config.PORT.get_int())
    parser.add_argument("--llm-port", type=int, default=6207)
    parser.add_argument("--workers", type=int, default=2, help="model servers, each with its own worker")
    parser.add_argument("--workdir", type=Path, default=Path(".tenbin-demo"))
    parser.add_argument("--stop", action="store_true", help="only stop the servers a demo left running")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stop_previous(workdir)
    if args.stop:
        return
    url = start_tenbin(workdir, args.port)
    console.print(f"tenbin is running at {url} (database {workdir / 'tenbin.db'})")
    with console.status("starting the local model (SmolLM2-135M-Instruct on llama.cpp)"):
        models = start_models(workdir, args.llm_port, args.workers)
    console.print(f"local model at {', '.join(m.base_url for m in models)}")
    started = time.monotonic()
    answers, downs = run(url, models, args.sessions)
    elapsed = time.monotonic() - started
    console.print(f"answered {answers} questions in {elapsed:.0f} s; {downs} got a thumbs-down by the feedback rule")
    summary(url)
    console.print(f"\nOpen [bold]{url}/projects/{PROJECT}[/bold] in a browser (API docs at {url}/docs).")
    console.print(f"Stop the servers with: make demo-stop")


if __name__ == "__main__":
    main()
