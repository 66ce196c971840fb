"""How far to trust a judge: its agreement with a small labelled set written by hand.

Each built-in judge ships `calibration/<judge>.jsonl`: realistic cases with the label a careful
human gives, balanced between labels. `calibrate` runs the judge (on the configured model) over the
set and reports accuracy, Cohen's kappa (agreement beyond chance: 0 = a coin, 1 = perfect) and the
confusion matrix, with `unparseable` as its own column because a judge that cannot answer is wrong.
`calibrate_project` (REST and the UI's Evaluators page) measures a project's template and keeps
the report as that judge's last calibration, which the project's evaluator list then shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import judge_prompts, judges, registry
from tenbin.evals.base import FIELDS, UNPARSEABLE, EvalInput
from tenbin.evals.runner import run
from tenbin.llm import LLM
from tenbin.store import calibrations as store

DATA_DIR = Path(__file__).parent / "calibration"
KAPPA_READINGS = ((0.2, "slight agreement"), (0.4, "fair agreement"), (0.6, "moderate agreement"),
                  (0.8, "substantial agreement"), (1.0, "almost perfect agreement"))
"""Landis & Koch's bands, upper bounds exclusive: what a kappa means to someone who has not met it."""


@dataclass
class Case:
    example: EvalInput
    label: str
    line: int


@dataclass
class CalibrationReport:
    judge: str
    version: str
    model: str
    labels: list[str]
    n: int
    accuracy: float
    kappa: float | None
    unparseable: int
    confusion: list[list[int]]
    """Rows: the set's labels (in `labels` order); columns: the judge's, then `unparseable`."""
    predictions: list[dict[str, Any]] = field(default_factory=list)
    """Per case: line, expected, predicted, explanation, `case` (its fields), `raw` (the reply, if unparseable)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_set(judge: str, path: Path | None = None) -> list[Case]:
    """The labelled cases of `judge`; every malformed line is reported, with its number."""
    spec = judges.SPECS.get(judge)
    if spec is None:
        raise NotFound(f"no built-in judge {judge!r}; judges: {', '.join(judges.SPECS)}")
    path = path or DATA_DIR / f"{judge}.jsonl"
    cases, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            label = spec.rails.snap(str(row.pop("label")))
            if label is None:
                raise ValueError(f"label is not one of {', '.join(spec.rails.labels)}")
            unknown = set(row) - set(FIELDS) - {"note"}
            if unknown:
                raise ValueError(f"unknown fields {', '.join(sorted(unknown))}")
            row.pop("note", None)
            cases.append(Case(EvalInput(**row), label, number))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        raise InvalidInput(f"{path}: " + "; ".join(problems))
    return cases


def calibrate(judge: str, llm: LLM | None = None, *, tracer: Any | None = None, cases: list[Case] | None = None,
              prompts: judge_prompts.Prompts | None = None) -> CalibrationReport:
    """Run `judge` on its labelled set (or `cases`) and measure agreement; with `prompts`, the judge
    uses that project's registry template, so an edited template is calibrated before it is trusted."""
    cases = cases if cases is not None else load_set(judge)
    if not cases:
        raise InvalidInput(f"the calibration set of {judge!r} is empty")
    built = judges.build(judge, llm or LLM())
    assert built is not None  # load_set checked the name
    (evaluator,) = judge_prompts.bind([built], prompts)
    assert isinstance(evaluator, judges.LLMJudge)
    results = list(run([c.example for c in cases], [evaluator], tracer=tracer))
    expected = [c.label for c in cases]
    predicted = [r.label or UNPARSEABLE for r in results]
    labels = list(evaluator.spec.rails.labels)
    # scikit-learn costs ~1.5 s and ~150 MB to import: only calibration needs it, not the server.
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    matrix = confusion_matrix(expected, predicted, labels=[*labels, UNPARSEABLE])
    kappa = float(cohen_kappa_score(expected, predicted, labels=[*labels, UNPARSEABLE]))
    return CalibrationReport(
        judge=judge, version=evaluator.version, model=evaluator.llm.model, labels=labels, n=len(cases),
        accuracy=sum(e == p for e, p in zip(expected, predicted)) / len(cases),
        kappa=None if math.isnan(kappa) else round(kappa, 6), unparseable=predicted.count(UNPARSEABLE),
        confusion=[[int(v) for v in row] for row in matrix[: len(labels)]],
        predictions=[{"line": c.line, "expected": e, "predicted": p, "explanation": r.explanation, "case": _fields(c),
                      "raw": r.raw if p == UNPARSEABLE else None}
                     for c, e, p, r in zip(cases, expected, predicted, results)],
    )


def _fields(case: Case) -> dict[str, Any]:
    """The case's non-empty input fields, so a wrong verdict can be read next to what was judged."""
    return {name: value for name in FIELDS if (value := getattr(case.example, name)) not in (None, "", [])}


def kappa_reading(kappa: float | None) -> str:
    """Cohen's kappa in plain words."""
    if kappa is None:
        return "undefined: the set and the judge each used a single label"
    if kappa <= 0:
        return "no better than a constant label (or chance)"
    if kappa >= 1:
        return "perfect agreement"
    return next(words for bound, words in KAPPA_READINGS if kappa < bound)


def calibrate_project(engine: Engine, judge: str, project: str, *, tracer: Any | None = None) -> CalibrationReport:
    """Calibrate the template `project`'s judges use, on the configured model, and keep the report as
    the project's last calibration of `judge`; a failed run (model unreachable) keeps nothing."""
    report = calibrate(judge, tracer=tracer, prompts=judge_prompts.Local(engine, project))
    store.save(engine, project, report.to_dict())
    return report


def project_catalog(engine: Engine, project: str) -> list[dict[str, Any]]:
    """Every evaluator as `project` sees it: its judges' registry templates and, for each judge
    calibrated there, `last_calibration` (accuracy, kappa, model, template version, when)."""
    last = store.summaries(engine, project)
    items = registry.catalog(judge_prompts.Local(engine, project))
    for item in items:
        if item["source"] == "llm":
            item["last_calibration"] = last.get(item["name"])
    return items
