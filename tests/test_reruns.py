""""Run again" for the three kinds of background run, over real HTTP on both databases: a run left
running (stored by the real start path) is refused while it runs, marked interrupted as a server
start marks it, then run again; the new run finishes with the original's resolved parameters even
though labels, dataset versions, judge templates and the newest span moved in between. The CLI
and the run pages' Run again forms re-run too; a run whose prompt or dataset version is gone is
refused, storing nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select
from typer.testing import CliRunner

import tenbin.autoprompt as ap
import tenbin.evals as ev
from tenbin.analytics import analysis
from tenbin.analytics.clustering import HdbscanParams
from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.embedding import run_embed
from tenbin.analytics.synthetic import plant_problems
from tenbin.autoprompt import runs
from tenbin.cli import app
from tenbin.evals import experiments
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.prompts import registry
from tenbin.store import analyses
from tenbin.store import datasets as store
from tenbin.store.interrupted import mark_interrupted
from tenbin.store.lookup import now_us
from tenbin.store.models import (
    Dataset,
    DatasetVersion,
    Experiment,
    Prompt,
    PromptVersion,
)
from tenbin.store.queries import SpanQuery
from tenbin.store.segments import time_extent
from tests import test_autoprompt as gen
from tests import test_experiments as exp
from tests.embed_helpers import llm_row, store_rows
from tests.llm_helpers import configured_llm
from tests.test_analysis_api import _wait as wait_analysis

API = "/api/v1"
DAY_US = 86_400_000_000
runner = CliRunner()


@pytest.fixture
def judge_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, exp.script) as scripted:
        yield scripted


@pytest.fixture
def proposer_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, gen.script) as scripted:
        yield scripted


def interrupt(engine: Engine, kind: str) -> None:
    """What a server start does to runs a dead process left running (exactly one of `kind`)."""
    assert mark_interrupted(engine, now_us() + 1)[kind] == 1


def refused_while_running(url: str) -> None:
    r = httpx.post(url, timeout=30)
    assert r.status_code == 400 and "is still" in r.json()["detail"] and "wait for it" in r.json()["detail"], r.text


def edit_judge_template(engine: Engine) -> None:
    """A new production version of the qa_correctness judge's template (the original ran with v1)."""
    judge = registry.get(engine, "shop", "tenbin-judge-qa_correctness")
    messages = [{**m, "content": m["content"] + " Be strict."} if m["role"] == "system" else m for m in judge["messages"]]
    pushed = registry.push(engine, "shop", {"name": judge["name"], "format": judge["format"], "messages": messages,
                                            "variables": judge["variables"]})
    registry.move_label(engine, "shop", judge["name"], "production", pushed["version"])


def test_an_interrupted_experiment_runs_again_with_its_prompt_dataset_and_judge_versions(
        server: Any, engine: Engine, judge_model: ScriptedLLM) -> None:
    exp.seed(engine)
    registry.move_label(engine, "shop", "support", "production", 1)
    evaluators = ["qa_correctness", {"name": "contains", "params": {"text": "Oslo"}}]
    _, original = experiments.prepare_stored(engine, "shop", "faq", prompt="support@production", evaluators=evaluators)
    url = f"{server.url}{API}/projects/shop/experiments"
    refused_while_running(f"{url}/{original}/rerun")
    interrupt(engine, "experiments")
    registry.move_label(engine, "shop", "support", "production", 2)
    store.change_examples(engine, "shop", "faq", add=[{"input": {"question": "Hi?"}, "expected": "Hello"}])
    edit_judge_template(engine)

    started = httpx.post(f"{url}/{original}/rerun", timeout=30)
    assert started.status_code == 202 and started.json()["status"] == "running", started.text
    done = ev.wait_experiment(started.json()["id"], project="shop", endpoint=server.url, poll_s=0.05)
    before = store.get_experiment(engine, "shop", original)
    assert done["task"] == {"kind": "prompt", "name": "support", "version": 1, "rerun_of": original}
    assert (done["dataset_version"], done["name"], done["evaluators"]) == (1, before["name"], before["evaluators"])
    assert [(e["name"], e["version"], e.get("params")) for e in done["evaluators"]] == [
        ("qa_correctness", "v1", None), ("contains", "1", {"text": "Oslo"})]
    scores = done["summary"]["scores"]
    assert (scores["qa_correctness"]["mean"], scores["contains"]["n"], done["summary"]["examples"]) == (1.0, 3, 3)
    assert httpx.post(f"{url}/999/rerun").status_code == 404

    again = runner.invoke(app, ["eval", "rerun", str(original), "-p", "shop", "--endpoint", server.url],
                          env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert f"experiment {done['id'] + 1}: support@v1 on faq v1" in again.output and "3 examples, 0 errors" in again.output


def test_a_gone_prompt_version_or_a_function_task_is_refused_and_nothing_is_stored(
        server: Any, engine: Engine, judge_model: ScriptedLLM) -> None:
    exp.seed(engine)
    _, original = experiments.prepare_stored(engine, "shop", "faq", prompt="support@2", evaluators=["qa_correctness"])
    interrupt(engine, "experiments")
    with engine.begin() as conn:
        prompt_id = conn.execute(select(Prompt.id).where(Prompt.name == "support")).scalar_one()
        conn.execute(delete(PromptVersion).where(PromptVersion.prompt_id == prompt_id, PromptVersion.version == 2))
    url = f"{server.url}{API}/projects/shop/experiments"
    gone = httpx.post(f"{url}/{original}/rerun", timeout=30)
    assert gone.status_code == 400, gone.text
    assert gone.json()["detail"] == (f"experiment {original} cannot run again: prompt 'support' has no version 2; "
                                     "versions are 1 to 1. Nothing was stored.")
    ids = [e["id"] for e in store.get_dataset(engine, "shop", "faq")["examples"]]
    function_run = store.insert_experiment(engine, "shop", "faq", 1, {"name": "shout", "task": {"kind": "function",
                                           "name": "shout"}}, [{"example_id": i, "output": "x"} for i in ids])
    local = httpx.post(f"{url}/{function_run}/rerun", timeout=30)
    assert local.status_code == 400 and "ran the Python function 'shout'" in local.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Experiment)).scalar_one() == 2


def left_analysis(engine: Engine) -> int:
    """Planted traffic (24 production and 16 baseline spans, embedded) and an analysis of the last
    7 days against the 7 before, stored `queued` by the real start path and never executed."""
    plant_problems(engine, "shop", n_turns=40, seed=3, embedder=get_embedder("wordllama"))
    request = analysis.AnalysisRequest("shop", "previous", "7d", model="wordllama", hdbscan=HdbscanParams(5, 2))
    return analyses.create_analysis(engine, "shop", analysis.prepare(engine, request).params)


def test_an_interrupted_analysis_runs_again_on_the_same_resolved_windows(server: Any, engine: Engine) -> None:
    original = left_analysis(engine)
    refused_while_running(f"{server.url}{API}/analyses/{original}/rerun")
    interrupt(engine, "analyses")
    newest = time_extent(engine, SpanQuery("shop"))[1]  # type: ignore[index]
    store_rows(engine, [llm_row("how do I pair my smart lights with the hub", "Hold the button.", newest + 2 * DAY_US)],
               "shop")
    run_embed(engine, "shop", get_embedder("wordllama"), "input")  # a 7d window resolved now ends 2 days later

    started = httpx.post(f"{server.url}{API}/analyses/{original}/rerun", timeout=30)
    assert started.status_code == 202 and started.json()["params"]["rerun_of"] == original, started.text
    run = wait_analysis(server.url, started.json()["id"])
    assert run["status"] == "done", run["error"]
    before = analyses.get_analysis(engine, original)
    assert {k: v for k, v in run["params"].items() if k != "rerun_of"} == before["params"]
    assert (run["n_production"], run["n_baseline"]) == (24, 16)
    assert httpx.post(f"{server.url}{API}/analyses/999/rerun").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tenbin_analyze_rerun_runs_a_stored_run_again_in_process(engine: Engine, database_url: str) -> None:
    original = left_analysis(engine)
    interrupt(engine, "analyses")
    result = runner.invoke(app, ["analyze", "-p", "shop", "--rerun", str(original), "--database-url", database_url],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"analysis {original + 1} of shop: done" in result.output and "24 production vs 16 baseline" in result.output
    again = runner.invoke(app, ["analyze", "-p", "shop", "--rerun", str(original + 1), "--database-url", database_url])
    assert again.exit_code == 0 and analyses.get_analysis(engine, original + 2)["params"]["rerun_of"] == original + 1


def test_an_interrupted_prompt_generation_runs_again_with_its_dataset_and_base_prompt_versions(
        server: Any, engine: Engine, proposer_model: ScriptedLLM) -> None:
    gen.seed(engine)
    registry.push(engine, "geo", {"name": "capital", "template": "As a geography expert: {{ question }}"})
    registry.move_label(engine, "geo", "capital", "production", 1)
    original, _ = runs.prepare_run(engine, "geo", {**gen.REQUEST, "base_prompt": "capital@production"}, LLM())
    url = f"{server.url}{API}/prompt-generations"
    refused_while_running(f"{url}/{original}/rerun")
    interrupt(engine, "prompt_generations")
    pushed = registry.push(engine, "geo", {"name": "capital", "template": "Say something about {{ question }}"})
    registry.move_label(engine, "geo", "capital", "production", pushed["version"])
    store.change_examples(engine, "geo", "capitals", add=[{"input": "Chile", "expected": "Santiago"}])

    started = httpx.post(f"{url}/{original}/rerun", timeout=30)
    assert started.status_code == 202, started.text
    done = ap.wait(started.json()["id"], endpoint=server.url, poll_s=0.05)
    assert done["status"] == "done", done["error"]
    before = runs.get_run(engine, original, results=False)["spec"]
    same = ("task", "n", "evaluator", "input_var", "shots", "limit", "seed", "max_tokens", "evaluator_resolved")
    assert {k: done["spec"][k] for k in same} == {k: before[k] for k in same}
    assert (done["dataset_version"], done["spec"]["base_prompt"], done["spec"]["rerun_of"]) == (1, "capital@1", original)
    base = next(c for c in done["candidates"] if c["position"] == 0)
    assert base["origin"]["base"] == {"name": "capital", "version": 1} and base["summary"]["score"] == 1.0
    assert httpx.post(f"{url}/999/rerun").status_code == 404

    again = runner.invoke(app, ["prompts", "generate", "--rerun", str(original), "--endpoint", server.url,
                                "--project", "geo"], env={"COLUMNS": "220"})
    assert again.exit_code == 0, again.output
    assert f"run #{done['id'] + 1} on dataset capitals v1" in again.output
    both = runner.invoke(app, ["prompts", "generate", "--rerun", str(original), "--dataset", "capitals",
                               "--endpoint", server.url, "--project", "geo"])
    assert both.exit_code == 1 and "--rerun ID alone" in both.output


def ui_post(client: httpx.Client, page: str) -> httpx.Response:
    """Press the run page's Run again button: its CSRF-checked form, as a browser sends it."""
    html = client.get(page).text
    assert "Run again" in html
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return client.post(page + "/rerun", data={"csrf": token})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_again_buttons_start_a_new_analysis_or_show_why_a_generation_cannot(
        server: Any, engine: Engine, proposer_model: ScriptedLLM) -> None:
    original = left_analysis(engine)
    gen.seed(engine)
    generation, _ = runs.prepare_run(engine, "geo", gen.REQUEST, LLM())
    mark_interrupted(engine, now_us() + 1)
    store.change_examples(engine, "geo", "capitals", add=[{"input": "Chile", "expected": "Santiago"}])
    with engine.begin() as conn:
        dataset_id = conn.execute(select(Dataset.id).where(Dataset.name == "capitals")).scalar_one()
        conn.execute(delete(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.version == 1))

    with httpx.Client(base_url=server.url, timeout=30) as client:
        started = ui_post(client, f"/projects/shop/embeddings/{original}")
        assert (started.status_code, started.headers["location"]) == (303, f"/projects/shop/embeddings/{original + 1}")
        assert wait_analysis(server.url, original + 1)["params"]["rerun_of"] == original
        assert 'id="rerun-of"' in client.get(started.headers["location"]).text
        refused = ui_post(client, f"/projects/geo/prompt-generations/{generation}")
        assert refused.status_code == 400 and 'id="rerun-error"' in refused.text
        assert f"prompt generation run {generation} cannot run again: dataset &#39;capitals&#39; has no version 1" in refused.text
    assert [r["id"] for r in runs.list_runs(engine, "geo")] == [generation]
