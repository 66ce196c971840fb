"""Generation runs: check everything, store the run, then propose, score and rank in the background;
and save a candidate as a new, immutable prompt version.

    run = start(engine, "shop", {"dataset": "faq", "task": "Answer in one sentence", "n": 4})
    ...                                   # GET it again: status proposing → scoring → done, done/total
    save_candidate(engine, run["id"], 2, "support", label="staging")

Bad input (unknown dataset, evaluator or base prompt, an evaluator needing expected outputs the
examples lack) and an unreachable LLM are refused before anything is stored or any LLM is called;
the LLM error says what to set. A run whose process died stays `proposing`/`scoring` in the table;
after STALE_S without progress it reads as `interrupted`.

`rerun` starts a new run with a finished, failed or interrupted run's request, resolved as the
original resolved it: the same dataset version, base prompt version and judge template version
(the proposals differ only if the model's answers do). Its spec names the original as `rerun_of`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine

from tenbin import config
from tenbin.autoprompt import generate, scoring
from tenbin.autoprompt.plan import Plan, Request, prepare
from tenbin.errors import InvalidInput, LLMUnavailable, NotFound
from tenbin.evals import judge_prompts
from tenbin.evals.experiments import PromptTask, check_examples
from tenbin.llm import LLM
from tenbin.prompts import registry as prompts
from tenbin.store import datasets as datasets_store
from tenbin.store import prompt_generations as store
from tenbin.store.interrupted import refuse_active
from tenbin.store.lookup import now_us

STALE_S = 900
ACTIVE = ("proposing", "scoring")
Progress = Callable[[int, int], None]
log = logging.getLogger("tenbin.autoprompt")


def check_llm(llm: LLM) -> None:
    """Refuse early, saying what to set, when the configured LLM is down or lacks the model."""
    from tenbin.llm.local import models_at

    try:
        served = models_at(llm.base_url, config.LLM_API_KEY.get() or None)
    except LLMUnavailable as exc:
        raise LLMUnavailable(f"prompt generation needs an LLM. {exc} Or set TENBIN_LLM_BASE_URL and TENBIN_LLM_MODEL "
                             "to an OpenAI-compatible server and its model. Nothing was stored.") from exc
    if served and llm.model not in served:
        raise LLMUnavailable(f"the LLM server at {llm.base_url} does not serve TENBIN_LLM_MODEL={llm.model!r}; it serves "
                             f"{', '.join(served)}: set TENBIN_LLM_MODEL to one of them. Nothing was stored.")


def prepare_run(engine: Engine, project: str, request: Request | Mapping[str, Any], llm: LLM, *,
                judges: judge_prompts.Prompts | None = None, rerun_of: int | None = None) -> tuple[int, Plan]:
    """Check everything (the LLM too) and store the run as `proposing`; nothing runs yet."""
    req = request if isinstance(request, Request) else Request.from_dict(request)
    plan = prepare(engine, project, req, llm, judges)
    check_llm(llm)
    spec = {**req.to_dict(), "evaluator_resolved": scoring.describe_evaluator(plan.evaluator)}
    if plan.base:
        spec["base_resolved"] = {"name": plan.base["name"], "version": plan.base["version"]}
    if rerun_of is not None:
        spec["rerun_of"] = rerun_of
    return store.create(engine, project, req.dataset, plan.dataset_version, req.task, spec, llm.model), plan


def start(engine: Engine, project: str, request: Request | Mapping[str, Any], *, llm: LLM | None = None,
          tracer: Any | None = None, background: bool = True, progress: Progress | None = None,
          on_done: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Check, store and start a run (on a daemon thread unless `background=False`); returns the run."""
    llm = llm or LLM()
    run_id, plan = prepare_run(engine, project, request, llm)
    return _launch(engine, run_id, plan, llm, tracer, background, progress, on_done)


def _rerun_request(found: Mapping[str, Any]) -> Request:
    """The original request, resolved as the original resolved it (dataset and base prompt version)."""
    spec = found["spec"] or {}
    fields = {k: spec[k] for k in Request.__dataclass_fields__ if k in spec}
    fields["dataset_version"] = found["dataset_version"]
    bases = [c["origin"]["base"] for c in found["candidates"] if (c["origin"] or {}).get("base")]
    base = spec.get("base_resolved") or (bases[0] if bases else None)
    if base:
        fields["base_prompt"] = f"{base['name']}@{base['version']}"
    return Request.from_dict(fields)


def rerun(engine: Engine, run_id: int, *, project: str | None = None, llm: LLM | None = None,
          tracer: Any | None = None, background: bool = True, progress: Progress | None = None,
          on_done: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Start a new run with run `run_id`'s request (see the module docstring); returns the new run."""
    found = get_run(engine, run_id, results=False, project=project)
    refuse_active(f"prompt generation run {run_id}", found["status"], ACTIVE)
    llm = llm or LLM()
    judges = judge_prompts.pinned(engine, found["project"], [(found["spec"] or {}).get("evaluator_resolved") or {}])
    try:
        new_id, plan = prepare_run(engine, found["project"], _rerun_request(found), llm, judges=judges, rerun_of=run_id)
    except (InvalidInput, NotFound) as exc:
        raise InvalidInput(f"prompt generation run {run_id} cannot run again: {exc}. Nothing was stored.") from exc
    return _launch(engine, new_id, plan, llm, tracer, background, progress, on_done)


def _launch(engine: Engine, run_id: int, plan: Plan, llm: LLM, tracer: Any | None, background: bool,
            progress: Progress | None, on_done: Callable[[], Any] | None) -> dict[str, Any]:
    args = (engine, run_id, plan, llm, tracer, progress, on_done)
    if background:
        threading.Thread(target=execute, args=args, name=f"tenbin-autoprompt-{run_id}", daemon=True).start()
        return get_run(engine, run_id, results=False)
    execute(*args)
    return get_run(engine, run_id)


def run(engine: Engine, project: str, request: Request | Mapping[str, Any], *, llm: LLM | None = None,
        progress: Progress | None = None) -> dict[str, Any]:
    """The whole run in this thread (the Python API without a server); returns the finished run."""
    return start(engine, project, request, llm=llm, background=False, progress=progress)


def _version(run_id: int, plan: Plan, cand: Mapping[str, Any]) -> dict[str, Any]:
    """What PromptTask runs: the base prompt itself, or the candidate under a run-scoped name."""
    params = {"max_tokens": plan.request.max_tokens}
    if cand["position"] == 0 and plan.base:
        return {**plan.base, "params": {**params, **(plan.base.get("params") or {})}}
    return {"name": f"autoprompt-{run_id}", "version": cand["position"], **cand["template"], "params": params}


def _tasks(run_id: int, plan: Plan, cands: list[dict[str, Any]], llm: LLM) -> dict[int, PromptTask]:
    """A task per valid candidate; one that some example's input cannot fill becomes invalid here."""
    tasks = {}
    for cand in (c for c in cands if c["status"] == "valid"):
        task = PromptTask(_version(run_id, plan, cand), llm)
        try:
            check_examples(plan.examples, [], task, plan.where)
        except InvalidInput as exc:
            cand.update(status="invalid", error=str(exc))
            continue
        tasks[cand["position"]] = task
    return tasks


def execute(engine: Engine, run_id: int, plan: Plan, llm: LLM, tracer: Any | None = None,
            progress: Progress | None = None, on_done: Callable[[], Any] | None = None) -> None:
    """Propose, store the candidates, score each valid one, rank; a failure is recorded on the run."""
    try:
        proposals, note = generate.propose(llm, plan, plan.request.n, tracer)
        cands = ([generate.base_candidate(plan)] if plan.base else []) + generate.build(plan, proposals)
        tasks = _tasks(run_id, plan, cands, llm)
        invalid = len(cands) - len(tasks)
        notes = [*plan.notes, note] + ([f"{invalid} candidate(s) are invalid (each says why) and were not scored"]
                                       if invalid else [])
        total = len(tasks) * len(plan.examples)
        ids = store.set_candidates(engine, run_id, cands, total, notes)
        summaries, done = {}, 0
        for position, task in tasks.items():
            def on_chunk(rows: list[dict[str, Any]], cid: int = ids[position]) -> None:
                nonlocal done
                store.add_results(engine, run_id, cid, rows)
                done += len(rows)
                if progress:
                    progress(done, total)

            rows = scoring.score_candidate(plan.examples, task, plan.evaluator, tracer=tracer,
                                           workers=llm.max_concurrency, on_chunk=on_chunk)
            summaries[ids[position]] = scoring.summarize(rows)
        store.finish(engine, run_id, "done", summaries=summaries, ranks=scoring.rank(summaries))
    except Exception as exc:  # a background run records its failure instead of raising
        log.warning("tenbin: prompt generation run %s failed", run_id, exc_info=True)
        store.finish(engine, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        if on_done:
            on_done()


def _present(run: dict[str, Any]) -> dict[str, Any]:
    if run["status"] in ACTIVE and now_us() - run["updated_us"] > STALE_S * 1_000_000:
        run.update(status="interrupted", error=f"no progress for {STALE_S // 60} minutes: the process running it "
                   "probably stopped; start the run again")
    for cand in run["candidates"]:
        cand["parts"] = generate.describe(cand["origin"] or {})
    return run


def get_run(engine: Engine, run_id: int, *, results: bool = True, project: str | None = None) -> dict[str, Any]:
    """A run with its ranked candidates (and per-example results); `project` scopes the lookup."""
    found = store.get(engine, run_id, results=results)
    if project is not None and found["project"] != project:
        raise NotFound(f"project {project!r} has no prompt generation run {run_id}")
    return _present(found)


def list_runs(engine: Engine, project: str) -> list[dict[str, Any]]:
    """The project's runs, newest first (without candidates; each with its best one's summary)."""
    out = [_present({**r, "candidates": []}) for r in store.list_runs(engine, project)]
    return [{k: v for k, v in r.items() if k != "candidates"} for r in out]


def _message(run: Mapping[str, Any], cand: Mapping[str, Any]) -> str:
    s, evaluator = cand["summary"] or {}, (run["spec"] or {}).get("evaluator_resolved", {}).get("name", "?")
    interval = f" [{s['low']:.2f}, {s['high']:.2f}]" if s.get("low") is not None else ""
    score = f"{evaluator} {s['score']:.2f}{interval}" if s.get("score") is not None else "not scored"
    return (f"generated by tenbin prompt generation run #{run['id']}, candidate {cand['position']} "
            f"({generate.describe(cand['origin'] or {})}); {score} on dataset {run['dataset']} "
            f"v{run['dataset_version']} ({s.get('n', 0)} examples, model {run['model']})")


def _shots(engine: Engine, run: Mapping[str, Any], ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    data = datasets_store.get_dataset(engine, run["project"], run["dataset"], run["dataset_version"])
    return [{"input": e["input"], "output": e["expected"]} for e in data["examples"] if e["id"] in ids]


def save_candidate(engine: Engine, run_id: int, position: int, name: str, *, label: str | None = None,
                   author: str | None = None, project: str | None = None) -> dict[str, Any]:
    """Store candidate `position` as the next version of prompt `name` (created when new), optionally
    labelled; the commit message names the run, the candidate and its score."""
    found = get_run(engine, run_id, results=False, project=project)
    if found["status"] != "done":
        raise InvalidInput(f"run {run_id} is {found['status']}; save a candidate once the run is done")
    cand = next((c for c in found["candidates"] if c["position"] == position), None)
    if cand is None:
        known = ", ".join(str(c["position"]) for c in found["candidates"])
        raise NotFound(f"run {run_id} has no candidate {position}; its candidates are: {known}")
    if cand["status"] != "valid":
        raise InvalidInput(f"candidate {position} of run {run_id} is invalid ({cand['error']}); save a valid one")
    prompts.check_name(name)
    if label is not None:
        prompts.check_label(label)
    version = prompts.push(engine, found["project"], {
        "name": name, **cand["template"], "model": found["model"],
        "params": {"max_tokens": (found["spec"] or {}).get("max_tokens", 256)},
        "examples": _shots(engine, found, (cand["origin"] or {}).get("few_shot") or []),
        "message": _message(found, cand), "author": author})
    if label is not None:
        prompts.move_label(engine, found["project"], name, label, version["version"], author=author,
                           reason=f"generated by prompt generation run #{run_id}")
    store.mark_saved(engine, cand["id"], name, version["version"])
    return prompts.get(engine, found["project"], name, version=version["version"])
