"""What one monitor check computes: a number, what it is compared with, and whether it fires.

Two sources of numbers:
- **time windows** over spans (`thumbs_down_rate`, `latency_p95` without a cluster, `eval_rate`):
  the last `window_s` seconds before the check, against the `window_s` before that (`relative`) or
  against the threshold alone (`absolute`). The spans are the project's, narrowed by the monitor's
  filter and prompt version; the numbers come from `store.metrics.summary`, for `eval_rate` from
  `store.eval_metrics` (the share of the `evaluator`'s results on those spans with the `label`,
  e.g. qa_correctness "incorrect"; a share rather than a mean score, so it works for evaluators
  without scores and names the verdict it watches).
- **an embedding analysis** (`drift`, and the other kinds scoped to a cluster): the newest finished
  analysis of the project (or the one the monitor is pinned to). The monitor reads that run; it does
  not start one, because UMAP + HDBSCAN is minutes of CPU at scale: schedule `tenbin analyze` (or
  POST /api/v1/projects/{p}/analyses) as often as drift should be watched. A cluster's `relative`
  comparison is against the whole production selection of the run.

The threshold means, per kind and comparison:

    kind               absolute                         relative
    thumbs_down_rate   rate > t        (0 < t < 1)      rate − reference rate > t   (0 < t < 1)
    eval_rate          label share > t (0 < t < 1)      share − reference share > t (0 < t < 1)
    latency_p95        p95 ms > t      (t > 0)          p95 / reference p95 > t     (t > 1)
    drift              a cluster's drift ratio > t; globally MMD² > t with p < DRIFT_ALPHA (both
                       comparisons alike; the drift ratio is production share ÷ baseline share)

With `group_by` (e.g. `metadata.task`, any `metrics.summary` grouping) a time-window monitor
checks every group on its own — each with `min_samples`, a relative one against the same group's
previous window — and fires naming the groups over the threshold; the evaluation's
`details.groups` keeps every group's numbers, and its value and n are the worst group's.

A check with fewer than `min_samples` samples (rated spans for thumbs, spans for latency, the
evaluator's results for eval_rate, points of the cluster for drift) — on either side of a relative comparison — is `insufficient_data`, so
1 thumbs-down out of 2 never fires.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from tenbin.store import analyses, eval_metrics, metrics
from tenbin.store.queries import SpanQuery

KINDS = ("thumbs_down_rate", "latency_p95", "drift", "eval_rate")
WINDOW_KINDS = ("thumbs_down_rate", "latency_p95", "eval_rate")
"""Kinds that can check time windows of spans (and so each group of a `group_by`)."""
RATE_KINDS = ("thumbs_down_rate", "eval_rate")
COMPARISONS = ("absolute", "relative")
EACH = "each"
"""`cluster` value: every cluster of the analysis; the worst one over the threshold is named."""
FIRING, OK, INSUFFICIENT, NO_DATA = "firing", "ok", "insufficient_data", "no_data"

DRIFT_ALPHA = 0.05
"""Global drift fires only when the analysis's permutation p-value is below this, too."""
_VALUE = {"thumbs_down_rate": "thumbs_down_rate", "latency_p95": "latency_p95_ms", "drift": "drift_ratio"}
_N = {"thumbs_down_rate": "thumbs", "latency_p95": "count", "drift": "n_production"}


def scope_filter(monitor: dict[str, Any]) -> str:
    """The monitor's filter, narrowed to its prompt (and version) when it has one."""
    parts = [f"({monitor['filter']})"] if (monitor.get("filter") or "").strip() else []
    if monitor.get("prompt_name"):
        parts.append(f"prompt_name == {json.dumps(monitor['prompt_name'])}")
        if monitor.get("prompt_version") is not None:
            parts.append(f"prompt_version == {json.dumps(str(monitor['prompt_version']))}")
    return " and ".join(parts)


def evaluate(engine: Engine, monitor: dict[str, Any], now_us: int) -> dict[str, Any]:
    """One check of `monitor` as of `now_us`: the evaluation row (status, numbers, message)."""
    if monitor["kind"] == "drift" or monitor.get("cluster") is not None:
        return _from_analysis(engine, monitor)
    return _from_windows(engine, monitor, now_us)


# --- time windows -------------------------------------------------------------------------------

def _row_numbers(kind: str, row: dict[str, Any]) -> tuple[float | None, int]:
    """The monitored number of one `metrics.summary` row and its sample count."""
    if kind == "thumbs_down_rate":
        rate = row["thumbs_up_rate"]
        return (None if rate is None else 1.0 - rate), int(row["thumbs_count"] or 0)
    return row["latency_p95_ms"], int(row["count"] or 0)


def _window_groups(engine: Engine, monitor: dict[str, Any], start_us: int,
                   end_us: int) -> dict[Any, tuple[float | None, int]]:
    """Numbers per group of the window (one entry, keyed None, without `group_by`)."""
    group_by = monitor.get("group_by")
    q = SpanQuery(monitor["project"], scope_filter(monitor), start_us, end_us)
    if monitor["kind"] == "eval_rate":
        rows, fraction = eval_metrics.result_counts(engine, q, group_by=group_by, evaluator=monitor["evaluator"])
        return eval_metrics.label_rates(rows, monitor["label"], fraction)
    rows = metrics.summary(engine, q, group_by=group_by)
    return {row.get("group"): _row_numbers(monitor["kind"], row) for row in rows}


def _from_windows(engine: Engine, monitor: dict[str, Any], now_us: int) -> dict[str, Any]:
    width = monitor["window_s"] * 1_000_000
    current = _window_groups(engine, monitor, now_us - width, now_us)
    previous = (_window_groups(engine, monitor, now_us - 2 * width, now_us - width)
                if monitor["comparison"] == "relative" else {})
    base = {"threshold": monitor["threshold"], "window_start_us": now_us - width, "window_end_us": now_us}
    if monitor.get("group_by"):
        return {**base, **_grouped(monitor, current, previous)}
    value, n = current.get(None, (None, 0))
    reference, reference_n = _reference(monitor, previous, None)
    out = {**base, "value": value, "n": n, "reference": reference, "reference_n": reference_n}
    return {**out, **decide(monitor, value, n, reference, reference_n, "the previous window")}


def _reference(monitor: dict[str, Any], previous: dict[Any, tuple[float | None, int]],
               group: Any) -> tuple[float | None, int | None]:
    """The group's numbers in the previous window (relative monitors; none: 0 samples)."""
    return previous.get(group, (None, 0)) if monitor["comparison"] == "relative" else (None, None)


def _grouped(monitor: dict[str, Any], current: dict[Any, tuple[float | None, int]],
             previous: dict[Any, tuple[float | None, int]]) -> dict[str, Any]:
    """Every group decided on its own; the evaluation carries the worst and fires naming each firing group."""
    group_by, decided = monitor["group_by"], []
    for group, (value, n) in current.items():
        reference, reference_n = _reference(monitor, previous, group)
        subject = f"{group_by} {json.dumps(group, ensure_ascii=False) if group is not None else '(none)'}"
        verdict = decide(monitor, value, n, reference, reference_n, "the previous window", subject)
        decided.append({"group": group, "value": value, "n": n, "reference": reference, "reference_n": reference_n,
                        **verdict})
    if not decided:
        return {"status": NO_DATA, "value": None, "n": 0, "reference": None, "reference_n": None,
                "message": f"no spans in the window to group by {group_by}", "details": {"group_by": group_by, "groups": []}}
    decided.sort(key=_rank)
    worst, firing = decided[0], [d for d in decided if d["status"] == FIRING]
    message = worst["message"]
    if firing:
        shown = "; ".join(d["message"] for d in firing[:5]) + ("; …" if len(firing) > 5 else "")
        message = f"{len(firing)} of {len(decided)} {group_by} groups fire: {shown}"
    return {**{k: worst[k] for k in ("status", "value", "n", "reference", "reference_n")}, "message": message,
            "details": {"group_by": group_by, "firing": [d["group"] for d in firing], "groups": decided}}


def _rank(entry: dict[str, Any]) -> tuple[int, float]:
    """Firing first, then ok, too few samples, no data; the highest value first within each."""
    order = {FIRING: 0, OK: 1, INSUFFICIENT: 2, NO_DATA: 3}
    return order[entry["status"]], -(entry["value"] if entry["value"] is not None else -1e300)


# --- analyses -----------------------------------------------------------------------------------

def _analysis(engine: Engine, monitor: dict[str, Any]) -> dict[str, Any] | None:
    if monitor.get("analysis_id") is not None:
        return analyses.get_analysis(engine, monitor["analysis_id"], monitor["project"])
    done = [a for a in analyses.list_analyses(engine, monitor["project"], limit=20) if a["status"] == "done"]
    return done[0] if done else None


def _cluster_numbers(kind: str, cluster: dict[str, Any]) -> tuple[float | None, int]:
    """A cluster's number and its sample count, over its production points (`cluster_metrics`)."""
    m = cluster.get("metrics") or {}
    return m.get(_VALUE[kind]), int(m.get(_N[kind]) or 0)


def _whole_numbers(kind: str, analysis: dict[str, Any]) -> tuple[float | None, int | None]:
    """The same number over every production point of the run (what a cluster is compared with)."""
    whole = (analysis.get("summary") or {}).get("production") or {}
    if kind == "drift" or not whole:
        return None, None
    return whole.get(_VALUE[kind]), int(whole.get(_N[kind]) or 0)


def _from_analysis(engine: Engine, monitor: dict[str, Any]) -> dict[str, Any]:
    analysis = _analysis(engine, monitor)
    base = {"threshold": monitor["threshold"], "value": None, "n": 0, "reference": None, "reference_n": None}
    if analysis is None:
        return {**base, "status": NO_DATA, "message": f"project {monitor['project']!r} has no finished analysis yet; "
                "run `tenbin analyze` (or POST /api/v1/projects/<project>/analyses) on a schedule"}
    base["analysis_id"] = analysis["id"]
    if monitor.get("cluster") is None:
        return {**base, **_global_drift(monitor, analysis)}
    reference, reference_n = _whole_numbers(monitor["kind"], analysis)
    candidates = [c for c in analyses.clusters(engine, analysis["id"]) if c["cluster"] != analyses.NOISE]
    if monitor["cluster"] != EACH:
        candidates = [c for c in candidates if c["cluster"] == int(monitor["cluster"])]
        if not candidates:
            return {**base, "status": NO_DATA, "message": f"analysis {analysis['id']} has no cluster {monitor['cluster']}"}
    decided = []
    for cluster in candidates:
        value, n = _cluster_numbers(monitor["kind"], cluster)
        name = f"cluster {cluster['cluster']}" + (f" ({cluster['label']})" if cluster.get("label") else "")
        verdict = decide(monitor, value, n, reference, reference_n, "the whole analysis", name)
        decided.append(({**base, "value": value, "n": n, "reference": reference, "reference_n": reference_n,
                         "cluster": cluster["cluster"], "report": cluster.get("report"), **verdict}, cluster))
    if not decided:
        return {**base, "status": NO_DATA, "message": f"analysis {analysis['id']} found no clusters"}
    return _worst(decided, analysis)


def _sides(analysis: dict[str, Any]) -> dict[str, Any]:
    """What the run compared, as it describes its two sides (a window, a dataset, a prompt version)."""
    params = analysis.get("params") or {}
    return {"production": params.get("production_side"), "baseline": params.get("baseline_side")}


def _worst(decided: list[tuple[dict[str, Any], dict[str, Any]]], analysis: dict[str, Any]) -> dict[str, Any]:
    """The firing cluster with the highest value; if none fires, the highest decisive one."""
    decided.sort(key=lambda d: _rank(d[0]))
    best, cluster = decided[0]
    best["details"] = {"label": cluster.get("label"), "size": cluster.get("size"), **_sides(analysis),
                       "clusters": [{k: e[k] for k in ("cluster", "status", "value", "n")} for e, _ in decided]}
    return best


def _global_drift(monitor: dict[str, Any], analysis: dict[str, Any]) -> dict[str, Any]:
    """The run's global drift statistic (MMD², see `analytics.drift`) against the threshold; it
    fires only when the permutation p-value is below DRIFT_ALPHA as well, so noise never does."""
    drift = analysis.get("drift") or {}
    value, p_value = drift.get("mmd2"), drift.get("p_value")
    n = int(analysis.get("n_production") or 0)
    verdict = decide({**monitor, "comparison": "absolute"}, value, n, None, None, "", "global")
    if verdict["status"] == FIRING and (p_value is None or p_value >= DRIFT_ALPHA):
        verdict = {"status": OK, "message": f"{verdict['message']}, but p = {p_value} is not below {DRIFT_ALPHA}"}
    elif p_value is not None and verdict["status"] in (FIRING, OK):
        verdict["message"] += f" (p = {p_value:.3g})"
    return {"value": value, "n": n, "reference_n": analysis.get("n_baseline"), "details": {"drift": drift, **_sides(analysis)},
            **verdict}


# --- the decision -------------------------------------------------------------------------------

def _fmt(kind: str, value: float | None) -> str:
    if value is None:
        return "–"
    if kind in RATE_KINDS:
        return f"{value:.0%}"
    if kind == "latency_p95":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    return f"{value:.2f}"


def _label(monitor: dict[str, Any], subject: str) -> str:
    kind = monitor["kind"]
    if kind == "drift":
        return "drift ratio" if subject.startswith("cluster") else "drift (MMD²)"
    if kind == "eval_rate":
        return f"{monitor['evaluator']} {json.dumps(monitor['label'], ensure_ascii=False)} rate"
    return {"thumbs_down_rate": "thumbs-down rate", "latency_p95": "latency p95"}[kind]


def decide(monitor: dict[str, Any], value: float | None, n: int, reference: float | None, reference_n: int | None,
           against: str, subject: str = "") -> dict[str, Any]:
    """Status and message for one number (see the module docstring for the threshold's meaning)."""
    kind, t, need = monitor["kind"], monitor["threshold"], monitor["min_samples"]
    what = f"{subject + ' ' if subject else ''}{_label(monitor, subject)}"
    if n < need or value is None:
        return {"status": INSUFFICIENT, "message": f"{what}: {n} samples, the monitor needs {need}"}
    relative = monitor["comparison"] == "relative" and kind != "drift"
    if relative and ((reference_n or 0) < need or reference is None):
        return {"status": INSUFFICIENT,
                "message": f"{what}: {against} has {reference_n or 0} samples, the monitor needs {need}"}
    if not relative:
        fires = value > t
        message = f"{what} {_fmt(kind, value)} (n={n}) {'is above' if fires else 'is within'} {_fmt(kind, t)}"
    elif kind in RATE_KINDS:
        fires = value - reference > t
        message = (f"{what} {_fmt(kind, value)} (n={n}) vs {_fmt(kind, reference)} in {against} (n={reference_n}): "
                   f"{value - reference:+.0%}, threshold +{t:.0%}")
    else:
        ratio = value / reference if reference else float("inf")
        fires = ratio > t
        message = (f"{what} {_fmt(kind, value)} (n={n}) is {ratio:.2f}× {against}'s {_fmt(kind, reference)} "
                   f"(n={reference_n}), threshold {t:g}×")
    return {"status": FIRING if fires else OK, "message": message}
