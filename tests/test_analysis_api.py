"""Analyses over real HTTP and through `tenbin analyze`, on planted traffic embedded with WordLlama."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.synthetic import SLOW_TASK, Traffic, plant_problems
from tenbin.cli import app
from tenbin.client import Client
from tenbin.server.ui.embedding_scatter import UNDRAWN
from tenbin.store import analyses as store

API = "/api/v1"


def _plant(engine: Engine) -> Traffic:
    return plant_problems(engine, "shop", n_turns=300, seed=3, embedder=get_embedder("wordllama"))


def _wait(url: str, analysis_id: int, deadline_s: float = 180) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        run = httpx.get(f"{url}{API}/analyses/{analysis_id}").json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"analysis did not finish: {run}")


def test_an_analysis_started_over_http_runs_in_the_background_and_serves_its_results(server: Any, engine: Engine) -> None:
    traffic = _plant(engine)
    body = {"baseline": traffic.baseline_window, "window": traffic.production_window, "model": "wordllama"}
    r = httpx.post(f"{server.url}{API}/projects/shop/analyses", json=body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("queued", "running", "done")
    run = _wait(server.url, r.json()["id"])
    assert run["status"] == "done", run["error"]
    assert (run["n_production"], run["n_baseline"]) == (180, 120)
    assert run["drift"]["p_value"] is not None and run["params"]["model"] == "wordllama-l2-supercat-256"
    ranked = [c["rank"] for c in run["clusters"] if c["rank"] is not None]
    assert ranked == list(range(1, len(ranked) + 1)) and ranked

    points = httpx.get(f"{server.url}{API}/analyses/{run['id']}/points")
    data = points.json()
    assert points.headers["content-encoding"] == "gzip" and data["n"] == 300
    assert all(len(data[k]) == 300 for k in ("span_id", "x", "y", "x3", "y3", "z3", "cluster", "thumbs", "version"))
    page = httpx.get(f"{server.url}/projects/shop/embeddings/{run['id']}/points.json").json()
    assert {k: v for k, v in data.items() if k not in UNDRAWN} == {k: v for k, v in page.items() if k != "timeline"}
    first = run["clusters"][0]["cluster"]
    with Client(server.url) as client:
        frame = client.analysis_points(run["id"], cluster=first, dataframe=True)
    assert len(frame) == run["clusters"][0]["size"] and set(frame["cluster"]) == {first}
    assert set(frame["side"]) <= {"production", "baseline"} and frame["span_id"].is_unique
    bad = httpx.get(f"{server.url}{API}/analyses/{run['id']}/points", params={"cluster": 999})
    assert bad.status_code == 400 and "has no cluster 999; its clusters are" in bad.text
    samples = httpx.get(f"{server.url}{API}/analyses/{run['id']}/clusters/{first}/samples").json()["items"]
    assert samples and all(s["input_value"] for s in samples)

    by_task = httpx.get(f"{server.url}{API}/analyses/{run['id']}/segments", params={"by": "metadata.task"}).json()
    slow = next(s for s in by_task["segments"] if s["segment"] == SLOW_TASK)
    assert slow["filter"] == 'metadata["task"] == "summarize"'
    inside = httpx.get(f"{server.url}{API}/analyses/{run['id']}/segments",
                       params={"segment": f"metadata.task:{SLOW_TASK}"}).json()
    assert inside["size"] == slow["metrics"]["size"] == sum(c["size"] for c in inside["clusters"])
    listed = httpx.get(f"{server.url}{API}/projects/shop/analyses").json()["items"]
    assert [a["id"] for a in listed] == [run["id"]]


def test_bad_analysis_requests_get_a_clear_error_and_create_no_run(server: Any, engine: Engine) -> None:
    _plant(engine)
    url = f"{server.url}{API}/projects/shop/analyses"
    r = httpx.post(url, json={"baseline": "prompt:support@9", "model": "wordllama"})
    assert r.status_code == 400 and "baseline (prompt support@9) has no spans" in r.text
    r = httpx.post(url, json={"baseline": "previous"})
    assert r.status_code == 400 and "open-ended" in r.text
    r = httpx.post(url, json={"baseline": "all", "model": "minilm"})
    assert r.status_code == 400 and "no input vectors of model 'all-MiniLM-L6-v2'" in r.text
    assert httpx.get(f"{server.url}{API}/projects/shop/analyses").json()["items"] == []
    assert httpx.get(f"{server.url}{API}/analyses/999").status_code == 404
    assert httpx.get(f"{server.url}{API}/analyses/1/segments").status_code in (400, 404)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tenbin_analyze_prints_the_cluster_table_drift_line_and_segments(engine: Engine, database_url: str) -> None:
    traffic = _plant(engine)
    runner = CliRunner()
    common = ["analyze", "-p", "shop", "--database-url", database_url]
    out = runner.invoke(app, [*common, "--baseline", traffic.baseline_window, "--window", traffic.production_window,
                              "--json"])
    assert out.exit_code == 0, out.output
    run = json.loads(out.output.strip().splitlines()[-1])
    assert run["status"] == "done" and run["clusters"][0]["rank"] == 1
    shown = runner.invoke(app, [*common, "--show", str(run["id"]), "--segments", "metadata.task"])
    assert shown.exit_code == 0, shown.output
    assert "drift: MMD²=" in shown.output
    assert "down lift" in shown.output and SLOW_TASK in shown.output
    bad = runner.invoke(app, [*common, "--baseline", "dataset:missing"])
    assert bad.exit_code == 1 and "no dataset named 'missing'" in bad.output
    assert len(store.list_analyses(engine, "shop")) == 1
    listed = runner.invoke(app, ["analyze", "-p", "shop", "--database-url", database_url, "--list"])
    assert listed.exit_code == 0 and f"│ {run['id']} " in listed.output and "done" in listed.output
