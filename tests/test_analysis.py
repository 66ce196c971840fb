"""The analysis's parts on their own: drift test, window/baseline specs, problem ranking, clustering."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tenbin.analytics.cluster_metrics import Frame, Whole, cluster_table
from tenbin.analytics.cluster_segments import segment_keys
from tenbin.analytics.clustering import central_members, cluster
from tenbin.analytics.drift import global_drift
from tenbin.analytics.windows import Side, parse_baseline, parse_window
from tenbin.errors import InvalidInput

DAY = 86_400_000_000


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_drift_p_value_is_small_for_a_new_topic_and_not_for_the_same_distribution() -> None:
    rng = np.random.default_rng(1)
    topics = rng.normal(size=(4, 32))
    base = _unit(topics[rng.integers(0, 3, 300)] + rng.normal(scale=0.5, size=(300, 32)))
    same = _unit(topics[rng.integers(0, 3, 300)] + rng.normal(scale=0.5, size=(300, 32)))
    shifted = _unit(topics[rng.integers(0, 4, 300)] + rng.normal(scale=0.5, size=(300, 32)))
    assert global_drift(same, base, permutations=200)["p_value"] > 0.05
    drifted = global_drift(shifted, base, permutations=200)
    assert drifted["p_value"] < 0.01 and drifted["centroid_distance"] > 0
    assert global_drift(shifted, base[:1])["p_value"] is None


def test_windows_and_baselines_resolve_relative_to_the_newest_span() -> None:
    newest = 100 * DAY
    prod = parse_window("24h", newest)
    assert (prod.start_us, prod.end_us) == (newest + 1 - DAY, newest + 1)
    assert parse_baseline("previous", prod, newest) == Side(newest + 1 - 2 * DAY, newest + 1 - DAY)
    assert parse_baseline("7d", prod, newest) == Side(newest + 1 - 8 * DAY, newest + 1 - DAY)
    assert parse_baseline("dataset:golden@2", prod, newest).dataset == ("golden", 2)
    assert parse_baseline("prompt:support@3", prod, newest).prompt == ("support", "3")
    assert parse_window("1970-01-02..1970-01-03", None) == Side(DAY, 2 * DAY)


@pytest.mark.parametrize(("window", "baseline", "message"), [
    ("", "previous", "open-ended"),
    ("", "", "a baseline is required"),
    ("", "prompt:support", "prompt:NAME@VERSION"),
    ("soon", "previous", "not understood"),
    ("1970-01-03..1970-01-02", "previous", "ends before it starts"),
])
def test_unusable_windows_say_how_to_write_them(window: str, baseline: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_baseline(baseline, parse_window(window, DAY), DAY)


def _frame(downs: list[int], latency: list[float], production: list[bool], task: list[str]) -> Frame:
    n = len(downs)
    facts = {"span_id": [f"{i:016x}" for i in range(n)], "latency_ms": latency, "prompt_tokens": [10] * n,
             "completion_tokens": [5] * n, "status": ["OK"] * n, "thumbs_n": [1] * n, "thumbs_down": downs,
             "prompt_name": ["p"] * n, "prompt_version": ["1"] * n, "metadata": [{"task": t} for t in task],
             "scores": [{}] * n, "total_tokens": [15] * n}
    return Frame.build(facts, ["production" if p else "baseline" for p in production])


def test_the_cluster_with_most_thumbs_down_ranks_first_and_noise_and_tiny_clusters_are_unranked() -> None:
    # cluster 0: 40 points, 80 % down; cluster 1: 60 points, 10 % down; cluster 2: 4 points all down; noise: 10
    labels = np.array([0] * 40 + [1] * 60 + [2] * 4 + [-1] * 10)
    downs = [1] * 32 + [0] * 8 + [1] * 6 + [0] * 54 + [1] * 4 + [1] * 10
    frame = _frame(downs, [500.0] * 114, [True] * 114, ["a"] * 114)
    table = cluster_table(frame, labels, Whole.of(frame), min_support=10)
    assert [(r["cluster"], r["rank"]) for r in table] == [(0, 1), (1, 2), (-1, None), (2, None)]
    assert table[0]["metrics"]["thumbs_down_lift"] == pytest.approx(0.8 / (52 / 114))
    assert table[0]["metrics"]["metadata"]["task"][0] == {"value": "a", "share": 1.0, "lift": 1.0}


def test_a_cluster_only_in_production_has_a_large_finite_drift_ratio() -> None:
    labels = np.array([0] * 50 + [1] * 50 + [1] * 50)
    production = [True] * 100 + [False] * 50
    frame = _frame([0] * 150, [500.0] * 150, production, ["a"] * 150)
    rows = {r["cluster"]: r["metrics"] for r in cluster_table(frame, labels, Whole.of(frame))}
    assert rows[0]["n_baseline"] == 0 and rows[0]["log2_drift"] > 5 and rows[0]["drift_p_value"] < 1e-6
    assert rows[1]["log2_drift"] < 0


def test_segment_keys_bucket_latency_with_the_segments_page_edges() -> None:
    frame_facts = {"latency_ms": [50.0, 700.0, 6000.0], "metadata": [{"task": "x"}, {}, None]}
    keys, order = segment_keys(frame_facts, "latency_ms")
    assert keys == ["< 100 ms", "500 ms – 1 s", "≥ 5 s"] and order and order[0] == "< 100 ms"
    assert segment_keys(frame_facts, "metadata.task")[0] == ["x", None, None]
    with pytest.raises(InvalidInput, match="cannot segment by 'colour'"):
        segment_keys(frame_facts, "colour")


def test_hdbscan_finds_separated_blobs_numbers_them_by_size_and_keeps_noise() -> None:
    rng = np.random.default_rng(0)
    blobs = np.vstack([rng.normal(loc, 0.1, size=(n, 5)) for loc, n in ((0, 60), (5, 90))])
    space = np.vstack([blobs, [[50, 50, 50, 50, 50]]])
    labels = cluster(space)
    assert list(labels[:60]) == [1] * 60 and list(labels[60:150]) == [0] * 90 and labels[-1] == -1
    central = central_members(np.vstack([blobs, [[9, 9, 9, 9, 9]]]), labels, 3)
    assert len(central[0]) == 3 and all(60 <= i < 150 for i in central[0])


def test_without_the_hdbscan_package_scikit_learn_finds_the_same_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    space = np.vstack([rng.normal(loc, 0.2, size=(n, 5)) for loc, n in ((0, 70), (4, 50), (-4, 40))])
    fast = cluster(space)
    monkeypatch.setitem(sys.modules, "hdbscan", None)
    assert list(cluster(space)) == list(fast) and len(set(fast)) == 3
