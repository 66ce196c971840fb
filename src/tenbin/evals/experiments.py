"""Experiments: run a task over one dataset version, score every output, keep per-example results.

A task is a prompt version from the registry (rendered, then sent through `tenbin.llm.LLM`) or a
Python function `fn(input) -> output` (SDK only). How an example's input becomes the prompt's
variables:

* an object (`{"question": "...", "tone": "dry"}`) is the variables, key for key;
* a string goes to the variable named `input`, or else to the template's only variable;
  a template with several variables and none named `input` needs object inputs.

Each variable set is checked against the template before the first LLM call, as is every field an
evaluator needs from the dataset (a reference-based judge on examples without `expected` output is
refused up front, naming the field), so a bad run fails whole and stores nothing. A task that
raises on one example records the error on that example and the run goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput, TenbinError
from tenbin.evals import judge_prompts, registry, runner
from tenbin.evals.base import EvalInput, EvalResult, Evaluator
from tenbin.llm import LLM
from tenbin.llm.client import PromptInfo
from tenbin.prompts import registry as prompts
from tenbin.prompts.templates import Template
from tenbin.sdk.routing import routed
from tenbin.store import datasets as store

CHAT_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop")
FIELD_SOURCES = {"input": "the example's `input`", "reference": "the example's `expected` output",
                 "context": "metadata.context (a list of document texts)",
                 "conversation": "metadata.conversation (a list of {role, content})"}
"""Where an experiment takes each field an evaluator may need from (its errors and the UI's form say so)."""


@dataclass
class TaskOutput:
    output: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Task = Callable[[Any], TaskOutput]
log = logging.getLogger("tenbin.evals")
Progress = Callable[[int, int], None]
SCORE_CHUNKS = 10
"""The scoring phase reports progress this many times."""


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def variables_for(template: Template, value: Any) -> dict[str, Any]:
    """The prompt variables for one example input (see the module docstring)."""
    if isinstance(value, Mapping):
        return dict(value)
    names = [v.name for v in template.variables]
    if "input" in names:
        return {"input": value}
    if len(names) == 1:
        return {names[0]: value}
    raise InvalidInput(f"a text input cannot fill the template's variables {names}: give examples object inputs "
                       "with those keys, or name one variable `input`")


class PromptTask:
    """A task that renders a prompt version with the example's input and asks `llm`."""

    def __init__(self, version: Mapping[str, Any], llm: LLM) -> None:
        self.version, self.llm = version, llm
        self.template = prompts.template_of(version)
        self.params = {k: v for k, v in (version.get("params") or {}).items() if k in CHAT_PARAMS}

    def check(self, value: Any) -> None:
        """Raise InvalidInput if `value` cannot fill the template (before any LLM call)."""
        self.template.values(variables_for(self.template, value))

    def __call__(self, value: Any) -> TaskOutput:
        variables = variables_for(self.template, value)
        rendered = self.template.render(**variables)
        messages = rendered if isinstance(rendered, list) else [{"role": "user", "content": rendered}]
        info = PromptInfo(self.version["name"], self.version["version"], self.template.as_text(), variables)
        result = self.llm.chat(messages, prompt=info, span_name=f"experiment:{self.version['name']}", **self.params)
        return TaskOutput(result.text, None, result.latency_ms, result.prompt_tokens, result.completion_tokens)


def function_task(fn: Callable[[Any], Any]) -> Task:
    """A Python function as a task: its return value (text, or JSON of anything else) is the output."""

    def call(value: Any) -> TaskOutput:
        started = time.perf_counter()
        out = fn(value)
        return TaskOutput(None if out is None else as_text(out), None, (time.perf_counter() - started) * 1000)

    return call


def _guarded(task: Task, value: Any) -> TaskOutput:
    started = time.perf_counter()
    try:
        return task(value)
    except Exception as exc:  # noqa: BLE001 - one example's failure is recorded, the run goes on
        return TaskOutput(error=f"{type(exc).__name__}: {exc}", latency_ms=(time.perf_counter() - started) * 1000)


def eval_input(example: Mapping[str, Any], output: str | None) -> EvalInput:
    meta = example.get("metadata") or {}
    context = meta.get("context") if isinstance(meta.get("context"), list) else []
    convo = meta.get("conversation") if isinstance(meta.get("conversation"), list) else []
    return EvalInput(input=as_text(example["input"]), output=output, reference=example.get("expected"),
                     context=[str(c) for c in context], conversation=convo, metadata=meta)


def check_examples(examples: Sequence[Mapping[str, Any]], evaluators: Sequence[Evaluator], task: Task,
                   where: str) -> None:
    """Refuse the run before any call: a needed field empty on some examples, or an input the prompt cannot take."""
    if not examples:
        raise InvalidInput(f"{where} has no examples; add some before running an experiment")
    for evaluator in evaluators:
        for name in (n for n in evaluator.requires if n != "output"):
            missing = [e["id"] for e in examples if getattr(eval_input(e, None), name) in (None, "", [])]
            if missing:
                raise InvalidInput(
                    f"evaluator {evaluator.name!r} needs the field {name!r} ({FIELD_SOURCES.get(name, name)}), which is "
                    f"empty on {len(missing)} of {len(examples)} examples of {where} (ids {missing[:10]}): fill it in, "
                    "or choose evaluators that do not need it")
    for example in examples if isinstance(task, PromptTask) else ():
        try:
            task.check(example["input"])
        except InvalidInput as exc:
            raise InvalidInput(f"example {example['id']} of {where} does not fit the prompt: {exc}") from None


def _score_dict(result: EvalResult) -> dict[str, Any]:
    return {k: v for k, v in result.to_dict().items() if k not in ("span_id", "details")}


def _counter(total: int, progress: Progress | None) -> Callable[[int], None]:
    """A thread-safe `add(n)` that reports (done, total) to `progress`."""
    lock, state = threading.Lock(), {"done": 0}

    def add(n: int) -> None:
        with lock:
            state["done"] += n
            done = state["done"]
        if progress:
            progress(done, total)

    return add


def execute(examples: Sequence[Mapping[str, Any]], task: Task, evaluators: Sequence[Evaluator], *,
            tracer: Any | None = None, workers: int = 1, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run `task` on every example, then every evaluator on every output; one result row per example.
    `progress(done, total)` counts steps: each example answered, then each example scored (2 per example)."""
    n = len(examples)
    add = _counter(2 * n, progress)

    def one(example: Mapping[str, Any]) -> TaskOutput:
        with routed(tracer):
            out = _guarded(task, example["input"])
        add(1)
        return out

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="tenbin-exp") as pool:
        outputs = list(pool.map(one, examples))
    inputs = [eval_input(e, o.output) for e, o in zip(examples, outputs)]
    todo = runner.plan([i for i, o in zip(inputs, outputs) if o.error is None], evaluators, skip_missing=True)
    scored: list[EvalResult] = []
    step, reported = max(1, -(-len(todo.pairs) // SCORE_CHUNKS)), 0
    for start in range(0, len(todo.pairs), step):
        scored += runner.run_pairs(todo.pairs[start:start + step], tracer, runner.workers_for(evaluators))
        add(n * len(scored) // len(todo.pairs) - reported)
        reported = n * len(scored) // len(todo.pairs)
    add(n - reported)
    by_input: dict[int, list[dict[str, Any]]] = {}
    for (example_input, _), result in zip(todo.pairs, scored):
        by_input.setdefault(id(example_input), []).append(_score_dict(result))
    return [{"example_id": e["id"], **asdict(o), "scores": by_input.get(id(i), [])}
            for e, o, i in zip(examples, outputs, inputs)]


def summarize(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, errors, mean latency, total tokens, and per evaluator its mean score and label counts."""
    scores: dict[str, dict[str, Any]] = {}
    for row in results:
        for s in row["scores"]:
            entry = scores.setdefault(s["evaluator"], {"values": [], "labels": {}})
            if s["score"] is not None:
                entry["values"].append(s["score"])
            if s["label"]:
                entry["labels"][s["label"]] = entry["labels"].get(s["label"], 0) + 1
    latencies = [r["latency_ms"] for r in results if r["latency_ms"] is not None]
    return {"examples": len(results), "errors": sum(1 for r in results if r["error"]),
            "latency_ms_mean": sum(latencies) / len(latencies) if latencies else None,
            "prompt_tokens": sum(r["prompt_tokens"] or 0 for r in results),
            "completion_tokens": sum(r["completion_tokens"] or 0 for r in results),
            "scores": {name: {"mean": sum(e["values"]) / len(e["values"]) if e["values"] else None,
                              "n": len(e["values"]), "labels": e["labels"]} for name, e in sorted(scores.items())}}


def described(evaluators: Sequence[Evaluator], specs: Sequence[registry.Spec] = ()) -> list[dict[str, Any]]:
    """What a run stores of its evaluators; with the `specs` they came from, also their params, so
    the run can be repeated exactly."""
    out: list[dict[str, Any]] = [{"name": e.name, "version": e.version, "source": e.source} for e in evaluators]
    for entry, spec in zip(out, specs):
        if isinstance(spec, Mapping) and spec.get("params"):
            entry["params"] = dict(spec["params"])
    return out


def parse_prompt_ref(ref: str) -> tuple[str, int | None, str | None]:
    """`NAME@3` (version 3), `NAME@production` (a label) or `NAME` (the newest version)."""
    name, _, at = ref.partition("@")
    if not name.strip():
        raise InvalidInput(f"name the prompt as NAME@VERSION (e.g. support@3 or support@production); got {ref!r}")
    if not at:
        return name.strip(), None, None
    return (name.strip(), int(at), None) if at.isdigit() else (name.strip(), None, at)


@dataclass(frozen=True)
class StoredRun:
    """A checked server-side run: what `run_stored`/`start_stored` execute and store."""

    examples: list[dict[str, Any]]
    task: PromptTask
    evaluators: list[Evaluator]
    workers: int


def prepare_stored(engine: Engine, project: str, dataset: str, *, prompt: str, evaluators: Sequence[registry.Spec],
                   version: int | None = None, name: str | None = None, llm: LLM | None = None,
                   judges: judge_prompts.Prompts | None = None, rerun_of: int | None = None) -> tuple[StoredRun, int]:
    """Check everything (raising before any LLM call) and store the experiment as `running`; its id.
    `judges`: where judge templates come from (default the project's registry); `rerun_of`: the
    experiment this one repeats, kept in its task."""
    prompt_name, prompt_version, label = parse_prompt_ref(prompt)
    found = prompts.get(engine, project, prompt_name, version=prompt_version, label=label)
    llm = llm or LLM()
    resolved = judge_prompts.bind(registry.resolve(evaluators, llm), judges or judge_prompts.Local(engine, project))
    data = store.get_dataset(engine, project, dataset, version)
    task = PromptTask(found, llm)
    check_examples(data["examples"], resolved, task, f"dataset {dataset!r} v{data['version']}")
    fields = {"name": name or f"{prompt_name}@v{found['version']}", "evaluators": described(resolved, evaluators),
              "task": {"kind": "prompt", "name": prompt_name, "version": found["version"],
                       **({"rerun_of": rerun_of} if rerun_of is not None else {})}}
    exp_id = store.create_experiment(engine, project, dataset, data["version"], fields, total=2 * len(data["examples"]))
    return StoredRun(data["examples"], task, list(resolved), llm.max_concurrency), exp_id


def execute_stored(engine: Engine, exp_id: int, run: StoredRun, *, tracer: Any | None = None,
                   progress: Progress | None = None) -> None:
    """Run a prepared experiment, writing progress (at most once per percent) and the outcome to its row."""
    last = {"pct": -1}

    def step(done: int, total: int) -> None:
        if done * 100 // max(total, 1) != last["pct"]:
            last["pct"] = done * 100 // max(total, 1)
            store.set_experiment_progress(engine, exp_id, done)
        if progress:
            progress(done, total)

    try:
        results = execute(run.examples, run.task, run.evaluators, tracer=tracer, workers=run.workers, progress=step)
        store.finish_experiment(engine, exp_id, summarize(results), results)
    except BaseException as exc:
        store.fail_experiment(engine, exp_id, str(exc) if isinstance(exc, TenbinError) else f"{type(exc).__name__}: {exc}")
        raise


def run_stored(engine: Engine, project: str, dataset: str, *, prompt: str, evaluators: Sequence[registry.Spec],
               version: int | None = None, name: str | None = None, llm: LLM | None = None,
               tracer: Any | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """The synchronous path (Python callers): a registry prompt version over a stored dataset version,
    run in this thread and stored; returns the finished experiment."""
    run, exp_id = prepare_stored(engine, project, dataset, prompt=prompt, evaluators=evaluators, version=version,
                                 name=name, llm=llm)
    execute_stored(engine, exp_id, run, tracer=tracer, progress=progress)
    return store.get_experiment(engine, project, exp_id)


def start_stored(engine: Engine, project: str, dataset: str, *, prompt: str, evaluators: Sequence[registry.Spec],
                 version: int | None = None, name: str | None = None, llm: LLM | None = None,
                 tracer: Any | None = None, on_done: Callable[[], Any] | None = None) -> dict[str, Any]:
    """The server's path: check and store the experiment, run it on a daemon thread, return it `running`.
    Bad input is still raised here, before anything is stored; `on_done` runs after (e.g. flush traces)."""
    run, exp_id = prepare_stored(engine, project, dataset, prompt=prompt, evaluators=evaluators, version=version,
                                 name=name, llm=llm)
    return in_background(engine, project, exp_id, run, tracer=tracer, on_done=on_done)


def in_background(engine: Engine, project: str, exp_id: int, run: StoredRun, *, tracer: Any | None = None,
                  on_done: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Execute a prepared experiment on a daemon thread; returns it `running`."""
    def target() -> None:
        try:
            execute_stored(engine, exp_id, run, tracer=tracer)
        except Exception:  # stored on the experiment's row by execute_stored
            log.warning("tenbin: experiment %s failed", exp_id, exc_info=True)
        finally:
            if on_done:
                on_done()

    threading.Thread(target=target, name=f"tenbin-experiment-{exp_id}", daemon=True).start()
    return store.get_experiment(engine, project, exp_id)
