"""Segments of a stored analysis: the per-cluster metrics grouped by a metadata key, a span column or
a latency/token bucket, and the clusters inside one segment.

Dimensions: `metadata.<key>`, `prompt_name`, `prompt_version`, `prompt` (name@version), `status`,
and the buckets of `store.segments` (`latency_ms`, `prompt_tokens`, `total_tokens`, same edges as
the segments page). A segment is written `<dimension>:<value>`, e.g. `metadata.task:billing` or
`latency_ms:≥ 5 s` (a bucket by its label or its position, `latency_ms:5`). Each row carries the
filter-language expression selecting its spans, so it links to the traces list.

Metrics and problem scores inside a segment are measured against the whole run (all production
points), so a cluster's numbers in `clusters_in_segment` read on the same scale as the run's table.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tenbin.analytics.cluster_metrics import (
    Frame,
    Whole,
    cluster_table,
    group_metrics,
    problem_score,
)
from tenbin.errors import InvalidInput
from tenbin.store import analyses as store
from tenbin.store.analysis_inputs import point_facts
from tenbin.store.segments import BUCKET_EDGES, buckets, value_filter

COLUMNS = ("prompt_name", "prompt_version", "status")
DIMENSIONS_HELP = f"metadata.<key>, prompt, {', '.join(COLUMNS)} or a bucket of {', '.join(BUCKET_EDGES)}"


def _bucket_keys(values: list[Any], dimension: str) -> tuple[list[str | None], list[str]]:
    edges, labels = BUCKET_EDGES[dimension], [b.label for b in buckets(dimension)]
    keys = [labels[int(np.searchsorted(edges, v, side="right"))] if v is not None else
            (labels[-1] if dimension != "latency_ms" else None) for v in values]
    return keys, labels


def _hashable(value: Any) -> Any:
    """Metadata values as segment keys: lists and objects by their JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def segment_keys(facts: dict[str, list[Any]], dimension: str) -> tuple[list[Any], list[str] | None]:
    """Each point's segment value under `dimension`, and for buckets the labels in order."""
    if dimension.startswith("metadata.") and len(dimension) > len("metadata."):
        key = dimension[len("metadata."):]
        return [_hashable(m.get(key)) if isinstance(m, dict) else None for m in facts["metadata"]], None
    if dimension == "prompt":
        return [f"{n}@{v}" if n else None for n, v in zip(facts["prompt_name"], facts["prompt_version"])], None
    if dimension in COLUMNS:
        return list(facts[dimension]), None
    if dimension in BUCKET_EDGES:
        return _bucket_keys(facts[dimension], dimension)
    raise InvalidInput(f"cannot segment by {dimension!r}; use {DIMENSIONS_HELP}")


def _filter(dimension: str, value: Any) -> str:
    if dimension in BUCKET_EDGES:
        return next(b.filter for b in buckets(dimension) if b.label == value)
    if dimension == "prompt":
        if value is None:
            return "prompt_name is None"
        name, _, version = str(value).rpartition("@")
        return f"{value_filter('prompt_name', name)} and {value_filter('prompt_version', version)}"
    return value_filter(dimension, value)


def _load(engine: Engine, analysis_id: int) -> tuple[dict[str, list[Any]], Frame, Whole, np.ndarray]:
    store.get_analysis(engine, analysis_id)
    facts, sides, clusters = point_facts(engine, analysis_id)
    frame = Frame.build(facts, sides)
    return facts, frame, Whole.of(frame), np.array(clusters, dtype=np.int32)


def segments(engine: Engine, analysis_id: int, by: str, min_support: int | None = None) -> dict[str, Any]:
    """One row per segment value: the cluster metrics of its points, its problem score, its filter."""
    facts, frame, whole, _ = _load(engine, analysis_id)
    keys, order = segment_keys(facts, by)
    support = min_support or store.get_analysis(engine, analysis_id)["params"].get("min_support", 10)
    values = order if order is not None else sorted(set(keys), key=lambda v: (v is None, str(v)))
    rows = []
    for value in values:
        mask = np.array([k == value for k in keys], dtype=bool)
        if not mask.any():
            continue
        metrics = group_metrics(frame, mask, whole)
        score, parts = problem_score(metrics, whole, support)
        rows.append({"segment": value, "filter": _filter(by, value), "problem_score": score,
                     "metrics": {**metrics, "problem_parts": parts}})
    if order is None:
        rows.sort(key=lambda r: -r["metrics"]["size"])
    return {"analysis_id": analysis_id, "by": by, "segments": rows, "whole": whole.summary()}


def _parse(segment: str, labels: list[str] | None) -> tuple[str, str]:
    dimension, sep, value = segment.partition(":")
    if not sep or not dimension or not value:
        raise InvalidInput(f"segment {segment!r} must be <dimension>:<value>, e.g. metadata.task:billing")
    if labels is not None and value not in labels:
        if value.isdigit() and int(value) < len(labels):
            return dimension, labels[int(value)]
        raise InvalidInput(f"{dimension} has no bucket {value!r}; buckets are: "
                           + ", ".join(f"{i} = {b}" for i, b in enumerate(labels)))
    return dimension, value


def clusters_in_segment(engine: Engine, analysis_id: int, segment: str) -> dict[str, Any]:
    """The run's clusters restricted to one segment's points, ranked by problem score in it."""
    dimension = segment.partition(":")[0]
    facts, frame, whole, labels = _load(engine, analysis_id)
    keys, order = segment_keys(facts, dimension)
    dimension, value = _parse(segment, order)
    inside = np.array([k is not None and str(k) == value for k in keys], dtype=bool)
    if not inside.any():
        seen = sorted({str(k) for k in keys if k is not None})[:20]
        raise InvalidInput(f"no point of analysis {analysis_id} is in segment {segment!r}; "
                           f"values of {dimension} are: {', '.join(seen) or 'none'}")
    support = store.get_analysis(engine, analysis_id)["params"].get("min_support", 10)
    named = {c["cluster"]: c["label"] for c in store.clusters(engine, analysis_id)}
    rows = [{**r, "label": named.get(r["cluster"])} for r in cluster_table(frame, labels, whole, support, inside)]
    return {"analysis_id": analysis_id, "segment": segment, "filter": _filter(dimension, value),
            "size": int(inside.sum()), "clusters": rows}
