"""LLM cluster reports with the scripted LLM: what the prompt holds, where the report is stored,
re-runs, the registry prompt (created on first use, an edited version used), the token budget,
and over REST, that the LLM call is traced into the internal project and not the user's."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.analytics import reports
from tenbin.errors import NotFound
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM, message_text
from tenbin.prompts import registry
from tenbin.store import queries
from tests.conftest import RunningServer
from tests.monitor_helpers import seeded_analysis

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For checks whose SQL other tests already run on both dialects: saves PostgreSQL set-up time."""


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    """A scripted LLM whose n-th report says `report n`; also TENBIN_LLM_* for the server."""
    counter = itertools.count(1)
    with ScriptedLLM(script=lambda _messages: f"About: refunds.\nProblem: no answer.\nFix: report {next(counter)}") as m:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", m.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", m.model)
        yield m


def prompt_of(request: dict[str, Any]) -> str:
    return "\n".join(message_text(m) for m in request["messages"])


def test_report_prompt_holds_cluster_and_baseline_samples_and_metrics_and_is_stored(
        engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    first = reports.generate(engine, analysis_id, 0, llm=LLM(model.base_url, model.model))
    prompt = prompt_of(model.requests[0])
    assert 'Cluster 0 ("refund · order")' in prompt
    assert "How do I get a refund for order 0?" in prompt and "I cannot help with that, sorry (0)." in prompt
    assert "refund for order 5" not in prompt, "only the samples nearest the centre"
    assert "BASELINE SAMPLES (the same cluster in the baseline)" in prompt and "Refund for order 1, please" in prompt
    assert "thumbs-down: 83% of 6 ratings (whole: 20%)" in prompt
    assert "latency p50/p95: 900 ms / 2.4 s (whole: – / 800 ms)" in prompt and "metadata task: billing 100% (×1.5)" in prompt
    assert first["report"].endswith("report 1") and first["label"] == "refund · order"
    assert first["details"]["prompt"] == "tenbin-cluster-report" and first["details"]["prompt_version"] == 1
    assert first["details"]["model"] == model.model and first["details"]["prompt_tokens"] <= reports.PROMPT_BUDGET
    assert model.requests[0]["max_tokens"] == reports.ANSWER_TOKENS and model.requests[0]["frequency_penalty"] == 0.5
    again = reports.generate(engine, analysis_id, 0, llm=LLM(model.base_url, model.model))
    assert again["report"].endswith("report 2")
    assert reports.get_report(engine, analysis_id, 0)["report"].endswith("report 2")
    assert reports.get_report(engine, analysis_id, 1)["report"] is None


@SQLITE_ONLY
def test_a_new_topic_is_compared_with_other_baseline_traffic(engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    reports.generate(engine, analysis_id, 1, llm=LLM(model.base_url, model.model))
    prompt = prompt_of(model.requests[0])
    assert "BASELINE SAMPLES (other baseline traffic; this cluster has none)" in prompt
    assert "How do I reset my password?" in prompt and "webhooks (2)" in prompt


@SQLITE_ONLY
def test_the_registry_prompt_is_created_once_and_an_edited_production_version_is_used(
        engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    llm = LLM(model.base_url, model.model)
    reports.generate(engine, analysis_id, 0, llm=llm)
    stored = registry.get(engine, "p", reports.PROMPT_NAME)
    edited = {k: stored[k] for k in ("name", "messages", "variables")}
    edited["messages"] = [{"role": "user", "content": "Explain cluster {{ cluster }} in one line:\n{{ metrics }}"}]
    edited["variables"] = [v for v in stored["variables"] if v["name"] in ("cluster", "metrics")]
    v2 = registry.push(engine, "p", edited)
    registry.move_label(engine, "p", reports.PROMPT_NAME, "production", v2["version"])
    done = reports.generate(engine, analysis_id, 0, llm=llm)
    assert done["details"]["prompt_version"] == 2
    assert prompt_of(model.requests[-1]).startswith("Explain cluster 0 in one line:\nsize: 6 production spans")
    assert [v["version"] for v in registry.list_versions(engine, "p", reports.PROMPT_NAME)] == [2, 1]


@SQLITE_ONLY
def test_long_samples_are_cut_to_fit_the_small_models_budget(engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine, chars=2000)
    done = reports.generate(engine, analysis_id, 0, llm=LLM(model.base_url, model.model))
    assert done["details"]["prompt_tokens"] <= reports.PROMPT_BUDGET
    prompt = prompt_of(model.requests[0])
    assert "How do I get a refund for order 0?" in prompt and "…" in prompt


@SQLITE_ONLY
def test_an_unknown_cluster_or_analysis_is_a_clear_not_found(engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    with pytest.raises(NotFound, match=f"analysis {analysis_id} has no cluster 7; its clusters are: 0, 1"):
        reports.generate(engine, analysis_id, 7, llm=LLM(model.base_url, model.model))
    with pytest.raises(NotFound, match="no analysis 999"):
        reports.get_report(engine, 999, 0)
    assert model.requests == []


def test_report_over_rest_is_traced_into_the_internal_project_only(engine: Engine, server: RunningServer,
                                                                   model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    path = f"/analyses/{analysis_id}/clusters/0/report"
    spans_before = len(queries.list_spans(engine, queries.SpanQuery("p"), limit=100).items)
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as http:
        assert http.get(path).json()["report"] is None
        made = http.post(path)
        assert made.status_code == 200, made.text
        assert made.json()["report"].endswith("report 1") and http.get(path).json()["report"].endswith("report 1")
        missing = http.post(f"/analyses/{analysis_id}/clusters/9/report")
        assert missing.status_code == 404 and "has no cluster 9" in missing.json()["detail"]
    internal = queries.list_spans(engine, queries.SpanQuery("tenbin-evals", 'name == "cluster-report"')).items
    assert len(internal) == 1 and internal[0]["prompt_name"] == "tenbin-cluster-report"
    assert len(queries.list_spans(engine, queries.SpanQuery("p"), limit=100).items) == spans_before
