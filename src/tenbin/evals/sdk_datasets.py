"""The SDK side of datasets and experiments, over REST so it works against a remote server.

    ev.create_dataset("faq", [{"input": "How do refunds work?", "expected": "Billing → Refunds"}])
    ev.create_dataset("slow", filter='latency_ms > 2000', project="shop")
    ev.create_dataset("golden", filter='kind == "LLM"', expected_from="output")   # the spans' outputs as expected
    exp = ev.run_experiment("faq", task="support@3", evaluators=["qa_correctness"])        # on the server
    exp = ev.run_experiment("faq", task=my_bot, evaluators=["contains"], llm=LLM(...))     # here, then stored
    ev.compare_experiments(exp1["id"], exp2["id"])

A prompt task (`"NAME@VERSION"`) runs in the server, on its model. A Python function runs here: the
dataset is read over REST, the function and the evaluators (judges on `llm`) run in this process,
and the results are stored as an experiment on the server, so the UI shows both kinds alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tenbin.client import Client
from tenbin.errors import TenbinError
from tenbin.evals import experiments, judge_prompts, registry
from tenbin.evals.datasets import check_expected_from, read_file
from tenbin.llm import LLM
from tenbin.sdk.setup import evals_tracer


def _call(method: str, path: str, endpoint: str | None, api_key: str | None, **kwargs: Any) -> Any:
    with Client(endpoint, api_key, timeout=600.0) as client:
        return client._request(method, path, **kwargs)  # noqa: SLF001 - the client's one HTTP path


def _source(examples: Sequence[Any] | None, file: str | Path | None, span_ids: Sequence[str] | None,
            filter: str | None, limit: int, expected_from: str) -> dict[str, Any]:
    """A file is parsed here (every bad line reported before anything is sent), and `expected_from`
    checked, so a typo gets the allowed values rather than the server's validation list."""
    if file is not None:
        examples = read_file(file)
    body: dict[str, Any] = {"limit": limit, "expected_from": check_expected_from(expected_from)}
    if examples is not None:
        body["examples"] = list(examples)
    if span_ids:
        body["span_ids"] = list(span_ids)
    if filter is not None:
        body["filter"] = filter
    return body


def create_dataset(name: str, examples: Sequence[Any] | None = None, *, file: str | Path | None = None,
                   span_ids: Sequence[str] | None = None, filter: str | None = None, limit: int = 100,
                   expected_from: str = "reference", description: str = "", project: str = "default", endpoint: str | None = None,
                   api_key: str | None = None) -> dict[str, Any]:
    """A new dataset (version 1) from examples, a .csv/.jsonl file, span ids, or a filter over spans;
    a span's expected output is its metadata's reference, its own output, or none (`expected_from`)."""
    body = {"name": name, "description": description,
            **_source(examples, file, span_ids, filter, limit, expected_from)}
    return _call("POST", f"/projects/{project}/datasets", endpoint, api_key, json=body)


def update_dataset(name: str, examples: Sequence[Any] | None = None, *, file: str | Path | None = None,
                   span_ids: Sequence[str] | None = None, filter: str | None = None, limit: int = 100,
                   expected_from: str = "reference", remove: Sequence[int] = (), message: str = "", project: str = "default",
                   endpoint: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """The next version of a dataset: examples added (any source) and/or example ids removed."""
    body = {"remove": list(remove), "message": message,
            **_source(examples, file, span_ids, filter, limit, expected_from)}
    return _call("POST", f"/projects/{project}/datasets/{name}/versions", endpoint, api_key, json=body)


def get_dataset(name: str, version: int | None = None, *, project: str = "default", endpoint: str | None = None,
                api_key: str | None = None) -> dict[str, Any]:
    params = {"version": version} if version is not None else {}
    return _call("GET", f"/projects/{project}/datasets/{name}", endpoint, api_key, params=params)


def run_experiment(dataset: str, task: str | Callable[[Any], Any], evaluators: Sequence[registry.Spec], *,
                   project: str = "default", version: int | None = None, name: str | None = None,
                   llm: LLM | None = None, endpoint: str | None = None, api_key: str | None = None,
                   progress: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Run `task` (a "NAME@VERSION" prompt, or a function of the example input) over the dataset, scored.
    A prompt runs in the server's background; this waits for it (`progress` sees each poll's experiment,
    with status, done, total) and raises TenbinError if it failed or was interrupted."""
    if isinstance(task, str):
        body = {"prompt": task, "evaluators": list(evaluators), "version": version, "name": name}
        started = _call("POST", f"/projects/{project}/datasets/{dataset}/experiments", endpoint, api_key, json=body)
        return wait_experiment(started["id"], project=project, endpoint=endpoint, api_key=api_key, progress=progress)
    data = get_dataset(dataset, version, project=project, endpoint=endpoint, api_key=api_key)
    with Client(endpoint, api_key) as client:  # judges here use the project's templates, as on the server
        resolved = judge_prompts.bind(registry.resolve(evaluators, llm), judge_prompts.Remote(client, project))
    fn = experiments.function_task(task)
    experiments.check_examples(data["examples"], resolved, fn, f"dataset {dataset!r} v{data['version']}")
    results = experiments.execute(data["examples"], fn, resolved, tracer=evals_tracer(), workers=1)
    label = name or getattr(task, "__name__", "function")
    body = {"dataset": dataset, "version": data["version"], "name": label,
            "task": {"kind": "function", "name": getattr(task, "__qualname__", label)},
            "evaluators": experiments.described(resolved), "results": results}
    return _call("POST", f"/projects/{project}/experiments", endpoint, api_key, json=body)


def wait_experiment(experiment_id: int, *, project: str = "default", endpoint: str | None = None,
                    api_key: str | None = None, poll_s: float = 0.3,
                    progress: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Poll a server-run experiment until it is no longer `running`; the finished experiment."""
    while True:
        found = get_experiment(experiment_id, project=project, endpoint=endpoint, api_key=api_key)
        if progress:
            progress(found)
        if found["status"] != "running":
            break
        time.sleep(poll_s)
    if found["status"] != "done":
        raise TenbinError(f"experiment {experiment_id} {found['status']}: {found['error']}")
    return found


def rerun_experiment(experiment_id: int, *, project: str = "default", endpoint: str | None = None,
                     api_key: str | None = None, background: bool = False,
                     progress: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Run a server-run experiment again as a new one: the same prompt version, dataset version,
    evaluators and judge template versions. Waits (raising if it fails) unless `background`."""
    started = _call("POST", f"/projects/{project}/experiments/{experiment_id}/rerun", endpoint, api_key)
    if background:
        return started
    return wait_experiment(started["id"], project=project, endpoint=endpoint, api_key=api_key, progress=progress)


def get_experiment(experiment_id: int, *, project: str = "default", endpoint: str | None = None,
                   api_key: str | None = None) -> dict[str, Any]:
    return _call("GET", f"/projects/{project}/experiments/{experiment_id}", endpoint, api_key)


def compare_experiments(a: int, b: int, *, project: str = "default", endpoint: str | None = None,
                        api_key: str | None = None) -> dict[str, Any]:
    """B against A: per-example differences, per-evaluator mean deltas with 95% paired t intervals."""
    return _call("GET", f"/projects/{project}/experiments/compare", endpoint, api_key, params={"a": a, "b": b})
