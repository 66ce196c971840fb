"""Run a stored experiment again: a new experiment with exactly the original's resolved parameters.

    rerun(engine, "shop", 7)            # in this thread; returns the finished new experiment
    start_rerun(engine, "shop", 7)      # the server's path: returns it `running`

The new experiment runs the same prompt version (a label such as `production` was resolved when the
original ran, and is not resolved again), over the same dataset version, with the same evaluators
and parameters, each LLM judge held to the template version the original used (`hallucination@v3`).
Its task names the original as `rerun_of`. The model is the one configured now (TENBIN_LLM_*).

Refused, storing nothing: an experiment still running; one whose task was a Python function (it
ran in the caller's process, which the server cannot repeat); one whose prompt version, dataset
version or judge template version is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import experiments, judge_prompts
from tenbin.evals.experiments import Progress, StoredRun
from tenbin.evals.registry import Spec
from tenbin.llm import LLM
from tenbin.store import datasets as store
from tenbin.store.interrupted import refuse_active


def _specs(found: dict[str, Any]) -> list[Spec]:
    """The evaluator specs from what the experiment stored (name, and params when it had some)."""
    return [{"name": e["name"], "params": e["params"]} if e.get("params") else e["name"]
            for e in found["evaluators"] or []]


def _prepare(engine: Engine, project: str, experiment_id: int, llm: LLM | None) -> tuple[StoredRun, int]:
    found = store.get_experiment(engine, project, experiment_id)
    refuse_active(f"experiment {experiment_id}", found["status"], ("running",))
    task = found["task"] or {}
    if task.get("kind") != "prompt":
        raise InvalidInput(f"experiment {experiment_id} ran the Python function {task.get('name')!r} in the caller's "
                           "process, so the server cannot run it again: call tenbin.evals.run_experiment with the "
                           "function again")
    try:
        return experiments.prepare_stored(
            engine, project, found["dataset"], prompt=f"{task['name']}@{task['version']}", evaluators=_specs(found),
            version=found["dataset_version"], name=found["name"], llm=llm, rerun_of=experiment_id,
            judges=judge_prompts.pinned(engine, project, found["evaluators"] or []))
    except (InvalidInput, NotFound) as exc:
        raise InvalidInput(f"experiment {experiment_id} cannot run again: {exc}. Nothing was stored.") from exc


def rerun(engine: Engine, project: str, experiment_id: int, *, llm: LLM | None = None, tracer: Any | None = None,
          progress: Progress | None = None) -> dict[str, Any]:
    """Run the experiment again in this thread (Python callers); returns the finished new experiment."""
    run, exp_id = _prepare(engine, project, experiment_id, llm)
    experiments.execute_stored(engine, exp_id, run, tracer=tracer, progress=progress)
    return store.get_experiment(engine, project, exp_id)


def start_rerun(engine: Engine, project: str, experiment_id: int, *, llm: LLM | None = None,
                tracer: Any | None = None, on_done: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Check and store the new experiment, run it on a daemon thread; returns it `running`."""
    run, exp_id = _prepare(engine, project, experiment_id, llm)
    return experiments.in_background(engine, project, exp_id, run, tracer=tracer, on_done=on_done)
