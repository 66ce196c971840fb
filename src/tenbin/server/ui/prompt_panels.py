"""Data for the prompt page's panels: per-version performance (charts, a table, two versions
compared over a time range) and the prompt's A/B experiments with the "New experiment" form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.prompts import experiments
from tenbin.store.lookup import now_us

RANGES = {"24h": (86_400, 3_600), "7d": (7 * 86_400, 6 * 3_600), "30d": (30 * 86_400, 86_400),
          "90d": (90 * 86_400, 86_400)}
"""Time range → (its length, the chart bucket), in seconds."""
DEFAULT_RANGE = "7d"
GUARDRAIL_FIELDS = ("latency_p95_ms", "error_rate", "tokens_per_span")
_NO_SPANS = {"count": 0, "thumbs_up_rate": None, "thumbs_count": 0, "latency_p50_ms": None, "latency_p95_ms": None,
             "tokens_per_span": None, "cost": None, "evals": {}}


def default_pair(versions: Sequence[Mapping[str, Any]], labels: Mapping[str, int]) -> tuple[int, int]:
    """What to compare when nothing is picked: production (else the one before the newest) vs the newest."""
    newest = versions[0]["version"]
    older = labels.get(experiments.PRODUCTION) or (versions[1]["version"] if len(versions) > 1 else newest)
    return (older, newest) if older != newest or len(versions) == 1 else (versions[1]["version"], newest)


def _pick(value: int | None, fallback: int, known: set[int]) -> int:
    if value is None:
        return fallback
    if value not in known:
        raise InvalidInput(f"there is no version {value} to compare; versions are {', '.join(map(str, sorted(known)))}")
    return value


def _with_rates(row: Mapping[str, Any]) -> dict[str, Any]:
    count = row.get("count") or 0
    return {**row, "tokens_per_span": (row.get("total_tokens") or 0) / count if count else None}


def performance_panel(engine: Engine, project: str, name: str, versions: Sequence[Mapping[str, Any]],
                      labels: Mapping[str, int], a: int | None, b: int | None, span: str | None) -> dict[str, Any]:
    """Versions `a` and `b` over the range `span`: rows per time bucket (charts, table) and totals."""
    span = span or DEFAULT_RANGE
    if span not in RANGES:
        raise InvalidInput(f"range {span!r} is not offered; pick one of {', '.join(RANGES)}")
    known = {v["version"] for v in versions}
    first, second = default_pair(versions, labels)
    a, b = _pick(a, first, known), _pick(b, second, known)
    length, bucket = RANGES[span]
    start = now_us() - length * 1_000_000
    picked = [str(a)] if a == b else [str(a), str(b)]
    rows = [_with_rates(r) for r in experiments.performance(engine, project, name, bucket, start) if r["version"] in picked]
    totals = {r["version"]: _with_rates(r) for r in experiments.performance(engine, project, name, None, start)}
    evals = sorted({e for r in rows for e in r["evals"]})
    return {"a": a, "b": b, "range": span, "ranges": list(RANGES), "bucket_seconds": bucket, "rows": rows,
            "totals": [totals.get(v) or {**_NO_SPANS, "version": v} for v in picked], "evals": evals,
            "series": {"versions": picked, "rows": rows, "evals": evals, "bucket_seconds": bucket}}


def experiments_panel(engine: Engine, project: str, name: str, versions: Sequence[Mapping[str, Any]],
                      labels: Mapping[str, int]) -> dict[str, Any]:
    """The prompt's experiments, newest first, and the defaults of the form that starts one."""
    rows = experiments.list_all(engine, project, name)
    control, treatment = default_pair(versions, labels)
    return {"items": rows, "running": next((e for e in rows if e["status"] == "running"), None),
            "metric_kinds": list(experiments.METRIC_KINDS), "guardrails": GUARDRAIL_FIELDS,
            "defaults": {"control": control, "weights": {control: "0.5", treatment: "0.5"} if control != treatment else {}}}


def _number(form: Mapping[str, str], key: str, what: str) -> float | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a number; got {text!r}") from None


def experiment_request(form: Mapping[str, str], name: str, versions: Sequence[Mapping[str, Any]],
                       author: str) -> dict[str, Any]:
    """The "New experiment" form as `experiments.create` takes it: the control's arm first, then
    every other version given a weight, in version order."""
    control = form.get("control", "").strip()
    if not control.isdigit():
        raise InvalidInput("pick the control version (the arm the others are tested against)")
    weights = {v["version"]: _number(form, f"weight.{v['version']}", f"the weight of v{v['version']}") for v in versions}
    if weights.get(int(control)) is None:
        raise InvalidInput(f"give the control v{control} a weight too, e.g. 0.5")
    order = [int(control)] + sorted(v for v, w in weights.items() if w is not None and v != int(control))
    metric = {"kind": form.get("metric_kind", "thumbs")}
    if form.get("metric_name", "").strip():
        metric["name"] = form["metric_name"].strip()
    guardrails = {k: _number(form, k, f"the {k} guardrail") for k in GUARDRAIL_FIELDS}
    return {"prompt": name, "name": form.get("exp_name", "").strip() or None, "author": author, "metric": metric,
            "arms": [{"version": v, "weight": weights[v]} for v in order],
            "guardrails": {k: v for k, v in guardrails.items() if v is not None}}
