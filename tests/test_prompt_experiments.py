"""Prompt A/B experiments end to end on both databases: the SDK fetches sticky arms over REST,
spans arrive over OTLP stamped with the prompt version, feedback over REST; live results, stop
and promote (audited), bad input refused with nothing stored, per-version performance."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

import tenbin
from tenbin.client import Client
from tenbin.errors import InvalidInput, NotFound
from tenbin.prompts import experiments, registry
from tenbin.sdk.prompts import clear_cache
from tests.conftest import RunningServer
from tests.otlp_data import llm_attrs, make_request, make_span

PROJECT = "ab-shop"
ARMS = [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]


@pytest.fixture
def client(server: RunningServer, engine: Engine) -> Iterator[Client]:
    for text in ("Hello {{ name }}", "Hi {{ name }}!", "Hey {{ name }}"):
        registry.push(engine, PROJECT, {"name": "greeting", "template": text})
    registry.push(engine, PROJECT, {"name": "farewell", "template": "Bye"})
    registry.move_label(engine, PROJECT, "greeting", "production", 1, author="ana")
    clear_cache()
    assert tenbin.init(server.url, project=PROJECT)
    with Client(server.url) as c:
        yield c
    tenbin.shutdown()
    clear_cache()


def _spec(**over: Any) -> dict[str, Any]:
    return {"prompt": "greeting", "name": "friendlier", "arms": ARMS, "metric": {"kind": "thumbs"},
            "guardrails": {"latency_p95_ms": 1000, "error_rate": 0.5}, **over}


def _traffic(server: RunningServer, client: Client, units: list[str], up_rate: dict[int, float]) -> dict[str, int]:
    """Each unit fetches its prompt, makes one LLM call (OTLP) and leaves a thumbs feedback."""
    versions: dict[str, int] = {}
    spans, thumbs = [], []
    for i, unit in enumerate(units):
        prompt = tenbin.get_prompt("greeting", unit=unit)
        versions[unit] = prompt.version
        attrs = {**llm_attrs(), "llm.prompt_template.name": "greeting", "llm.prompt_template.version": str(prompt.version)}
        span = make_span("llm", attrs=attrs, duration_ms=20 + prompt.version * 10)
        spans.append(span)
        thumbs.append((span.span_id.hex(), 1.0 if (i % 20) < up_rate[prompt.version] * 20 else 0.0))
    r = httpx.post(f"{server.url}/v1/traces", content=make_request(spans, PROJECT).SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200, r.text
    for span_id, value in thumbs:
        client.feedback(span_id, kind="thumbs", value=value)
    return versions


def test_units_get_sticky_arms_and_results_show_the_better_version_then_promote_it(server, client) -> None:  # type: ignore[no-untyped-def]
    exp = client.create_prompt_experiment(_spec(), PROJECT)
    units = [f"user-{i}" for i in range(120)]
    versions = _traffic(server, client, units, {1: 0.2, 2: 0.9})
    clear_cache()
    assert all(tenbin.get_prompt("greeting", unit=u).version == versions[u] for u in units[:30])
    live = client.prompt_experiment(exp["id"], PROJECT)
    v1, v2 = live["arms"]
    assert v1["exposures"] + v2["exposures"] == 120
    assert (v1["exposures"], v2["exposures"]) == (list(versions.values()).count(1), list(versions.values()).count(2))
    assert v1["metric"]["n"] == v1["exposures"] and v1["metric"]["low"] < v1["metric"]["value"] < v1["metric"]["high"]
    assert v2["metric"]["value"] > 0.8 and v1["metric"]["value"] < 0.3
    assert v2["p_best"] > 0.99 and v2["test"]["significant"] and live["winner"] == 2
    assert not live["srm"]["alarm"] and live["srm"]["p_value"] > 0.001
    assert v1["guardrails"]["spans"] == v1["exposures"] and v1["guardrails"]["breached"] == []
    stopped = client.stop_prompt_experiment(exp["id"], PROJECT, promote="winner", author="ana")
    assert (stopped["status"], stopped["promoted_version"]) == ("stopped", 2)
    assert client.prompt("greeting", PROJECT, label="production")["version"] == 2
    move = client.prompt_audit("greeting", PROJECT)[0]
    assert (move["to_version"], move["author"]) == (2, "ana") and f"experiment {exp['id']}" in move["reason"]
    assert client.assign_prompt("greeting", "user-1", PROJECT)["experiment"] is None


def test_winner_is_refused_while_the_test_is_undecided(server, client) -> None:  # type: ignore[no-untyped-def]
    exp = client.create_prompt_experiment(_spec(), PROJECT)
    _traffic(server, client, [f"u{i}" for i in range(20)], {1: 0.5, 2: 0.5})
    assert client.prompt_experiment(exp["id"], PROJECT)["winner"] is None
    with pytest.raises(InvalidInput, match="no arm is significantly better"):
        client.stop_prompt_experiment(exp["id"], PROJECT, promote="winner")
    with pytest.raises(InvalidInput, match="not an arm"):
        client.stop_prompt_experiment(exp["id"], PROJECT, promote=3)
    assert client.prompt_experiment(exp["id"], PROJECT)["status"] == "running"
    assert client.stop_prompt_experiment(exp["id"], PROJECT)["promoted_version"] is None
    with pytest.raises(InvalidInput, match="already stopped"):
        client.stop_prompt_experiment(exp["id"], PROJECT)


def test_promotion_after_production_was_relabelled_mid_run_needs_force(client) -> None:  # type: ignore[no-untyped-def]
    exp = client.create_prompt_experiment(_spec(), PROJECT)
    client.move_prompt_label("greeting", "production", 3, PROJECT, author="bo")
    assert client.assign_prompt("greeting", "someone", PROJECT)["version"] in (1, 2)
    with pytest.raises(InvalidInput, match="moved to v3 by bo"):
        client.stop_prompt_experiment(exp["id"], PROJECT, promote=2)
    assert client.prompt("greeting", PROJECT, label="production")["version"] == 3
    client.stop_prompt_experiment(exp["id"], PROJECT, promote=2, force=True)
    assert client.prompt("greeting", PROJECT, label="production")["version"] == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"arms": [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.4}]}, "sum to 0.9"),
    ({"arms": [{"version": 1, "weight": 1.0}]}, "at least two arms"),
    ({"arms": [{"version": 1, "weight": 0.5}, {"version": 1, "weight": 0.5, "prompt": "farewell"}]}, "every arm must be a version of 'greeting'"),
    ({"arms": [{"version": 1, "weight": 0.5}, {"version": 1, "weight": 0.5}]}, "repeat a version"),
    ({"arms": [{"version": 1, "weight": 0.0}, {"version": 2, "weight": 1.0}]}, "above 0"),
    ({"metric": {"kind": "score"}}, "needs the feedback name"),
    ({"guardrails": {"latency_p99": 5}}, "unknown guardrail"),
])
def test_bad_experiments_are_refused_and_nothing_is_stored(client, change: dict[str, Any], message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        client.create_prompt_experiment(_spec(**change), PROJECT)
    assert client.prompt_experiments(PROJECT) == []


def test_unknown_versions_and_a_second_running_experiment_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="versions are 1 to 3"):
        client.create_prompt_experiment(_spec(arms=[{"version": 1, "weight": 0.5}, {"version": 9, "weight": 0.5}]), PROJECT)
    first = client.create_prompt_experiment(_spec(), PROJECT)
    with pytest.raises(InvalidInput, match=f"experiment {first['id']} .* already running"):
        client.create_prompt_experiment(_spec(), PROJECT)
    with pytest.raises(NotFound, match="no prompt experiment 999"):
        client.prompt_experiment(999, PROJECT)
    assert [e["id"] for e in client.prompt_experiments(PROJECT, prompt="greeting")] == [first["id"]]


def test_exposures_are_logged_once_per_unit(engine: Engine, client) -> None:  # type: ignore[no-untyped-def]
    exp = experiments.create(engine, PROJECT, _spec())
    arms = {experiments.assign(engine, PROJECT, "greeting", "same-user")["experiment"]["arm"] for _ in range(5)}
    assert len(arms) == 1
    assert sum(a["exposures"] for a in experiments.results(engine, PROJECT, exp["id"])["arms"]) == 1
    with pytest.raises(InvalidInput, match="unit must be"):
        experiments.assign(engine, PROJECT, "greeting", "")


def test_per_version_performance_over_time(server, client) -> None:  # type: ignore[no-untyped-def]
    spans = []
    for version, n in ((1, 3), (2, 2)):
        for _ in range(n):
            attrs = {**llm_attrs(), "llm.prompt_template.name": "greeting", "llm.prompt_template.version": str(version),
                     "llm.cost.total": 0.5}
            spans.append(make_span("llm", trace_id=os.urandom(16), attrs=attrs))
    r = httpx.post(f"{server.url}/v1/traces", content=make_request(spans, PROJECT).SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    client.feedback(spans[0].span_id.hex(), kind="thumbs", value=1)
    client.feedback(spans[3].span_id.hex(), name="faithfulness", kind="score", value=0.25, source="llm")
    client.feedback(spans[4].span_id.hex(), name="faithfulness", kind="score", value=0.75, source="code")
    rows = {r["version"]: r for r in client.prompt_performance("greeting", PROJECT, bucket_seconds=86400)}
    assert set(rows) == {"1", "2"}
    assert (rows["1"]["count"], rows["2"]["count"], rows["1"]["thumbs_up_rate"]) == (3, 2, 1.0)
    assert rows["2"]["evals"]["faithfulness"] == {"mean": 0.5, "n": 2} and rows["1"]["evals"] == {}
    assert rows["1"]["total_tokens"] == 3 * 150 and rows["1"]["bucket"]
    with pytest.raises(InvalidInput, match="bucket_seconds"):
        client.prompt_performance("greeting", PROJECT, bucket_seconds=0)


def test_sdk_caches_the_arm_per_unit_and_refreshes_after_the_ttl(engine: Engine, client) -> None:  # type: ignore[no-untyped-def]
    exp = client.create_prompt_experiment(_spec(arms=[{"version": 2, "weight": 0.5}, {"version": 3, "weight": 0.5}]), PROJECT)
    arm = tenbin.get_prompt("greeting", unit="kim", cache_ttl=0.0)
    assert arm.version in (2, 3) and arm.label is None
    client.stop_prompt_experiment(exp["id"], PROJECT)
    assert tenbin.get_prompt("greeting", unit="kim", cache_ttl=3600).version == arm.version
    deadline = time.monotonic() + 20
    while tenbin.get_prompt("greeting", unit="kim", cache_ttl=0.0).version != 1:
        assert time.monotonic() < deadline, "the stale arm was never refreshed"
        time.sleep(0.05)
    with pytest.raises(InvalidInput, match="a unit .* or a label/version"):
        tenbin.get_prompt("greeting", unit="kim", label="production")
