"""The analyses store: a run's lifecycle, its clusters ranked worst first, points with colouring fields."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tenbin.errors import NotFound
from tenbin.store import analyses as store
from tenbin.store.feedback import add_feedback
from tests.embed_helpers import T0, llm_row, store_rows


def _run_with_results(engine: Engine) -> tuple[int, list[str]]:
    rows = [llm_row(f"question {i}", f"answer {i}", T0 + i) for i in range(4)]
    store_rows(engine, rows)
    ids = [r["span_id"] for r in rows]
    run = store.create_analysis(engine, "p", {"field": "input"})
    store.set_progress(engine, run, "umap", 0.4)
    clusters = [
        {"cluster": 0, "size": 2, "label": "a", "metrics": {"sample_span_ids": [ids[1], ids[0]]},
         "problem_score": 0.2, "rank": 2},
        {"cluster": 1, "size": 1, "label": "b", "metrics": {"sample_span_ids": [ids[2]]}, "problem_score": 0.9,
         "rank": 1},
        {"cluster": -1, "size": 1, "label": None, "metrics": {}, "problem_score": None, "rank": None},
    ]
    sides = ["production", "production", "baseline", "baseline"]
    pts = [{"span_id": s, "side": side, "cluster": c, "x": 1.0, "y": 2.0, "x3": 0.0, "y3": 0.0, "z3": 0.0}
           for s, side, c in zip(ids, sides, [0, 0, 1, -1])]
    store.save_results(engine, run, drift={"p_value": 0.01}, summary={"n": 4}, clusters=clusters, points=pts)
    return run, ids


def test_a_finished_run_reads_back_with_clusters_worst_first_and_noise_last(engine: Engine) -> None:
    run, ids = _run_with_results(engine)
    got = store.get_analysis(engine, run, "p")
    assert (got["status"], got["progress"], got["n_production"], got["n_baseline"]) == ("done", 1.0, 2, 2)
    assert got["drift"] == {"p_value": 0.01}
    assert [c["cluster"] for c in store.clusters(engine, run)] == [1, 0, -1]
    assert [a["id"] for a in store.list_analyses(engine, "p")] == [run]
    assert [s["span_id"] for s in store.samples(engine, run, 0)] == [ids[1], ids[0]]
    assert store.cluster_span_ids(engine, run, 0) == sorted(ids[:2])
    assert store.cluster_span_ids(engine, run, side="baseline") == sorted(ids[2:])


def test_points_carry_the_spans_thumbs_for_colouring(engine: Engine) -> None:
    run, ids = _run_with_results(engine)
    add_feedback(engine, span_id=ids[0], name="thumbs", kind="thumbs", value=0, source="human")
    by_id = {p["span_id"]: p for p in store.points(engine, run)}
    assert by_id[ids[0]]["thumbs"] == 0
    assert by_id[ids[1]]["thumbs"] is None
    assert len(store.points(engine, run, cluster=0)) == 2


def test_reports_are_stored_per_cluster_and_unknown_runs_say_so(engine: Engine) -> None:
    run, _ = _run_with_results(engine)
    store.set_report(engine, run, 1, "About refunds.", {"model": "m"})
    assert store.clusters(engine, run)[0]["report"] == "About refunds."
    with pytest.raises(NotFound, match="no cluster 7"):
        store.set_report(engine, run, 7, "x")
    with pytest.raises(NotFound, match="no analysis 999"):
        store.get_analysis(engine, 999)
    with pytest.raises(NotFound, match="in project 'other'"):
        store.get_analysis(engine, run, "other")


def test_a_failed_run_keeps_its_error(engine: Engine) -> None:
    store_rows(engine, [llm_row("q", "a", T0)])
    run = store.create_analysis(engine, "p", {})
    store.fail_analysis(engine, run, "no vectors")
    got = store.get_analysis(engine, run)
    assert (got["status"], got["error"]) == ("failed", "no vectors")
    store.delete_analysis(engine, run, "p")
    assert store.list_analyses(engine, "p") == []


def test_a_points_thumbs_include_the_thumbs_given_on_its_trace(engine: Engine) -> None:
    root = llm_row("q", "a", T0)
    child = {**llm_row("q", "a", T0 + 1), "trace_id": root["trace_id"], "parent_id": root["span_id"]}
    store_rows(engine, [{**root, "kind": "CHAIN"}, child])
    run = store.create_analysis(engine, "p", {})
    point = {"span_id": child["span_id"], "side": "production", "cluster": 0, "x": 0.0, "y": 0.0, "x3": 0.0,
             "y3": 0.0, "z3": 0.0}
    store.save_results(engine, run, drift={}, summary={}, clusters=[], points=[point])
    add_feedback(engine, trace_id=root["trace_id"], name="thumbs", kind="thumbs", value=0, source="human")
    assert [p["thumbs"] for p in store.points(engine, run)] == [0]


def test_evaluator_labels_count_as_scores_in_a_runs_point_facts(engine: Engine) -> None:
    from tenbin.store.analysis_inputs import point_facts

    run, ids = _run_with_results(engine)
    for span_id, label, value in [(ids[0], "incorrect", 0.0), (ids[1], "correct", 1.0), (ids[2], "unparseable", None)]:
        add_feedback(engine, span_id=span_id, name="qa_correctness", kind="label", label=label, value=value, source="llm")
    add_feedback(engine, span_id=ids[0], name="helpfulness", kind="score", value=0.25, source="human")
    facts, _, _ = point_facts(engine, run)
    scores = dict(zip(facts["span_id"], facts["scores"]))
    assert scores[ids[0]] == {"qa_correctness": 0.0, "helpfulness": 0.25}
    assert scores[ids[1]] == {"qa_correctness": 1.0}
    assert scores[ids[2]] == {} and scores[ids[3]] == {}
