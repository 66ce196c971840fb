"""What the embeddings page shows about clusters: the table rows (formatted from each cluster's
metrics JSON, see `tenbin.analytics.cluster_metrics`) and one cluster's panel — metrics next to
its baseline's and the whole run's, representative samples, the LLM report and its alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tenbin.analytics.embedding import span_text
from tenbin.errors import NotFound
from tenbin.store import analyses
from tenbin.store.analysis_inputs import span_text_rows
from tenbin.store.monitors import list_alerts

SAMPLES = 8
SAMPLE_CHARS = 600


def _lift(rate: float | None, whole: float | None) -> float | None:
    return rate / whole if rate is not None and whole else None


def _scores(scores: dict[str, Any] | None) -> list[tuple[str, float]]:
    return [(name, s["mean"]) for name, s in sorted((scores or {}).items())]


def _top_metadata(metadata: dict[str, Any] | None) -> list[tuple[str, str, float]]:
    """(key, value, share) of each key's most common value in the cluster."""
    out = []
    for key, values in sorted((metadata or {}).items()):
        if values:
            out.append((key, str(values[0]["value"]), values[0]["share"]))
    return out


def table_row(cluster: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    """One row of the cluster table, the numbers the template formats."""
    m = cluster["metrics"] or {}
    whole = (summary or {}).get("production") or {}
    return {
        "cluster": cluster["cluster"], "label": cluster["label"], "rank": cluster["rank"],
        "problem_score": cluster["problem_score"], "size": cluster["size"],
        "n_production": m.get("n_production"), "n_baseline": m.get("n_baseline"),
        "share_production": m.get("share_production"), "share_baseline": m.get("share_baseline"),
        "drift_ratio": m.get("drift_ratio"), "drift_p_value": m.get("drift_p_value"),
        "thumbs_down_rate": m.get("thumbs_down_rate"), "thumbs": m.get("thumbs"),
        "thumbs_down_lift": _lift(m.get("thumbs_down_rate"), whole.get("thumbs_down_rate")),
        "scores": _scores(m.get("scores")),
        "latency_p50_ms": m.get("latency_p50_ms"), "latency_p95_ms": m.get("latency_p95_ms"),
        "prompt_tokens": m.get("prompt_tokens_mean"), "completion_tokens": m.get("completion_tokens_mean"),
        "top_metadata": _top_metadata(m.get("metadata")), "has_report": bool(cluster["report"]),
    }


METRIC_ROWS = (("count", "Points", "int"), ("thumbs_down_rate", "Thumbs-down rate", "pct"),
               ("thumbs", "Thumbs votes", "int"), ("error_rate", "Error rate", "pct"),
               ("latency_p50_ms", "Latency p50", "ms"), ("latency_p95_ms", "Latency p95", "ms"),
               ("prompt_tokens_mean", "Prompt tokens (mean)", "num"),
               ("completion_tokens_mean", "Completion tokens (mean)", "num"))
"""(key, label, format) of the panel's side-by-side metrics: cluster production, cluster baseline, whole."""


def _side_by_side(m: dict[str, Any], whole: dict[str, Any]) -> list[dict[str, Any]]:
    base = m.get("baseline") or {}
    rows = [{"label": label, "fmt": fmt, "cluster": m.get(key), "baseline": base.get(key), "whole": whole.get(key)}
            for key, label, fmt in METRIC_ROWS]
    for name in sorted(set(m.get("scores") or {}) | set(whole.get("scores") or {})):
        rows.append({"label": f"Score: {name} (mean)", "fmt": "num", "cluster": _score_mean(m, name),
                     "baseline": _score_mean(base, name), "whole": _score_mean(whole, name)})
    return rows


def _score_mean(side: dict[str, Any], name: str) -> float | None:
    return ((side.get("scores") or {}).get(name) or {}).get("mean")


def _samples(engine: Engine, analysis_id: int, cluster: int, field: str) -> list[dict[str, Any]]:
    """Representative spans with the text the analysis embedded (a chat's user message, not its JSON)."""
    found = analyses.samples(engine, analysis_id, cluster, limit=SAMPLES)
    rows = span_text_rows(engine, [s["span_id"] for s in found])
    out = []
    for s in found:
        text = span_text(rows.get(s["span_id"], s), field) or ""
        other = span_text(rows.get(s["span_id"], s), "output" if field == "input" else "input") or ""
        out.append({**s, "text": text[:SAMPLE_CHARS], "other": other[:SAMPLE_CHARS]})
    return out


def run_alerts(engine: Engine, project: str, analysis_id: int) -> list[dict[str, Any]]:
    """Alerts raised about this analysis (drift of the run or of one of its clusters), newest first."""
    return [a for a in list_alerts(engine, project, limit=200) if a.get("analysis_id") == analysis_id]


def panel(engine: Engine, analysis: dict[str, Any], clusters: Sequence[dict[str, Any]], cluster: int,
          alerts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The selected cluster's panel; NotFound naming the run's clusters for an unknown one."""
    found = next((c for c in clusters if c["cluster"] == cluster), None)
    if found is None:
        known = ", ".join(str(c["cluster"]) for c in clusters) or "none"
        raise NotFound(f"analysis {analysis['id']} has no cluster {cluster}; its clusters are: {known}")
    m = found["metrics"] or {}
    field = (analysis["params"] or {}).get("field", "input")
    return {
        **table_row(found, analysis["summary"]), "metrics": m,
        "side_by_side": _side_by_side(m, (analysis["summary"] or {}).get("production") or {}),
        "problem_parts": m.get("problem_parts") or {}, "prompt_versions": m.get("prompt_versions") or [],
        "metadata": m.get("metadata") or {}, "samples": _samples(engine, analysis["id"], cluster, field),
        "field": field, "report": found["report"], "report_details": found["report_details"] or {},
        "alerts": [a for a in alerts if a.get("cluster") == cluster],
    }
