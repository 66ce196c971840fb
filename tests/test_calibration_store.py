"""The last calibration per project and judge, on SQLite and PostgreSQL: a new report replaces the
old one, projects stay apart, REST's calibrate with a project keeps it (and lists it with the
project's evaluators), a failed run keeps nothing; and kappa's plain-words reading."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from tenbin.evals.calibration import kappa_reading
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port
from tenbin.store import calibrations as store
from tenbin.store.models import JudgeCalibration
from tests.test_evals_calibration import controlled


def report(accuracy: float, kappa: float | None, version: str = "v1") -> dict[str, object]:
    return {"judge": "toxicity", "version": version, "model": "m", "labels": ["non_toxic", "toxic"], "n": 22,
            "accuracy": accuracy, "kappa": kappa, "unparseable": 1, "confusion": [[8, 2, 1], [2, 9, 0]],
            "predictions": [{"line": 1, "expected": "toxic", "predicted": "non_toxic", "case": {"output": "é <b>"}}]}


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script=controlled) as server:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", server.model)
        yield server


def test_a_new_calibration_replaces_the_last_and_projects_stay_apart(engine) -> None:  # type: ignore[no-untyped-def]
    assert store.summaries(engine, "shop") == {} and store.last_report(engine, "shop", "toxicity") is None
    first = store.save(engine, "shop", report(0.5, None))
    assert (first["kappa"], first["version"]) == (None, "v1") and first["created"].endswith("Z")
    store.save(engine, "shop", report(0.75, 0.5, "v2"))
    store.save(engine, "other", report(0.25, -0.1))
    summary = store.summaries(engine, "shop")["toxicity"]
    assert (summary["accuracy"], summary["kappa"], summary["version"], summary["n"]) == (0.75, 0.5, "v2", 22)
    full = store.last_report(engine, "shop", "toxicity")
    assert full is not None and full["confusion"] == [[8, 2, 1], [2, 9, 0]]
    assert full["predictions"][0]["case"] == {"output": "é <b>"}
    assert store.summaries(engine, "other")["toxicity"]["kappa"] == -0.1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(JudgeCalibration)).scalar_one() == 2


def test_rest_calibrate_with_a_project_keeps_the_report_and_lists_it(server, engine, model) -> None:  # type: ignore[no-untyped-def]
    api = f"{server.url}/api/v1/evals"
    builtin = httpx.post(f"{api}/calibrate", json={"judge": "toxicity"}, timeout=120)
    assert builtin.status_code == 200 and store.summaries(engine, "shop") == {}
    body = httpx.post(f"{api}/calibrate", json={"judge": "toxicity", "project": "shop"}, timeout=120).json()
    assert body["version"] == "v1" and body["predictions"][4]["raw"] == '{"answer": "hmm, hard to say"}'
    listed = httpx.get(f"{api}/evaluators", params={"project": "shop"}).json()
    last = next(e for e in listed if e["name"] == "toxicity")["last_calibration"]
    assert (last["accuracy"], last["kappa"], last["model"], last["version"]) == (
        pytest.approx(17 / 22), pytest.approx(13 / 23, abs=1e-6), model.model, "v1")
    assert next(e for e in listed if e["name"] == "hallucination")["last_calibration"] is None
    assert store.last_report(engine, "shop", "toxicity")["confusion"] == body["confusion"]


def test_rest_calibrate_with_the_model_down_keeps_nothing(server, engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    down = httpx.post(f"{server.url}/api/v1/evals/calibrate", json={"judge": "toxicity", "project": "shop"}, timeout=120)
    assert down.status_code == 503 and "TENBIN_LLM_BASE_URL" in down.json()["detail"]
    assert store.summaries(engine, "shop") == {}


@pytest.mark.parametrize(("kappa", "words"), [
    (None, "undefined: the set and the judge each used a single label"), (-0.2, "no better than a constant label (or chance)"),
    (0.0, "no better than a constant label (or chance)"), (0.1, "slight agreement"), (0.2, "fair agreement"),
    (0.565, "moderate agreement"), (0.7, "substantial agreement"), (0.9, "almost perfect agreement"),
    (1.0, "perfect agreement"),
])
def test_kappa_reads_in_plain_words(kappa: float | None, words: str) -> None:
    assert kappa_reading(kappa) == words
