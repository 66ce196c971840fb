"""Issue 6's acceptance clause "a monitor fires for each planted problem": the seeded planted-problem
traffic (`analytics.synthetic`), the real embedder and analysis, then one monitor per problem —
the thumbs-down topic's cluster, the new topic's drift, the slow task category's latency (grouped by
metadata.task with no filter: the monitor finds the segment itself) — each must fire and name the
right cluster or segment, and the other tasks' groups of that monitor must stay quiet."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin.analytics import monitors
from tenbin.analytics.analysis import AnalysisRequest, analyze
from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.synthetic import (
    DAY_US,
    NEW_TOPIC,
    SLOW_TASK,
    T0_US,
    TASKS,
    THUMBS_DOWN_TOPIC,
    plant_problems,
)
from tenbin.store import analyses

EMBEDDER = "minilm"
"""The default embedder, as the acceptance test asks (about 25 s for the whole test on 2 loaded cores)."""
WEEK_S = 7 * 86_400
END_US = T0_US + 14 * DAY_US


def _majority(traffic: Any, points: list[dict[str, Any]], cluster: int) -> str:
    return Counter(traffic.topic_of[p["span_id"]] for p in points if p["cluster"] == cluster).most_common(1)[0][0]


def _monitor(engine: Engine, name: str, **spec: Any) -> dict[str, Any]:
    made = monitors.create(engine, "planted", {"name": name, "min_samples": 10, **spec})
    return monitors.check(engine, made["id"], at_us=END_US)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_monitor_fires_for_each_planted_problem(engine: Engine) -> None:
    started = time.perf_counter()
    traffic = plant_problems(engine, "planted", n_turns=600, seed=11, embedder=get_embedder(EMBEDDER))
    run = analyze(engine, AnalysisRequest("planted", baseline=traffic.baseline_window, window=traffic.production_window))
    points = analyses.points(engine, run["id"])

    bad = _monitor(engine, "bad answers per cluster", kind="thumbs_down_rate", cluster="each",
                   comparison="relative", threshold=0.3)
    assert bad["status"] == "firing" and _majority(traffic, points, bad["cluster"]) == THUMBS_DOWN_TOPIC, bad

    new = _monitor(engine, "new topics", kind="drift", cluster="each", threshold=8)
    assert new["status"] == "firing" and _majority(traffic, points, new["cluster"]) == NEW_TOPIC, new
    assert _monitor(engine, "global drift", kind="drift", threshold=0.001)["status"] == "firing"

    slow = _monitor(engine, "slow tasks", kind="latency_p95", threshold=3000, window_s=WEEK_S, group_by="metadata.task")
    groups = {g["group"]: g for g in slow["details"]["groups"]}
    assert slow["status"] == "firing" and slow["details"]["firing"] == [SLOW_TASK], slow
    assert f'"{SLOW_TASK}"' in slow["message"] and slow["n"] > 50, slow
    assert set(groups) == set(TASKS) and all(groups[t]["status"] == "ok" for t in TASKS if t != SLOW_TASK), groups

    alerts = monitors.list_alerts(engine, "planted")
    assert {a["monitor_name"] for a in alerts} == {"bad answers per cluster", "new topics", "global drift", "slow tasks"}
    assert SLOW_TASK in next(a for a in alerts if a["monitor_name"] == "slow tasks")["message"]
    for result in (bad, new, slow):
        print(f"fired: {result['message']}")
    print(f"planted monitors: {time.perf_counter() - started:.1f} s with {EMBEDDER}")
