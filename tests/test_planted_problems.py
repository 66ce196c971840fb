"""The acceptance test of issue 6: traffic with three planted problems, the real default embedder
(MiniLM), the whole pipeline; the problems must come out on top where a user would look."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin.analytics.analysis import AnalysisRequest, analyze
from tenbin.analytics.cluster_segments import segments
from tenbin.analytics.synthetic import (
    NEW_TOPIC,
    SLOW_TASK,
    THUMBS_DOWN_TOPIC,
    membership,
    plant_problems,
)
from tenbin.store import analyses as store


def _majority(traffic: Any, points: list[dict[str, Any]], cluster: int) -> str:
    return Counter(traffic.topic_of[p["span_id"]] for p in points if p["cluster"] == cluster).most_common(1)[0][0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_planted_problems_are_found_on_top(engine: Engine) -> None:
    traffic = plant_problems(engine, "planted", n_turns=750, seed=7)
    run = analyze(engine, AnalysisRequest("planted", baseline=traffic.baseline_window,
                                          window=traffic.production_window))
    clusters, points = store.clusters(engine, run["id"]), store.points(engine, run["id"])

    top = clusters[0]
    assert top["rank"] == 1 and _majority(traffic, points, top["cluster"]) == THUMBS_DOWN_TOPIC
    assert top["metrics"]["thumbs_down_lift"] > 2

    drifted = max((c for c in clusters if c["cluster"] != -1), key=lambda c: c["metrics"]["log2_drift"])
    assert _majority(traffic, points, drifted["cluster"]) == NEW_TOPIC
    assert drifted["metrics"]["n_baseline"] == 0 and drifted["metrics"]["drift_p_value"] < 0.001
    assert run["drift"]["p_value"] < 0.01

    by_task = {r["segment"]: r for r in segments(engine, run["id"], "metadata.task")["segments"]}
    slow = by_task.pop(SLOW_TASK)
    assert slow["metrics"]["latency_p50_ms"] > 3 * max(r["metrics"]["latency_p50_ms"] for r in by_task.values())
    assert slow["problem_score"] > max(r["problem_score"] for r in by_task.values())

    for topic in (THUMBS_DOWN_TOPIC, NEW_TOPIC):
        found = membership(traffic, points, topic)
        print(f"{topic}: precision {found['precision']:.2f}, recall {found['recall']:.2f} "
              f"over {found['clusters']} cluster(s)")
        assert found["precision"] >= 0.9 and found["recall"] >= 0.5
