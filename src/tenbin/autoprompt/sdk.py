"""The SDK side of prompt generation, over REST, so it works against a remote server.

    import tenbin.autoprompt as ap

    run = ap.generate("faq", "Answer the customer's question in one sentence", n=4, evaluator="contains",
                      project="shop")                      # waits; progress(done, total) if given
    best = run["candidates"][0]                            # ranked: best first
    ap.save_candidate(run["id"], best["position"], "support", label="staging", project="shop")
    again = ap.rerun_generation(run["id"])                # a new run with the same resolved request

The run happens in the server, on the server's model (TENBIN_LLM_* where the server runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tenbin.client import Client
from tenbin.errors import TenbinError

FINISHED = ("done", "failed", "interrupted")


def _call(method: str, path: str, endpoint: str | None, api_key: str | None, **kwargs: Any) -> Any:
    with Client(endpoint, api_key) as client:
        return client._request(method, path, **kwargs)  # the client's one HTTP path


def start_generation(dataset: str, task: str, *, project: str = "default", endpoint: str | None = None,
                     api_key: str | None = None, **options: Any) -> dict[str, Any]:
    """Start a run (options: n, evaluator, base_prompt, input_var, dataset_version, shots, limit, seed,
    max_tokens); returns at once with its id and status."""
    body = {"dataset": dataset, "task": task, **{k: v for k, v in options.items() if v is not None}}
    return _call("POST", f"/projects/{project}/prompt-generations", endpoint, api_key, json=body)


def get_generation(run_id: int, *, endpoint: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """A run with its candidates, best first, each with its per-example results."""
    return _call("GET", f"/prompt-generations/{run_id}", endpoint, api_key)


def wait(run_id: int, *, endpoint: str | None = None, api_key: str | None = None, poll_s: float = 0.5,
         progress: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Poll until the run finishes; `progress` sees each poll's run (status, done, total)."""
    while True:
        found = _call("GET", f"/prompt-generations/{run_id}", endpoint, api_key, params={"results": "false"})
        if progress:
            progress(found)
        if found["status"] in FINISHED:
            return get_generation(run_id, endpoint=endpoint, api_key=api_key)
        time.sleep(poll_s)


def generate(dataset: str, task: str, *, project: str = "default", endpoint: str | None = None,
             api_key: str | None = None, progress: Callable[[dict[str, Any]], Any] | None = None,
             **options: Any) -> dict[str, Any]:
    """Start a run and wait for it; a failed run raises TenbinError with the run's error."""
    started = start_generation(dataset, task, project=project, endpoint=endpoint, api_key=api_key, **options)
    return _finished(wait(started["id"], endpoint=endpoint, api_key=api_key, progress=progress))


def _finished(found: dict[str, Any]) -> dict[str, Any]:
    if found["status"] != "done":
        raise TenbinError(f"prompt generation run {found['id']} {found['status']}: {found['error']}")
    return found


def rerun_generation(run_id: int, *, endpoint: str | None = None, api_key: str | None = None,
                     background: bool = False, progress: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Run `run_id` again as a new run with its stored request (same dataset version, base prompt
    version and evaluator); waits for it (raising TenbinError if it fails) unless `background`."""
    started = _call("POST", f"/prompt-generations/{run_id}/rerun", endpoint, api_key)
    if background:
        return started
    return _finished(wait(started["id"], endpoint=endpoint, api_key=api_key, progress=progress))


def save_candidate(run_id: int, position: int, name: str, *, label: str | None = None, author: str | None = None,
                   endpoint: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """Store a candidate as the next version of prompt `name`, optionally labelled; returns the version."""
    body = {"name": name, "label": label, "author": author}
    return _call("POST", f"/prompt-generations/{run_id}/candidates/{position}/save", endpoint, api_key, json=body)
