"""Compare two experiments over the same dataset: per-example differences and aggregate deltas.

Examples are paired by id (two versions of a dataset share the examples they both hold). For each
evaluator, over the examples both runs scored, the delta is B − A per example; the aggregate is the
mean delta with a 95% **paired t** interval (mean ± t(0.975, n−1) · sd / √n over the per-example
deltas). Paired, because both runs saw the same examples: the interval reflects how consistently B
beats A, not how hard the examples are. With fewer than two pairs there is no interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tenbin.errors import InvalidInput

CONFIDENCE = 0.95


def paired_interval(deltas: Sequence[float]) -> tuple[float | None, float | None]:
    """The 95% paired t interval of the mean of `deltas` (None, None below two values)."""
    n = len(deltas)
    if n < 2:
        return None, None
    from scipy.stats import t  # imported here: scipy costs the server memory at start

    mean = sum(deltas) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in deltas) / (n - 1))
    half = float(t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def _by_evaluator(row: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {s["evaluator"]: s for s in (row or {}).get("scores") or []}


def _example_row(example_id: int, a: Mapping[str, Any] | None, b: Mapping[str, Any] | None,
                 names: Sequence[str]) -> dict[str, Any]:
    sa, sb = _by_evaluator(a), _by_evaluator(b)
    base = a or b or {}
    scores = {}
    for name in names:
        x, y = sa.get(name, {}), sb.get(name, {})
        a_score, b_score = x.get("score"), y.get("score")
        scores[name] = {"a": a_score, "b": b_score, "a_label": x.get("label"), "b_label": y.get("label"),
                        "delta": None if a_score is None or b_score is None else b_score - a_score,
                        "label_changed": bool(x and y and x.get("label") != y.get("label"))}
    return {"example_id": example_id, "input": base.get("input"), "expected": base.get("expected"),
            "a_output": (a or {}).get("output"), "b_output": (b or {}).get("output"),
            "a_error": (a or {}).get("error"), "b_error": (b or {}).get("error"), "scores": scores}


def _aggregate(rows: Sequence[Mapping[str, Any]], name: str) -> dict[str, Any]:
    pairs = [(r["scores"][name]["a"], r["scores"][name]["b"]) for r in rows if r["scores"][name]["delta"] is not None]
    deltas = [b - a for a, b in pairs]
    low, high = paired_interval(deltas)
    n = len(pairs)
    return {"evaluator": name, "n": n, "mean_a": sum(a for a, _ in pairs) / n if n else None,
            "mean_b": sum(b for _, b in pairs) / n if n else None, "delta": sum(deltas) / n if n else None,
            "ci_low": low, "ci_high": high, "method": "paired t, 95%",
            "labels_changed": sum(1 for r in rows if r["scores"][name]["label_changed"])}


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Side by side rows and per-evaluator aggregate deltas (B − A) of two stored experiments."""
    if a["dataset"] != b["dataset"]:
        raise InvalidInput(f"experiments {a['id']} and {b['id']} ran on different datasets ({a['dataset']!r} and "
                           f"{b['dataset']!r}); compare runs over the same dataset")
    ra = {r["example_id"]: r for r in a["results"]}
    rb = {r["example_id"]: r for r in b["results"]}
    names = sorted({s["evaluator"] for r in [*a["results"], *b["results"]] for s in r.get("scores") or []})
    rows = [_example_row(i, ra.get(i), rb.get(i), names) for i in sorted(ra.keys() | rb.keys())]
    head = ("id", "name", "dataset", "dataset_version", "task", "summary", "created_us")
    return {"a": {k: a.get(k) for k in head}, "b": {k: b.get(k) for k in head},
            "aggregates": [_aggregate(rows, n) for n in names], "rows": rows,
            "only_in_a": sorted(ra.keys() - rb.keys()), "only_in_b": sorted(rb.keys() - ra.keys()),
            "changed_labels": [{"example_id": r["example_id"], "evaluator": n, "a": s["a_label"], "b": s["b_label"]}
                               for r in rows for n, s in r["scores"].items() if s["label_changed"]]}
