"""Evaluations: code checks and LLM judges behind one interface, results stored as span feedback.

    import tenbin.evals as ev

    @ev.register("polite")
    def polite(example: ev.EvalInput) -> bool:
        return "please" in (example.output or "").lower()

    ev.evaluate(EvalInput(output='{"a": 1}'), ["json_valid"])             # one input, in-process
    ev.evaluate_spans(None, ["qa_correctness", "polite"], project="shop")  # spans, through the server
    ev.create_dataset("faq", file="faq.jsonl"); ev.run_experiment("faq", task="support@3", evaluators=["contains"])
    ev.rerun_experiment(7, project="shop")      # an interrupted or failed experiment, again, same parameters

Modules: `base` (interface), `code` (checks, user registry), `judges` + `templates` + `rails` (LLM
judges; `judge_prompts` keeps their templates in each project's prompt registry), `runner` (many
inputs, storage), `spans` (span → input), `calibration`, `remote` (SDK path), `datasets` +
`experiments` + `experiment_reruns` + `compare` (datasets, experiments over them, run again;
`sdk_datasets` their SDK), `online` + `online_rules` (rules scoring new spans in the server's
background; `sdk_online` their SDK).
"""

from tenbin.evals.base import (
    UNPARSEABLE,
    EvalInput,
    EvalResult,
    Evaluator,
    MissingField,
)
from tenbin.evals.calibration import CalibrationReport, calibrate
from tenbin.evals.code import register
from tenbin.evals.registry import catalog, resolve
from tenbin.evals.remote import evaluate_spans
from tenbin.evals.runner import evaluate, run
from tenbin.evals.sdk_datasets import (
    compare_experiments,
    create_dataset,
    get_dataset,
    get_experiment,
    rerun_experiment,
    run_experiment,
    update_dataset,
    wait_experiment,
)
from tenbin.evals.sdk_online import (
    create_online_rule,
    delete_online_rule,
    enable_online_rule,
    get_online_rule,
    list_online_rules,
    run_online_rules,
    update_online_rule,
)

__all__ = [
    "UNPARSEABLE",
    "CalibrationReport",
    "EvalInput",
    "EvalResult",
    "Evaluator",
    "MissingField",
    "calibrate",
    "catalog",
    "compare_experiments",
    "create_dataset",
    "create_online_rule",
    "delete_online_rule",
    "enable_online_rule",
    "evaluate",
    "evaluate_spans",
    "get_dataset",
    "get_experiment",
    "get_online_rule",
    "list_online_rules",
    "register",
    "rerun_experiment",
    "resolve",
    "run",
    "run_experiment",
    "run_online_rules",
    "update_dataset",
    "update_online_rule",
    "wait_experiment",
]
