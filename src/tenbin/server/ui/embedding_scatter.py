"""The embeddings page's scatter payload, column-wise, and its drift-over-time series.

At 10⁵ points a list of objects repeats every key per point; here each attribute is one array
(`x`, `y`, `cluster`, ...), categorical ones dictionary-encoded (a `versions` list and a code per
point, -1 for none), so the JSON stays a few bytes per number and the browser builds its traces
with plain index loops. Previews are shortened and whitespace-collapsed here; escaping them is
the browser's job (they are data, never markup).

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

from tenbin.analytics.embedding import span_text
from tenbin.store.analysis_inputs import span_text_rows
from tenbin.store.scatter import scatter_points

PREVIEW = 80
"""Characters of text in a point's hover."""
MAX_META_KEYS = 6
"""Metadata keys offered as colourings (the run's categorical keys, first ones)."""
NICE_BUCKETS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400,
                14 * 86400, 30 * 86400)
POINTS_PER_BUCKET, MIN_BUCKETS, MAX_BUCKETS = 30, 4, 60
"""Drift-over-time buckets: about this many spans per bucket, within these bounds."""
THUMBS_NONE, THUMBS_UP, THUMBS_DOWN = 0, 1, 2
SIDES = ("production", "baseline")


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def encode(values: Sequence[Any]) -> tuple[list[str], list[int]]:
    """Dictionary-encode values (most frequent first, ties by text); None → code -1."""
    counts = Counter(str(v) for v in values if v is not None)
    names = sorted(counts, key=lambda v: (-counts[v], v))
    index = {v: i for i, v in enumerate(names)}
    return names, [-1 if v is None else index[str(v)] for v in values]


def thumbs_code(votes: int, downs: int) -> int:
    """A point's feedback colour: none without votes, down when at least half of them are down."""
    if not votes:
        return THUMBS_NONE
    return THUMBS_DOWN if 2 * downs >= votes else THUMBS_UP


def previews(engine: Engine, rows: Sequence[dict[str, Any]], field: str) -> list[str]:
    """Short one-line text per point. A raw value that is JSON (an instrumented chat request) is
    replaced by the message the analysis embedded, read from the span's attributes."""
    json_like = {r["span_id"] for r in rows if (r["preview"] or "").lstrip()[:1] in ("{", "[")}
    full = span_text_rows(engine, sorted(json_like)) if json_like else {}
    out = []
    for r in rows:
        text = span_text(full[r["span_id"]], field) if r["span_id"] in full else r["preview"]
        text = " ".join((text or "").split())
        out.append(text[:PREVIEW] + ("…" if len(text) > PREVIEW else ""))
    return out


def _metadata(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    out = {}
    for key in list(keys)[:MAX_META_KEYS]:
        values, codes = encode([(r["metadata"] or {}).get(key) if isinstance(r["metadata"], dict) else None
                                for r in rows])
        out[key] = {"values": values, "codes": codes}
    return out


def bucket_seconds(start_us: int, end_us: int, n: int) -> int:
    """The smallest nice bucket giving at most n / POINTS_PER_BUCKET buckets (MIN_BUCKETS..MAX_BUCKETS),
    so a share is not computed over a handful of spans."""
    target = min(MAX_BUCKETS, max(MIN_BUCKETS, n // POINTS_PER_BUCKET))
    seconds = (end_us - start_us) / 1e6
    return next((b for b in NICE_BUCKETS if seconds / b <= target), NICE_BUCKETS[-1])


def timeline(rows: Sequence[dict[str, Any]], chosen: Sequence[int]) -> dict[str, Any]:
    """Per time bucket, the share of the bucket's spans in each chosen cluster (see the module
    docstring), and the production side's time range for shading."""
    first: dict[str, tuple[int, int]] = {}
    for r in rows:
        first.setdefault(r["span_id"], (r["start_us"], r["cluster"]))
    if not first:
        return {"x": [], "series": [], "production": None, "bucket_seconds": None}
    starts = [s for s, _ in first.values()]
    bucket_us = bucket_seconds(min(starts), max(starts), len(starts)) * 1_000_000
    totals: Counter[int] = Counter()
    per: dict[int, Counter[int]] = {c: Counter() for c in chosen}
    for start, cluster in first.values():
        b = start // bucket_us
        totals[b] += 1
        if cluster in per:
            per[cluster][b] += 1
    buckets = sorted(totals)
    prod = [r["start_us"] for r in rows if r["side"] == "production"]
    return {"x": [_iso(b * bucket_us + bucket_us // 2) for b in buckets], "bucket_seconds": bucket_us // 1_000_000,
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


def payload(engine: Engine, analysis: dict[str, Any], clusters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Everything the scatter and the drift chart draw, column-wise (see the module docstring)."""
    field = (analysis["params"] or {}).get("field", "input")
    rows = scatter_points(engine, analysis["id"], field)
    versions, version_codes = encode([f"{r['prompt_name']}@{r['prompt_version']}" if r["prompt_name"] else None
                                      for r in rows])
    keys = ((analysis["summary"] or {}).get("metadata_keys")) or []
    return {
        "n": len(rows), "field": field,
        **{axis: [round(r[axis], 3) for r in rows] for axis in ("x", "y", "x3", "y3", "z3")},
        "cluster": [r["cluster"] for r in rows],
        "side": [SIDES.index(r["side"]) for r in rows], "sides": list(SIDES),
        "thumbs": [thumbs_code(r["votes"], r["downs"]) for r in rows], "thumbs_names": ["none", "up", "down"],
        "version": version_codes, "versions": versions,
        "meta": _metadata(rows, keys),
        "preview": previews(engine, rows, field),
        "clusters": [{"id": c["cluster"], "label": c["label"], "rank": c["rank"]} for c in clusters],
        "timeline": timeline(rows, timeline_clusters(clusters)),
    }
