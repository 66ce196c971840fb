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
from tenbin.store import analyses, queries
from tests.conftest import RunningServer
from tests.monitor_helpers import T0, span_row, store_rows

REFUND_Q = "How do I get a refund for order {n}?"
REFUND_A = "I cannot help with that, sorry ({n})."


def seeded_analysis(engine: Engine, chars: int = 0) -> int:
    """Cluster 0: refund questions, in production (badly answered) and the baseline; cluster 1:
    a new topic in production only; the baseline also holds an unrelated span."""
    pad = " extra detail" * chars
    refunds = [span_row(T0 + i, input_value=REFUND_Q.format(n=i) + pad, output_value=REFUND_A.format(n=i) + pad)
               for i in range(6)]
    before = [span_row(T0 - 10**9 + i, input_value=f"Refund for order {i}, please", output_value="Billing → Refunds.")
              for i in range(2)]
    new = [span_row(T0 + 100 + i, input_value=f"Does the API support webhooks ({i})?", output_value="Yes.")
           for i in range(3)]
    other = span_row(T0 - 10**9 + 50, input_value="How do I reset my password?", output_value="Use Forgot password.")
    store_rows(engine, refunds + before + new + [other])
    metrics = {"n_production": 6, "n_baseline": 2, "share_production": 0.67, "drift_ratio": 1.4, "thumbs": 6,
               "thumbs_down_rate": 0.83, "latency_p50_ms": 900.0, "latency_p95_ms": 2400.0,
               "metadata": {"task": [{"value": "billing", "share": 1.0, "lift": 1.5}]},
               "sample_span_ids": [r["span_id"] for r in refunds[:4]]}
    new_metrics = {"n_production": 3, "n_baseline": 0, "drift_ratio": 12.5, "thumbs": 0,
                   "sample_span_ids": [r["span_id"] for r in new]}
    analysis_id = analyses.create_analysis(engine, "p", {"window": "1h", "baseline": "previous"})
    points = [("production", r, 0) for r in refunds] + [("baseline", r, 0) for r in before] + \
             [("production", r, 1) for r in new] + [("baseline", other, -1)]
    analyses.save_results(
        engine, analysis_id, drift={"mmd2": 0.1, "p_value": 0.01},
        summary={"production": {"thumbs_down_rate": 0.2, "latency_p95_ms": 800.0}},
        clusters=[{"cluster": 0, "size": 8, "label": "refund · order", "metrics": metrics, "problem_score": 2.0, "rank": 1},
                  {"cluster": 1, "size": 3, "label": "api · webhooks", "metrics": new_metrics, "problem_score": 1.0,
                   "rank": 2}],
        points=[{"side": side, "span_id": r["span_id"], "cluster": c, "x": 0.0, "y": 0.0, "x3": 0.0, "y3": 0.0,
                 "z3": 0.0} for side, r, c in points])
    return analysis_id


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
    assert model.requests[0]["max_tokens"] == reports.ANSWER_TOKENS
    again = reports.generate(engine, analysis_id, 0, llm=LLM(model.base_url, model.model))
    assert again["report"].endswith("report 2")
    assert reports.get_report(engine, analysis_id, 0)["report"].endswith("report 2")
    assert reports.get_report(engine, analysis_id, 1)["report"] is None


def test_a_new_topic_is_compared_with_other_baseline_traffic(engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine)
    reports.generate(engine, analysis_id, 1, llm=LLM(model.base_url, model.model))
    prompt = prompt_of(model.requests[0])
    assert "BASELINE SAMPLES (other baseline traffic; this cluster has none)" in prompt
    assert "How do I reset my password?" in prompt and "webhooks (2)" in prompt


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


def test_long_samples_are_cut_to_fit_the_small_models_budget(engine: Engine, model: ScriptedLLM) -> None:
    analysis_id = seeded_analysis(engine, chars=2000)
    done = reports.generate(engine, analysis_id, 0, llm=LLM(model.base_url, model.model))
    assert done["details"]["prompt_tokens"] <= reports.PROMPT_BUDGET
    prompt = prompt_of(model.requests[0])
    assert "How do I get a refund for order 0?" in prompt and "…" in prompt


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
