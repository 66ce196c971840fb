"""The embeddings page's `points.json`: the run's points in the shared column-wise format
(`analytics.point_columns`, the same function as GET /api/v1/analyses/{id}/points) plus the
drift-over-time series, without the columns the scatter does not draw (`UNDRAWN`: span ids,
start times and latencies are 40% of a gzipped run; the timeline is computed from them first).

Drift over time: the store keeps one global drift per run, not per time bucket, so the chart
shows, per time bucket, each chosen cluster's share of the spans in that bucket (baseline and
production alike, a span on both sides counted once). A topic that only appears in production
rises from zero where production starts; a drifting one bends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from tenbin.analytics import point_columns
from tenbin.store import analyses as store

MAX_META_KEYS = 6
"""Metadata keys offered as colourings (the run's categorical keys, first ones)."""
NICE_BUCKETS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400,
                14 * 86400, 30 * 86400)
UNDRAWN = ("span_id", "start_s", "latency_ms")
POINTS_PER_BUCKET, MIN_BUCKETS, MAX_BUCKETS = 30, 4, 60
"""Drift-over-time buckets: about this many spans per bucket, within these bounds."""


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def bucket_seconds(start_s: int, end_s: int, n: int) -> int:
    """The smallest nice bucket giving at most n / POINTS_PER_BUCKET buckets (MIN_BUCKETS..MAX_BUCKETS),
    so a share is not computed over a handful of spans."""
    target = min(MAX_BUCKETS, max(MIN_BUCKETS, n // POINTS_PER_BUCKET))
    return next((b for b in NICE_BUCKETS if (end_s - start_s) / b <= target), NICE_BUCKETS[-1])


def timeline(data: dict[str, Any], chosen: Sequence[int]) -> dict[str, Any]:
    """Per time bucket, the share of the bucket's spans in each chosen cluster (see the module
    docstring), and the production side's time range for shading; from the format's columns."""
    if not data["n"]:
        return {"x": [], "series": [], "production": None, "bucket_seconds": None}
    origin = int(datetime.fromisoformat(data["start_origin"]).timestamp())
    first: dict[str, tuple[int, int]] = {}
    for span, start, cluster in zip(data["span_id"], data["start_s"], data["cluster"], strict=True):
        first.setdefault(span, (origin + start, cluster))
    starts = [s for s, _ in first.values()]
    bucket = bucket_seconds(min(starts), max(starts), len(starts))
    totals: Counter[int] = Counter()
    per: dict[int, Counter[int]] = {c: Counter() for c in chosen}
    for start, cluster in first.values():
        totals[start // bucket] += 1
        if cluster in per:
            per[cluster][start // bucket] += 1
    buckets = sorted(totals)
    production = data["sides"].index("production")
    prod = [origin + s for s, side in zip(data["start_s"], data["side"], strict=True) if side == production]
    return {"x": [_iso(b * bucket + bucket // 2) for b in buckets], "bucket_seconds": bucket,
            "totals": [totals[b] for b in buckets],
            "series": [{"cluster": c, "share": [per[c][b] / totals[b] for b in buckets]} for c in chosen],
            "production": [_iso(min(prod)), _iso(max(prod))] if prod else None}


def timeline_clusters(clusters: Sequence[dict[str, Any]], top: int = 5) -> list[int]:
    """The clusters the drift chart follows: the `top` worst problems plus the most drifted one."""
    ranked = [c["cluster"] for c in clusters if c["rank"] is not None][:top]
    drifted = [c for c in clusters if c["cluster"] != -1 and (c["metrics"] or {}).get("log2_drift") is not None]
    if drifted:
        most = max(drifted, key=lambda c: abs(c["metrics"]["log2_drift"]))["cluster"]
        if most not in ranked:
            ranked.append(most)
    return ranked


def payload(engine: Engine, analysis_id: int, project: str | None = None) -> dict[str, Any]:
    """Everything the scatter and the drift chart draw: the format but `UNDRAWN`, plus `timeline`."""
    clusters = store.clusters(engine, analysis_id)
    data = point_columns.read(engine, analysis_id, project, clusters=clusters)
    drift = timeline(data, timeline_clusters(clusters))
    return {**{k: v for k, v in data.items() if k not in UNDRAWN}, "timeline": drift}
