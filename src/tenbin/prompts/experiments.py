"""Server-side A/B experiments between versions of one prompt, and per-version performance.

    create(engine, "shop", {"prompt": "greeting", "arms": [{"version": 1, "weight": 0.5},
           {"version": 2, "weight": 0.5}], "metric": {"kind": "thumbs"}})
    assign(engine, "shop", "greeting", unit="user-7")      # the unit's arm's version, exposure logged
    results(engine, "shop", experiment_id)                 # live numbers per arm (see `stats`)
    stop(engine, "shop", experiment_id, promote="winner")  # moves `production`, audited

Arms name versions, not labels: moving a label while an experiment runs changes nothing for its
units. Versions are immutable and never deleted one by one; deleting the prompt deletes its
experiments. Promotion refuses when `production` was moved by someone else after the experiment
started (that move was deliberate; pass force to override), and "winner" only promotes an arm the
sequential test found significantly better than the control, or the control when every other arm
is significantly worse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.prompts import registry, stats
from tenbin.store import metrics
from tenbin.store import prompt_experiments as store
from tenbin.store.queries import SpanQuery

METRIC_KINDS = {"thumbs": "thumbs-up rate of feedback `name` (default thumbs)",
                "score": "mean of feedback score `name` from any source",
                "eval": "mean of eval score `name` (feedback from source llm or code)"}
GUARDRAILS = {"latency_p95_ms": "p95 latency of the arm's LLM spans, in ms",
              "tokens_per_span": "mean total tokens per LLM span", "error_rate": "share of LLM spans with status ERROR"}
PRODUCTION = "production"


def _check_arms(engine: Engine, project: str, prompt: str, arms: Any) -> list[dict[str, Any]]:
    if not isinstance(arms, list) or len(arms) < 2:
        raise InvalidInput('an experiment needs at least two arms: [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]')
    out = []
    for arm in arms:
        if not isinstance(arm, Mapping) or set(arm) - {"version", "weight", "prompt"}:
            raise InvalidInput(f"arm {arm!r} must be an object with version and weight (and optionally prompt)")
        if arm.get("prompt", prompt) != prompt:
            raise InvalidInput(f"arm {arm!r} is on prompt {arm['prompt']!r}; every arm must be a version of {prompt!r}")
        version, weight = arm.get("version"), arm.get("weight")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight > 0:
            raise InvalidInput(f"arm weight {weight!r} must be a number above 0")
        registry.get(engine, project, prompt, version=version)
        out.append({"version": version, "weight": float(weight)})
    total = math.fsum(a["weight"] for a in out)
    if abs(total - 1) > 1e-9:
        raise InvalidInput(f"arm weights sum to {total:g}; they must add up to 1 (e.g. 0.5 and 0.5)")
    versions = [a["version"] for a in out]
    if len(set(versions)) != len(versions):
        raise InvalidInput(f"arms repeat a version ({versions}); give each version one arm")
    return out


def _check_metric(metric: Any) -> dict[str, str]:
    metric = dict(metric or {"kind": "thumbs"})
    kind = metric.get("kind")
    if kind not in METRIC_KINDS or set(metric) - {"kind", "name"}:
        raise InvalidInput(f"metric {metric!r} must be {{'kind': k, 'name': feedback name}} with kind one of: "
                           + "; ".join(f"{k} ({v})" for k, v in METRIC_KINDS.items()))
    name = metric.get("name") or ("thumbs" if kind == "thumbs" else None)
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"a {kind} metric needs the feedback name it averages, e.g. {{'kind': '{kind}', 'name': 'helpfulness'}}")
    return {"kind": kind, "name": name}


def _check_guardrails(guardrails: Any) -> dict[str, float]:
    guardrails = dict(guardrails or {})
    unknown = sorted(set(guardrails) - set(GUARDRAILS))
    if unknown:
        raise InvalidInput(f"unknown guardrail(s) {unknown}; guardrails are maxima of: "
                           + "; ".join(f"{k} ({v})" for k, v in GUARDRAILS.items()))
    for key, value in guardrails.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"guardrail {key} must be a number ≥ 0 (its maximum); got {value!r}")
    return {k: float(v) for k, v in guardrails.items()}


def create(engine: Engine, project: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and start an experiment; nothing is stored when any part is wrong."""
    unknown = sorted(set(data) - {"prompt", "name", "arms", "metric", "guardrails", "author"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; an experiment has prompt, name, arms, metric, guardrails, author")
    prompt = registry.check_name(data.get("prompt"))
    fields = {"arms": _check_arms(engine, project, prompt, data.get("arms")), "metric": _check_metric(data.get("metric")),
              "guardrails": _check_guardrails(data.get("guardrails")), "author": data.get("author"),
              "name": str(data.get("name") or f"{prompt} A/B")[:200]}
    return store.create(engine, project, prompt, fields)


def assign(engine: Engine, project: str, prompt: str, unit: str) -> dict[str, Any]:
    """The version `unit` gets: its arm's while an experiment runs (exposure logged), else production."""
    if not unit or len(unit) > 200:
        raise InvalidInput("unit must be a user or session id of 1 to 200 characters")
    experiment = store.running_for(engine, project, prompt)
    if experiment is None:
        return {**registry.get(engine, project, prompt, label=PRODUCTION), "experiment": None}
    arms = experiment["arms"]
    arm = stats.assign(experiment["id"], unit, [a["weight"] for a in arms])
    store.expose(engine, experiment["id"], unit, arm, arms[arm]["version"])
    version = registry.get(engine, project, prompt, version=arms[arm]["version"])
    return {**version, "experiment": {"id": experiment["id"], "name": experiment["name"], "arm": arm}}


def results(engine: Engine, project: str, experiment_id: int) -> dict[str, Any]:
    """Live results: per arm n, metric ± 95% interval, P(best), guardrails; mSPRT and SRM."""
    exp = store.get(engine, project, experiment_id)
    versions, metric = [a["version"] for a in exp["arms"]], exp["metric"]
    window = (exp["started_us"], exp["ended_us"] or store.now_us() + 1)
    raw = store.arm_metric(engine, project, exp["prompt"], versions, window, metric["name"], metric["kind"])
    data = [stats.ArmData(r["n"], r["total"], r["total_sq"]) for r in raw]
    rate = metric["kind"] == "thumbs"
    if rate:
        p_best = stats.prob_best_rates([d.total for d in data], [d.n for d in data])
    else:
        p_best = stats.prob_best_means([d.mean for d in data], [math.sqrt(d.var / d.n) if d.n > 1 else 1e6 for d in data])
    tests = stats.sequential(data, rate)
    exposures = store.exposure_counts(engine, experiment_id, len(versions))
    arms = [{**arm, "arm": i, "exposures": exposures[i], "traces": raw[i]["traces"],
             "metric": _metric(data[i], rate), "p_best": p_best[i] if data[i].n else None, "test": tests[i],
             "guardrails": _guardrails(engine, project, exp, arm["version"], window)}
            for i, arm in enumerate(exp["arms"])]
    return {**exp, "arms": arms, "rate": rate, "alpha": stats.ALPHA,
            "srm": {**stats.srm(exposures, [a["weight"] for a in exp["arms"]]), "threshold": stats.SRM_P},
            "winner": _winner(arms)}


def _metric(d: stats.ArmData, rate: bool) -> dict[str, Any]:
    interval = stats.wilson(d.total, d.n) if rate else stats.mean_interval(d.n, d.mean, d.var)
    return {"n": d.n, "value": d.mean if d.n else None, "low": interval[0] if interval else None,
            "high": interval[1] if interval else None}


def _guardrails(engine: Engine, project: str, exp: Mapping[str, Any], version: int,
                window: tuple[int, int]) -> dict[str, Any]:
    q = SpanQuery(project, f'prompt_name == "{exp["prompt"]}" and prompt_version == "{version}" and kind == "LLM"', *window)
    row = (metrics.summary(engine, q) or [{}])[0]
    count = row.get("count") or 0
    values = {"spans": count, "latency_p95_ms": row.get("latency_p95_ms"), "error_rate": row.get("error_rate") if count else None,
              "tokens_per_span": (row.get("total_tokens") or 0) / count if count else None}
    limits = exp["guardrails"] or {}
    breached = [k for k, limit in limits.items() if values.get(k) is not None and values[k] > limit]
    return {**values, "limits": limits, "breached": breached}


def _winner(arms: list[dict[str, Any]]) -> int | None:
    """The version the sequential test supports promoting, if any (see the module docstring)."""
    better = [a for a in arms[1:] if a["test"]["significant"] and a["test"]["difference"] > 0]
    if better:
        return max(better, key=lambda a: a["metric"]["value"])["version"]
    if all(a["test"]["significant"] and a["test"]["difference"] < 0 for a in arms[1:]):
        return arms[0]["version"]
    return None


def stop(engine: Engine, project: str, experiment_id: int, promote: int | str | None = None, *,
         author: str | None = None, force: bool = False) -> dict[str, Any]:
    """Close the experiment; with `promote` (a version of an arm, or "winner") move `production` to it."""
    live = results(engine, project, experiment_id)
    if live["status"] != store.RUNNING:
        raise InvalidInput(f"experiment {experiment_id} is already stopped (promoted: v{live['promoted_version']})"
                           if live["promoted_version"] else f"experiment {experiment_id} is already stopped")
    version = _promotion(engine, project, live, promote, force)
    if not store.close(engine, experiment_id, version):
        raise InvalidInput(f"experiment {experiment_id} was stopped by someone else just now")
    if version is not None:
        registry.move_label(engine, project, live["prompt"], PRODUCTION, version, author=author,
                            reason=f"winner of experiment {experiment_id} ({live['name']})")
    return store.get(engine, project, experiment_id)


def _promotion(engine: Engine, project: str, live: Mapping[str, Any], promote: int | str | None,
               force: bool) -> int | None:
    if promote is None:
        return None
    versions = [a["version"] for a in live["arms"]]
    if promote == "winner":
        if live["winner"] is None:
            raise InvalidInput("no arm is significantly better yet (sequential test at alpha "
                               f"{live['alpha']}); keep it running, or promote a version by number")
        promote = live["winner"]
    if promote not in versions:
        raise InvalidInput(f"version {promote!r} is not an arm of this experiment; arms are versions {versions}")
    moved = [m for m in registry.audit_log(engine, project, live["prompt"])
             if m["label"] == PRODUCTION and m["moved_us"] >= live["started_us"]]
    if moved and not force:
        raise InvalidInput(f"`production` was moved to v{moved[0]['to_version']} by {moved[0]['author'] or 'someone'} "
                           "after this experiment started; check with them, then promote with force=true")
    return int(promote)


def performance(engine: Engine, project: str, prompt: str, bucket_seconds: int | None = 3600,
                start_us: int | None = None, end_us: int | None = None) -> list[dict[str, Any]]:
    """Per (time bucket, version): spans, latency, tokens, errors, thumbs-up rate, cost, eval scores.
    With `bucket_seconds=None`, one row per version over the whole window (no `bucket`)."""
    registry.check_name(prompt)
    q = SpanQuery(project, f'prompt_name == "{prompt}"', start_us, end_us)
    base = metrics.summary(engine, q, bucket_seconds=bucket_seconds, group_by="prompt_version")
    width_us = bucket_seconds * 1_000_000 if bucket_seconds else _ALL_TIME_US
    extras = {(r["bucket"] if bucket_seconds else None, r["version"]): r for r in
              store.version_extras(engine, project, prompt, width_us, start_us, end_us)}
    return [{**{k: v for k, v in r.items() if k != "group"}, "version": r["group"],
             "cost": extras.get((r.get("bucket"), r["group"]), {}).get("cost"),
             "evals": extras.get((r.get("bucket"), r["group"]), {}).get("evals", {})} for r in base]


_ALL_TIME_US = 1 << 62
"""A bucket wider than any timestamp: every span falls in bucket 0."""


get = store.get
list_all = store.list_all
