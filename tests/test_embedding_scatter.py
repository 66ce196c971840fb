"""An analysis's points: the lean read (trace thumbs, preview, start time) on SQLite and PostgreSQL,
the column-wise format REST and the embeddings page share (and its decoding), and the page's
drift-over-time shares."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin.analytics import point_columns, synthetic
from tenbin.errors import InvalidInput
from tenbin.server.ui import embedding_scatter
from tenbin.store import analyses
from tenbin.store.scatter import scatter_points
from tenbin.store.seed import write_traffic

CHAT_REQUEST = '{"model": "m", "messages": [{"role": "user", "content": "pair my smart lock"}]}'


def _run(engine: Engine, n_turns: int = 40) -> tuple[int, synthetic.Traffic, list[dict[str, Any]]]:
    """Traffic with one chat-shaped LLM span, and a run over its LLM spans: cluster = topic index."""
    traffic = synthetic.generate(n_turns=n_turns, seed=5)
    chat = next(iter(traffic.topic_of))
    for row in traffic.spans:
        if row["span_id"] == chat:
            row["input_value"] = CHAT_REQUEST
            row["attributes"] = {"llm.input_messages": [{"role": "user", "content": "pair my smart lock"}]}
    write_traffic(engine, "p", traffic.spans, traffic.feedback)
    topics = sorted(synthetic.TOPICS)
    llm = [r for r in traffic.spans if r["kind"] == "LLM"]
    points = [{"span_id": r["span_id"], "side": "production" if r["start_us"] >= synthetic.T0_US + 7 * synthetic.DAY_US
               else "baseline", "cluster": topics.index(traffic.topic_of[r["span_id"]]),
               "x": 1.23456, "y": 2.0, "x3": 0.0, "y3": 0.0, "z3": 0.0} for r in llm]
    clusters = [{"cluster": c, "size": 1, "label": t, "metrics": {"log2_drift": 3.0 if t == synthetic.NEW_TOPIC else 0.1},
                 "problem_score": 1.0 / (c + 1), "rank": c + 1} for c, t in enumerate(topics)]
    run = analyses.create_analysis(engine, "p", {"field": "input"})
    analyses.save_results(engine, run, drift={}, summary={"metadata_keys": ["task"]}, clusters=clusters, points=points)
    return run, traffic, llm


def test_points_carry_the_thumbs_given_to_their_trace(engine: Engine) -> None:
    run, traffic, llm = _run(engine)
    by_trace: dict[str, list[float]] = {}
    for f in traffic.feedback:
        if f["kind"] == "thumbs":
            by_trace.setdefault(f["trace_id"], []).append(f["value"])
    rows = {r["span_id"]: r for r in scatter_points(engine, run)}
    assert len(rows) == len(llm)
    for span in llm:
        votes = by_trace.get(span["trace_id"], [])
        assert (rows[span["span_id"]]["votes"], rows[span["span_id"]]["downs"]) == (len(votes), votes.count(0))
    assert any(r["votes"] for r in rows.values())  # thumbs live on the root span, not the LLM span
    assert all(r["start_us"] for r in rows.values())


def test_points_format_is_column_wise_with_decoded_categories_and_chat_previews(engine: Engine) -> None:
    run, _, llm = _run(engine)
    data = point_columns.read(engine, run, "p")
    json.dumps(data)
    n = data["n"]
    columns = ("span_id", "x", "y", "z3", "cluster", "side", "start_s", "latency_ms", "thumbs", "version", "preview")
    assert n == len(llm) and all(len(data[k]) == n for k in columns)
    assert data["x"][0] == 1.235
    rows = scatter_points(engine, run)
    decoded = point_columns.rows(data)
    for i, row in enumerate(rows):
        assert data["span_id"][i] == decoded[i]["span_id"] == row["span_id"]
        assert data["versions"][data["version"][i]] == decoded[i]["prompt_version"] == f"support@{row['prompt_version']}"
        assert data["meta"]["task"]["values"][data["meta"]["task"]["codes"][i]] == row["metadata"]["task"]
        assert decoded[i]["metadata.task"] == row["metadata"]["task"] and decoded[i]["side"] == row["side"]
        assert decoded[i]["latency_ms"] == round(row["latency_ms"], 1)
        assert len(data["preview"][i]) <= point_columns.PREVIEW + 1
    assert min(data["start_s"]) == 0 and max(data["start_s"]) > 7 * 86_400  # two weeks of traffic
    chat = next(i for i, r in enumerate(rows) if r["preview"] == CHAT_REQUEST)
    assert data["preview"][chat] == "pair my smart lock"


def test_points_of_one_cluster_and_a_clear_error_for_a_cluster_the_run_lacks(engine: Engine) -> None:
    run, _, llm = _run(engine)
    one = point_columns.read(engine, run, cluster=2)
    assert 0 < one["n"] < len(llm) and set(one["cluster"]) == {2} and one["cluster_filter"] == 2
    with pytest.raises(InvalidInput, match="has no cluster 99; its clusters are: 0, 1, 2"):
        point_columns.read(engine, run, cluster=99)
    running = analyses.create_analysis(engine, "p", {"field": "input"})
    with pytest.raises(InvalidInput, match=f"analysis {running} is queued; its points exist once it is done"):
        point_columns.read(engine, running)


def test_drift_over_time_follows_the_worst_and_the_most_drifted_clusters(engine: Engine) -> None:
    run, _, _ = _run(engine, n_turns=120)
    clusters = analyses.clusters(engine, run)
    new = sorted(synthetic.TOPICS).index(synthetic.NEW_TOPIC)
    chosen = embedding_scatter.timeline_clusters(clusters, top=2)
    assert chosen == [0, 1, new]
    line = embedding_scatter.payload(engine, run, "p")["timeline"]
    share = next(s["share"] for s in line["series"] if s["cluster"] == new)
    production_start = line["production"][0]
    before = [v for x, v in zip(line["x"], share) if x < production_start]
    after = [v for x, v in zip(line["x"], share) if x > production_start]
    assert before and not any(before) and any(after)  # the new topic rises from nothing in production
