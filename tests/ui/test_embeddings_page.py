"""The embeddings page in a real browser: runs list and form, the scatter (points, colourings, 2D/3D,
escaped hover), the cluster table and panel (samples, report, Generate report with the scripted LLM),
drift over time, segments, and the empty state.

Data: the planted-problem generator's traffic embedded with WordLlama. One analysis is written
through the store functions (clusters = the planted topics, so counts and samples are known, and a
span whose input is an XSS payload is the first sample of its cluster); the form test runs the real
pipeline (UMAP + HDBSCAN) from the browser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tenbin.analytics import synthetic
from tenbin.analytics.cluster_metrics import Frame, Whole, cluster_table
from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.embedding import run_embed
from tenbin.analytics.windows import parse_window
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import analyses
from tenbin.store.analysis_inputs import load_side
from tenbin.store.engine import make_engine
from tenbin.store.seed import write_traffic
from tests.ui.conftest import XSS

PROJECT, QUIET = "emb", "quiet"
MODEL = "wordllama-l2-supercat-256"
REPORT = "Users cannot log in.\nThe answers repeat the reset steps <b>without</b> fixing the lockout."


@dataclass
class Seeded:
    url: str
    engine: Any
    run: int
    n_points: int
    clusters: list[int]
    xss_cluster: int
    traffic: synthetic.Traffic


def _side(engine: Any, window: str) -> tuple[dict[str, list[Any]], np.ndarray]:
    side = parse_window(window, None)
    return load_side(engine, PROJECT, MODEL, "input", start_us=side.start_us, end_us=side.end_us)


def _insert_analysis(engine: Any, traffic: synthetic.Traffic, xss_span: str) -> tuple[int, int, list[int], int]:
    """A finished analysis whose clusters are the planted topics (the pipeline's metrics code, no
    UMAP/HDBSCAN), laid out on a circle; the XSS span is its cluster's first sample."""
    prod, _ = _side(engine, traffic.production_window)
    base, _ = _side(engine, traffic.baseline_window)
    facts = {k: prod[k] + base[k] for k in prod}
    sides = ["production"] * len(prod["span_id"]) + ["baseline"] * len(base["span_id"])
    topics = sorted(synthetic.TOPICS)
    labels = np.array([topics.index(traffic.topic_of[s]) for s in facts["span_id"]])
    labels[::25] = -1  # some noise
    labels[facts["span_id"].index(xss_span)] = topics.index(traffic.topic_of[xss_span])
    frame = Frame.build(facts, sides)
    table = cluster_table(frame, labels, Whole.of(frame))
    for row in table:
        members = [s for s, c in zip(facts["span_id"], labels) if c == row["cluster"]]
        if row["cluster"] == labels[facts["span_id"].index(xss_span)]:
            members = [xss_span] + [m for m in members if m != xss_span]
        row["label"] = topics[row["cluster"]] if row["cluster"] >= 0 else None
        row["metrics"]["sample_span_ids"] = list(dict.fromkeys(members))[:5]
    points = []
    for i, (span, side, c) in enumerate(zip(facts["span_id"], sides, labels)):
        angle = 2 * math.pi * (int(c) + 1) / (len(topics) + 1)
        jitter = (i % 7) / 10
        points.append({"span_id": span, "side": side, "cluster": int(c), "x": 10 * math.cos(angle) + jitter,
                       "y": 10 * math.sin(angle) - jitter, "x3": math.cos(angle), "y3": math.sin(angle), "z3": jitter})
    run = analyses.create_analysis(engine, PROJECT, {
        "field": "input", "model": MODEL, "window": traffic.production_window, "baseline": traffic.baseline_window,
        "production_side": "week 2", "baseline_side": "week 1", "filter": "", "min_support": 10})
    analyses.save_results(engine, run, drift={"method": "MMD² with a permutation test", "p_value": 0.0002,
                                              "mmd2": 0.01, "centroid_distance": 0.2},
                          summary=Whole.of(frame).summary(), clusters=table, points=points)
    xss_cluster = int(labels[facts["span_id"].index(xss_span)])
    analyses.set_report(engine, run, xss_cluster, REPORT + "\n" + XSS, {"model": "scripted-1"})
    return run, len(points), sorted({int(c) for c in labels}), xss_cluster


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('emb') / 'tenbin.db'}")
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        traffic = synthetic.generate(n_turns=200, seed=11)
        xss_span = next(s for s, t in traffic.topic_of.items() if t == synthetic.THUMBS_DOWN_TOPIC)
        for row in traffic.spans:
            if row["span_id"] == xss_span:
                row["input_value"] = XSS + " I cannot log in"
        write_traffic(engine, PROJECT, traffic.spans, traffic.feedback)
        write_traffic(engine, QUIET, traffic.spans[:0])
        run_embed(engine, PROJECT, get_embedder("wordllama"), "input")
        run, n_points, clusters, xss_cluster = _insert_analysis(engine, traffic, xss_span)
        yield Seeded(srv.url, engine, run, n_points, clusters, xss_cluster, traffic)
    engine.dispose()


def _open_run(page: Page, seeded: Seeded, suffix: str = "") -> None:
    page.goto(f"{seeded.url}/projects/{PROJECT}/embeddings/{seeded.run}{suffix}")
    expect(page.locator("#scatter[data-ready='1']")).to_be_attached(timeout=15000)


def _traces(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("""() => document.getElementById('scatter').data.map(
        (t) => ({type: t.type, name: t.name, n: t.x.length, color: t.marker.color, hasZ: !!t.z}))""")


def _color_by(page: Page, value: str) -> list[dict[str, Any]]:
    page.select_option("#color-by", value)
    return _traces(page)


def test_empty_state_explains_how_to_start_an_analysis(page: Page, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/projects/{QUIET}/embeddings")
    empty = page.locator("#no-analyses")
    expect(empty).to_contain_text(f"tenbin embed --project {QUIET}")
    expect(empty).to_contain_text(f"tenbin analyze --project {QUIET}")
    expect(empty).to_contain_text("No span of this project is embedded yet")
    expect(page.locator("#analysis-form")).to_be_visible()
    expect(page.locator("header nav a", has_text="Embeddings")).to_have_class(re.compile("active"))


def test_the_runs_list_shows_status_and_global_drift(page: Page, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/projects/{PROJECT}/embeddings")
    row = page.locator(f"tr[data-analysis='{seeded.run}']")
    expect(row).to_contain_text("done")
    expect(row).to_contain_text("p < 0.001")
    expect(row).to_contain_text("drifted")


def test_scatter_has_every_point_in_one_colour_per_cluster(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded)
    traces = _traces(page)
    assert sum(t["n"] for t in traces) == seeded.n_points
    assert len(traces) == len(seeded.clusters)
    assert len({t["color"] for t in traces}) == len(traces)
    assert {t["type"] for t in traces} == {"scatter"}  # small runs draw SVG; WebGL above 5,000 points
    expect(page.locator("#scatter-status")).to_contain_text(f"{seeded.n_points} points")


def test_colour_by_and_3d_change_the_traces(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded)
    thumbs = _color_by(page, "thumbs")
    assert {t["name"] for t in thumbs} == {"no feedback", "thumbs up", "thumbs down"}
    assert sum(t["n"] for t in thumbs) == seeded.n_points
    sides = {t["name"]: t["n"] for t in _color_by(page, "side")}
    stored = analyses.get_analysis(seeded.engine, seeded.run)
    assert sides == {"production": stored["n_production"], "baseline": stored["n_baseline"]}
    assert {t["name"] for t in _color_by(page, "version")} == {"support@1", "support@2"}
    assert {t["name"] for t in _color_by(page, "meta:task")} == set(synthetic.TASKS)
    page.locator("input[name=dims][value='3']").check()
    three = _traces(page)
    assert {t["type"] for t in three} == {"scatter3d"} and all(t["hasZ"] for t in three)


def test_clicking_a_cluster_row_shows_metrics_samples_and_report_escaped(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded)
    page.locator(f"#clusters tr[data-cluster='{seeded.xss_cluster}']").click()
    detail = page.locator(f"#cluster-detail[data-cluster='{seeded.xss_cluster}']")
    expect(detail).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/embeddings/{seeded.run}/clusters/{seeded.xss_cluster}#cluster-panel$"))
    expect(detail.locator("#cluster-metrics")).to_contain_text("Thumbs-down rate")
    expect(detail.locator("#cluster-samples li").first).to_contain_text("<script>window.__xss=1</script>")
    report = detail.locator("#cluster-report")
    expect(report).to_contain_text("<b>without</b>")
    expect(report).to_contain_text('<img src=x onerror="window.__xss=2">')
    assert report.inner_text().startswith("Users cannot log in.\nThe answers")  # line breaks kept
    expect(detail.locator(".report-form button")).to_have_text("Re-run report")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#cluster-panel img").count() == 0


def test_hover_shows_the_input_preview_as_text(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded)
    where = page.evaluate("""() => {
        const data = document.getElementById('scatter').data;
        for (let c = 0; c < data.length; c++) {
            const i = data[c].text.findIndex((t) => t.includes('__xss=1'));
            if (i >= 0) { return [c, i]; }
        }
        return null; }""")
    assert where is not None
    page.evaluate("([c, i]) => Plotly.Fx.hover('scatter', [{curveNumber: c, pointNumber: i}])", where)
    hover = page.locator("#scatter .hoverlayer")
    expect(hover).to_contain_text("<script>window.__xss=1</script>")
    assert hover.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_clicking_a_point_opens_its_cluster(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded)
    point = page.locator("#scatter .scatterlayer .trace").first.locator("path.point").first
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    first_cluster = page.evaluate("document.getElementById('scatter').data[0].customdata[0]")
    expect(page.locator(f"#cluster-detail[data-cluster='{first_cluster}']")).to_be_visible()


def test_drift_over_time_and_segments(page: Page, seeded: Seeded) -> None:
    _open_run(page, seeded, suffix="?by=metadata.task")
    lines = page.evaluate("document.getElementById('drift-chart').data.map((t) => t.name)")
    assert any(synthetic.NEW_TOPIC in name for name in lines)  # the most drifted cluster is followed
    rows = page.locator("#segments-table tbody tr")
    expect(rows).to_have_count(len(synthetic.TASKS))
    slow = page.locator(f"#segments-table tr[data-segment='{synthetic.SLOW_TASK}']")
    slow.get_by_role("link", name="clusters in it").click()
    expect(page.locator("#segment-clusters")).to_be_visible()
    expect(page.locator("#segment-clusters tbody tr").first).to_be_visible()


def test_generate_report_with_the_configured_llm(page: Page, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedLLM(script=lambda messages: "Scripted report: shipping questions <i>look fine</i>.") as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        cluster = next(c for c in seeded.clusters if c not in (-1, seeded.xss_cluster))
        _open_run(page, seeded, suffix=f"/clusters/{cluster}")
        page.get_by_role("button", name="Generate report").click()
        expect(page.locator("#cluster-report")).to_contain_text("Scripted report: shipping questions <i>look fine</i>.")
        expect(page.locator(".report-form button")).to_have_text("Re-run report")


def test_starting_an_analysis_from_the_form_runs_the_pipeline(page: Page, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/projects/{PROJECT}/embeddings")
    runs_before = page.locator("#analyses tbody tr").count()
    form = page.locator("#analysis-form")
    form.get_by_label("Production window").fill(seeded.traffic.production_window)
    form.get_by_label("Baseline kind").select_option("window")
    form.get_by_label("Baseline value").fill("")
    form.get_by_role("button", name="Start analysis").click()
    expect(page.get_by_role("alert")).to_contain_text("give the baseline window")
    page.goto(f"{seeded.url}/projects/{PROJECT}/embeddings")
    expect(page.locator("#analyses tbody tr")).to_have_count(runs_before)

    form.get_by_label("Production window").fill(seeded.traffic.production_window)
    form.get_by_label("Baseline kind").select_option("window")
    form.get_by_label("Baseline value").fill(seeded.traffic.baseline_window)
    form.get_by_role("button", name="Start analysis").click()
    expect(page).to_have_url(re.compile(rf"/projects/{PROJECT}/embeddings/\d+$"))
    run = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".page-head .badge")).to_have_text("done", timeout=90000)  # the page refreshes itself
    expect(page.locator("#scatter[data-ready='1']")).to_be_attached(timeout=15000)
    got = page.evaluate("document.getElementById('scatter').data.reduce((n, t) => n + t.x.length, 0)")
    stored = analyses.get_analysis(seeded.engine, run)
    assert got == stored["n_production"] + stored["n_baseline"]
