"""The demo's steps on a real server with the scripted model: the A/B experiment set up before the
conversations, the conversations split between its arms by session, then the dataset built from the
liked answers and the eval experiment of the candidate prompt over it; the online eval rule over the
live answers, then the embedding analysis of the questions, its LLM cluster report and a monitor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import tenbin.evals as ev
from tenbin.agents.loop import builtin_template
from tenbin.client import Client
from tenbin.demo import ab, analysis, evals, online, traffic
from tenbin.evals import EvalInput, get_dataset
from tenbin.examples.docs_bot import PROMPT_NAME, Answer
from tenbin.llm.scripted import ScriptedLLM
from tenbin.sdk.prompts import clear_cache
from tests.conftest import RunningServer
from tests.test_docs_bot import quote_first_passage

PROJECT = "demo-flow"


def test_demo_runs_a_live_ab_experiment_then_an_eval_over_its_liked_answers(server: RunningServer) -> None:
    clear_cache()
    with ScriptedLLM(script=quote_first_passage) as model, Client(server.url) as client:
        exp = ab.start_experiment(server.url, PROJECT)
        production = client.prompt(PROMPT_NAME, PROJECT, label="production")
        assert production["version"] == 1 and production["messages"] == builtin_template().to_dict()["messages"]
        assert [a["weight"] for a in exp["arms"]] == [0.5, 0.5] and exp["metric"]["kind"] == "thumbs"

        answers, _downs = traffic.converse(server.url, [model], 12, PROJECT)
        live = client.prompt_experiment(exp["id"], PROJECT)
        assert sum(a["exposures"] for a in live["arms"]) == 12 and all(a["exposures"] for a in live["arms"])
        assert sum(a["metric"]["n"] for a in live["arms"]) == answers
        assert set(exp["guardrails"]) == {"latency_p95_ms", "error_rate"} and live["status"] == "running"
        assert httpx.get(ab.page(server.url, exp["id"], PROJECT)).status_code == 200
        ab.report(server.url, exp["id"], PROJECT)
        spans_before = client.metrics(PROJECT)[0]["count"]

        result = evals.evaluate(server.url, model, 2, 20, project=PROJECT)
        assert result is not None
        dataset = get_dataset(evals.DATASET, project=PROJECT, endpoint=server.url)
        assert client.metrics(PROJECT)[0]["count"] == spans_before
    examples = dataset["examples"]
    assert 0 < len(examples) <= 12 and all(e["expected"] and e["metadata"]["page"] for e in examples)
    assert len({e["input"] for e in examples}) == len(examples)
    summary = result["summary"]
    assert summary["examples"] == len(examples) and summary["errors"] == 0
    assert set(summary["scores"]) == {"model_answered", "cites_expected_page", "overlap_with_liked_answer", "length"}
    assert summary["scores"]["model_answered"]["mean"] == 1 and summary["scores"]["cites_expected_page"]["mean"] > 0.5
    assert summary["scores"]["overlap_with_liked_answer"]["mean"] > 0.5


def test_the_eval_checks_read_the_bots_fallback_its_sources_and_the_liked_answer() -> None:
    fell_back = evals.as_output(Answer("From billing/refunds.md: Annual plans are refunded.", ["billing/refunds.md › Refunds"],
                                       True, fallback="step_limit"))
    example = EvalInput(output=fell_back, reference="Annual plans are refunded within 30 days.",
                        metadata={"page": "billing/seats.md"})
    results = {r.evaluator: r for r in ev.evaluate(example, ["model_answered", "cites_expected_page",
                                                             "overlap_with_liked_answer"])}
    assert results["model_answered"].label == "fail" and "step_limit" in results["model_answered"].explanation
    assert results["cites_expected_page"].label == "fail" and "billing/refunds.md" in results["cites_expected_page"].explanation
    assert 0 < results["overlap_with_liked_answer"].score < 1


def bot_or_reporter(messages: list[dict[str, Any]]) -> str:
    """The bot's answers quote their first passage; anything else is a cluster report."""
    if "Passages:" in str(messages[-1]["content"]):
        return quote_first_passage(messages)
    return "About: questions the docs do not cover.\nProblem: every answer got a thumbs-down.\nFix: say so."


def test_demo_scores_live_answers_online_then_clusters_the_questions_with_a_report_and_a_monitor(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_cache()
    with ScriptedLLM(script=bot_or_reporter) as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        created = online.create_rule(server.url, project=PROJECT)
        assert created["filter"] == online.FILTER and created["evaluated"] == 0
        answers, downs = traffic.converse(server.url, [model], 12, PROJECT)
        rule = online.report(server.url, PROJECT)
        run = analysis.analyze(server.url, PROJECT)
    assert rule["backlog"] == 0 and rule["error"] == 0 and rule["evaluated"] + rule["unsampled"] == answers
    assert 0 < rule["evaluated"] < answers
    rates = online.pass_rates(server.url, PROJECT)
    assert set(rates) == set(online.CHECKS) and rates["regex"] == (1.0, rule["evaluated"])

    assert run["status"] == "done" and run["n_production"] + run["n_baseline"] == answers
    assert abs(run["n_production"] - run["n_baseline"]) <= 1 and run["params"]["filter"] == analysis.AGENTS
    top = analysis.top_cluster(run)
    assert top is not None
    report = analysis.api(server.url, "GET", f"/analyses/{run['id']}/clusters/{top['cluster']}/report")
    assert report["report"].startswith("About: questions the docs do not cover")
    monitors = analysis.api(server.url, "GET", f"/projects/{PROJECT}/monitors")
    assert [m["name"] for m in monitors] == [analysis.MONITOR["name"]]
    history = analysis.api(server.url, "GET", f"/monitors/{monitors[0]['id']}/evaluations")
    assert len(history) == 1 and history[0]["analysis_id"] == run["id"] and downs > 0
    for path in (online.page(server.url, PROJECT), analysis.page(server.url, run["id"], project=PROJECT),
                 f"{server.url}/projects/{PROJECT}/alerts"):
        assert httpx.get(path).status_code == 200


def test_the_online_rules_fallback_check_fails_the_bots_quoted_passage_and_passes_a_model_answer() -> None:
    spec = online.CHECKS["regex"][0]
    fallback = "From billing/refunds.md › Refunds: We refund annual subscriptions within 30 days."
    results = [ev.evaluate(EvalInput(output=text), [spec])[0] for text in (fallback, "Annual plans are refunded [1].")]
    assert [r.label for r in results] == ["fail", "pass"]
