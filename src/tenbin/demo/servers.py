"""The demo's processes: `tenbin serve` on a fresh SQLite file and the local model servers, both
left running after the demo (their process groups are kept in pid files for `make demo-stop`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tenbin.llm.local import MODEL_ALIAS, LocalModelServer


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


def start_tenbin(workdir: Path, port: int, llm_base_url: str) -> str:
    """`tenbin serve` as a detached process on a fresh demo database; returns its URL once healthy.

    Its own LLM calls (online eval judges, cluster reports) go to `llm_base_url`: a local model
    server started next, so the URL is known before the model answers."""
    for old in workdir.glob("tenbin.db*"):
        old.unlink()
    env = {**os.environ, "TENBIN_DATABASE_URL": f"sqlite:///{workdir / 'tenbin.db'}", "TENBIN_AUTH": "0",
           "TENBIN_LLM_BASE_URL": llm_base_url, "TENBIN_LLM_MODEL": MODEL_ALIAS}
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
