"""Evaluations: code checks and LLM judges behind one interface, results stored as span feedback.

    import tenbin.evals as ev

    @ev.register("polite")
    def polite(example: ev.EvalInput) -> bool:
        return "please" in (example.output or "").lower()

    ev.evaluate(EvalInput(output='{"a": 1}'), ["json_valid"])             # one input, in-process
    ev.evaluate_spans(None, ["qa_correctness", "polite"], project="shop")  # spans, through the server

Modules: `base` (interface), `code` (checks, user registry), `judges` + `templates` + `rails` (LLM
judges), `runner` (many inputs, storage), `spans` (span → input), `calibration`, `remote` (SDK path).
"""

from tenbin.evals.base import UNPARSEABLE, EvalInput, EvalResult, Evaluator, MissingField
from tenbin.evals.calibration import CalibrationReport, calibrate
from tenbin.evals.code import register
from tenbin.evals.registry import catalog, resolve
from tenbin.evals.remote import evaluate_spans
from tenbin.evals.runner import evaluate, run

__all__ = [
    "UNPARSEABLE",
    "CalibrationReport",
    "EvalInput",
    "EvalResult",
    "Evaluator",
    "MissingField",
    "calibrate",
    "catalog",
    "evaluate",
    "evaluate_spans",
    "register",
    "resolve",
    "run",
]
