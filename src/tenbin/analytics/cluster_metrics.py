"""Per-group metrics of an analysis (a group is a cluster, a segment, or both) and the problem score.

Every group gets: its size on each side; its share of production and of baseline points; the drift
ratio (production share ÷ baseline share, each count +0.5 so a topic absent from one side gives a
large finite ratio rather than ∞ or 0) with a Fisher exact test p-value; over its production
points, thumbs-down rate and its lift over the whole run's rate, error rate, mean of each feedback
score, latency p50/p95, mean prompt and completion tokens (the same over its baseline points sit
under `baseline`, so a report can say "slow now, fast before"); and over all its points, the top
metadata values and prompt versions, each with its share in the group and lift over the run.

Problem score (higher is worse; documented in README "Embedding analytics"):

    badness = down_excess + error_excess + score_gap + ½·latency_excess + ½·drift_term
    score   = badness × (1 − exp(−support / min_support))      [None when support < min_support]

- down_excess = max(0, r̃/r − 1): r̃ is the group's thumbs-down rate shrunk towards the whole
  production rate r by `PRIOR_VOTES` pseudo-votes (10 votes at rate r), so 3 downs out of 3 do
  not outrank 80 out of 100. error_excess is the same for the error (status ERROR) rate.
- score_gap = mean over feedback scores of max(0, (whole mean − group mean) / whole std).
- latency_excess = max(0, log₂(group p50 / whole p50)).
- drift_term = min(|log₂ drift ratio|, 4) / 4, at most 1: a new or vanished topic is worth a
  look, but bad answers count for more.
- support = the group's production points; below `min_support` the score is None (unranked), and
  the size factor fades small groups in rather than letting size dominate large ones.
The "whole" is every production point of the run, noise included. Noise (cluster -1) is never ranked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PRIOR_VOTES = 10.0
MIN_SUPPORT = 10
TOP_VALUES = 3
MAX_CATEGORIES = 50
"""Metadata keys with more distinct values than this (ids, free text) are not summarised."""


@dataclass
class Frame:
    """The run's points column-wise: one entry per point (a span on both sides is two points)."""

    production: np.ndarray
    latency: np.ndarray
    prompt_tokens: np.ndarray
    completion_tokens: np.ndarray
    error: np.ndarray
    thumbs_n: np.ndarray
    thumbs_down: np.ndarray
    prompt: list[str | None]
    metadata: list[dict[str, Any]]
    scores: list[dict[str, float]]
    span_ids: list[str]

    @classmethod
    def build(cls, facts: dict[str, list[Any]], sides: Sequence[str]) -> Frame:
        def numbers(key: str) -> np.ndarray:
            return np.array([np.nan if v is None else float(v) for v in facts[key]], dtype=np.float64)

        prompts = [f"{n}@{v}" if n else None for n, v in zip(facts["prompt_name"], facts["prompt_version"])]
        return cls(
            production=np.array([s == "production" for s in sides], dtype=bool), latency=numbers("latency_ms"),
            prompt_tokens=numbers("prompt_tokens"), completion_tokens=numbers("completion_tokens"),
            error=np.array([s == "ERROR" for s in facts["status"]], dtype=bool),
            thumbs_n=np.array(facts["thumbs_n"], dtype=np.int64), thumbs_down=np.array(facts["thumbs_down"], dtype=np.int64),
            prompt=prompts, metadata=[m if isinstance(m, dict) else {} for m in facts["metadata"]],
            scores=list(facts["scores"]), span_ids=list(facts["span_id"]))

    def __len__(self) -> int:
        return len(self.production)


def _pct(values: np.ndarray, q: float) -> float | None:
    values = values[~np.isnan(values)]
    return float(np.percentile(values, q)) if len(values) else None


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _score_means(frame: Frame, rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Per score name: mean, std and count over `rows`."""
    by_name: dict[str, list[float]] = {}
    for i in rows:
        for name, value in frame.scores[i].items():
            by_name.setdefault(name, []).append(value)
    return {n: {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)} for n, v in sorted(by_name.items())}


def side_metrics(frame: Frame, mask: np.ndarray) -> dict[str, Any]:
    """Feedback, errors, latency and tokens over the points in `mask`."""
    rows = np.flatnonzero(mask)
    votes, downs = int(frame.thumbs_n[rows].sum()), int(frame.thumbs_down[rows].sum())
    return {
        "count": len(rows), "thumbs": votes, "thumbs_down": downs,
        "thumbs_down_rate": downs / votes if votes else None,
        "error_rate": float(frame.error[rows].mean()) if len(rows) else None,
        "latency_p50_ms": _pct(frame.latency[rows], 50), "latency_p95_ms": _pct(frame.latency[rows], 95),
        "prompt_tokens_mean": _mean(frame.prompt_tokens[rows]),
        "completion_tokens_mean": _mean(frame.completion_tokens[rows]),
        "scores": _score_means(frame, rows),
    }


def categorical_keys(frame: Frame) -> list[str]:
    """Metadata keys with scalar values and at most MAX_CATEGORIES distinct values in the run."""
    values: dict[str, set[Any]] = {}
    for meta in frame.metadata:
        for key, value in meta.items():
            if isinstance(value, str | int | float | bool) and len(values.setdefault(key, set())) <= MAX_CATEGORIES:
                values[key].add(value)
    return sorted(k for k, v in values.items() if len(v) <= MAX_CATEGORIES)


def _top(values: list[Any], whole: Counter[Any], total: int) -> list[dict[str, Any]]:
    counts = Counter(v for v in values if v is not None)
    n = len(values) or 1
    return [{"value": v, "share": c / n, "lift": (c / n) / (whole[v] / total) if whole[v] else None}
            for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:TOP_VALUES]]


@dataclass
class Whole:
    """The run-wide references groups are compared with."""

    n_production: int
    n_baseline: int
    production: dict[str, Any]
    keys: list[str]
    meta_counts: dict[str, Counter[Any]]
    prompt_counts: Counter[Any]

    @classmethod
    def of(cls, frame: Frame) -> Whole:
        keys = categorical_keys(frame)
        return cls(int(frame.production.sum()), int((~frame.production).sum()), side_metrics(frame, frame.production),
                   keys, {k: Counter(m.get(k) for m in frame.metadata) for k in keys}, Counter(frame.prompt))

    def summary(self) -> dict[str, Any]:
        return {"n_production": self.n_production, "n_baseline": self.n_baseline, "production": self.production,
                "metadata_keys": self.keys}


def _drift(n_prod: int, n_base: int, whole: Whole) -> dict[str, Any]:
    if whole.n_baseline == 0 or whole.n_production == 0:
        return {"drift_ratio": None, "log2_drift": None, "drift_p_value": None}
    from scipy.stats import fisher_exact

    ratio = ((n_prod + 0.5) / (whole.n_production + 1)) / ((n_base + 0.5) / (whole.n_baseline + 1))
    table = [[n_prod, whole.n_production - n_prod], [n_base, whole.n_baseline - n_base]]
    return {"drift_ratio": ratio, "log2_drift": math.log2(ratio), "drift_p_value": float(fisher_exact(table)[1])}


def group_metrics(frame: Frame, mask: np.ndarray, whole: Whole) -> dict[str, Any]:
    """The metrics row of the points in `mask` (see the module docstring)."""
    prod, base = mask & frame.production, mask & ~frame.production
    n_prod, n_base = int(prod.sum()), int(base.sum())
    rows = np.flatnonzero(mask)
    total = len(frame) or 1
    mine, ref = side_metrics(frame, prod), whole.production["thumbs_down_rate"]
    lift = mine["thumbs_down_rate"] / ref if ref and mine["thumbs_down_rate"] is not None else None
    return {
        "size": len(rows), "n_production": n_prod, "n_baseline": n_base,
        "share_production": n_prod / whole.n_production if whole.n_production else None,
        "share_baseline": n_base / whole.n_baseline if whole.n_baseline else None,
        **_drift(n_prod, n_base, whole), **mine, "thumbs_down_lift": lift,
        "metadata": {k: _top([frame.metadata[i].get(k) for i in rows], whole.meta_counts[k], total) for k in whole.keys},
        "prompt_versions": _top([frame.prompt[i] for i in rows], whole.prompt_counts, total),
        "baseline": side_metrics(frame, base),
    }


def _excess(events: int, n: int, whole_rate: float | None) -> float:
    if not whole_rate or n == 0:
        return 0.0
    shrunk = (events + PRIOR_VOTES * whole_rate) / (n + PRIOR_VOTES)
    return max(0.0, shrunk / whole_rate - 1.0)


def _score_gap(group: dict[str, Any], whole: dict[str, Any]) -> float:
    gaps = []
    for name, ref in whole["scores"].items():
        mine = group["scores"].get(name)
        if mine and mine["n"] >= 5 and ref["std"] > 0:
            gaps.append(max(0.0, (ref["mean"] - mine["mean"]) / ref["std"]))
    return float(np.mean(gaps)) if gaps else 0.0


def problem_score(m: dict[str, Any], whole: Whole, min_support: int = MIN_SUPPORT) -> tuple[float | None, dict[str, float]]:
    """The score and its parts (see the module docstring); None below the minimum support."""
    ref = whole.production
    errors = round((m["error_rate"] or 0.0) * m["count"])
    latency = 0.0
    if m["latency_p50_ms"] and ref["latency_p50_ms"]:
        latency = max(0.0, math.log2(m["latency_p50_ms"] / ref["latency_p50_ms"]))
    parts = {
        "down_excess": _excess(m["thumbs_down"], m["thumbs"], ref["thumbs_down_rate"]),
        "error_excess": _excess(errors, m["count"], ref["error_rate"]),
        "score_gap": _score_gap(m, ref),
        "latency_excess": latency,
        "drift_term": min(abs(m["log2_drift"]), 4.0) / 4.0 if m["log2_drift"] is not None else 0.0,
    }
    if m["n_production"] < min_support:
        return None, parts
    badness = (parts["down_excess"] + parts["error_excess"] + parts["score_gap"]
               + 0.5 * parts["latency_excess"] + 0.5 * parts["drift_term"])
    return badness * (1.0 - math.exp(-m["n_production"] / min_support)), parts


def cluster_table(frame: Frame, labels: np.ndarray, whole: Whole, min_support: int = MIN_SUPPORT,
                  within: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per cluster (noise included) of the points `within` (default: all): metrics, problem
    score and its parts, and rank (1 = worst; unranked: noise and clusters below the minimum
    support), worst first."""
    within = np.ones(len(labels), dtype=bool) if within is None else within
    rows = []
    for c in sorted(int(c) for c in np.unique(labels[within])):
        metrics = group_metrics(frame, (labels == c) & within, whole)
        score, parts = problem_score(metrics, whole, min_support)
        rows.append({"cluster": c, "size": metrics["size"], "metrics": {**metrics, "problem_parts": parts},
                     "problem_score": None if c == -1 else score})
    ranked = sorted((r for r in rows if r["problem_score"] is not None), key=lambda r: (-r["problem_score"], r["cluster"]))
    for rank, r in enumerate(ranked, start=1):
        r["rank"] = rank
    unranked = [r for r in rows if r["problem_score"] is None]
    for r in unranked:
        r["rank"] = None
    return ranked + unranked
