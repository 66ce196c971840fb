"""A small periodic task runner for the server's background work (online evals, monitors).

    scheduler = Scheduler()
    scheduler.register("online-evals", 30, lambda: run_pass(engine, stop=scheduler.stopping))
    scheduler.start()      # the server does this in its lifespan, and `stop()` on shutdown

Each task gets its own daemon thread, so a slow task (an LLM judge pass) never delays another.
A task runs `interval_s` after start, then `interval_s` after each run ends (runs never overlap).
An exception is logged and kept in `tasks()`; the task runs again at its next interval. `stop()`
wakes every thread and waits for the running calls to return: long tasks should check
`scheduler.stopping` between units of work (the online eval job checks it between batches).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenbin.errors import InvalidInput

log = logging.getLogger("tenbin.scheduler")


@dataclass
class Task:
    name: str
    interval_s: float
    fn: Callable[[], Any]
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    last_started: float | None = None
    last_duration_s: float | None = None
    running: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)


class Scheduler:
    """Runs registered functions every `interval_s` seconds until `stop()`."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._started = False

    def register(self, name: str, interval_s: float, fn: Callable[[], Any]) -> None:
        """Run `fn()` every `interval_s` seconds (after start; at once if already started)."""
        if interval_s <= 0:
            raise InvalidInput(f"task {name!r}: interval must be more than 0 seconds (to disable, do not register)")
        with self._lock:
            if name in self._tasks:
                raise InvalidInput(f"a task named {name!r} is already registered; pick another name")
            task = self._tasks[name] = Task(name, float(interval_s), fn)
            if self._started:
                self._launch(task)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            for task in self._tasks.values():
                self._launch(task)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop every task; waits up to `timeout_s` in all for running calls to return."""
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        for task in list(self._tasks.values()):
            if task.thread is not None:
                task.thread.join(max(deadline - time.monotonic(), 0))
                if task.thread.is_alive():
                    log.warning("tenbin: task %r still running at shutdown; abandoning it", task.name)

    def tasks(self) -> list[dict[str, Any]]:
        """Each task's name, interval, run and failure counts, last error and whether it runs now."""
        return [{k: v for k, v in vars(t).items() if k not in ("fn", "thread")} for t in self._tasks.values()]

    def _launch(self, task: Task) -> None:
        task.thread = threading.Thread(target=self._loop, args=(task,), name=f"tenbin-task-{task.name}", daemon=True)
        task.thread.start()

    def _loop(self, task: Task) -> None:
        while not self.stopping.wait(task.interval_s):
            self._run(task)

    def _run(self, task: Task) -> None:
        task.running, task.last_started = True, time.time()
        started = time.monotonic()
        try:
            task.fn()
            task.last_error = None
        except Exception as exc:
            task.failures += 1
            task.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("tenbin: scheduled task %r failed", task.name)
        finally:
            task.runs += 1
            task.running = False
            task.last_duration_s = time.monotonic() - started
