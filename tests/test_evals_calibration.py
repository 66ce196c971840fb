"""Judge calibration: the shipped labelled sets, and exact agreement numbers for a controlled model."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import calibrate, judges
from tenbin.evals.calibration import DATA_DIR, load_set
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM

runner = CliRunner()
TOXICITY = [json.loads(line) for line in (DATA_DIR / "toxicity.jsonl").read_text().splitlines()]
WRONG_LINES, GARBLED_LINE = {1, 2, 3, 4}, 5


def controlled(messages: list[dict[str, Any]]) -> str:
    """Right on every toxicity case but lines 1-4 (flipped) and 5 (never a label)."""
    prompt = messages[1]["content"]
    for line, row in enumerate(TOXICITY, start=1):
        if f"TEXT: {row['output']}\n" in prompt:
            if line == GARBLED_LINE:
                return "hmm, hard to say"
            flipped = {"toxic": "non_toxic", "non_toxic": "toxic"}[row["label"]]
            return json.dumps({"label": flipped if line in WRONG_LINES else row["label"]})
    raise AssertionError("prompt holds no calibration case")


@pytest.fixture
def model() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script=controlled) as server:
        yield server


@pytest.mark.parametrize("judge", sorted(judges.SPECS))
def test_every_judge_ships_a_balanced_labelled_set_of_at_least_20(judge: str) -> None:
    cases = load_set(judge)
    counts = Counter(c.label for c in cases)
    assert len(cases) >= 20 and set(counts) == set(judges.SPECS[judge].rails.labels)
    assert min(counts.values()) / len(cases) >= 0.4
    for case in cases:
        case.example.require(judge, judges.SPECS[judge].requires)


def test_calibration_reports_exact_accuracy_kappa_and_confusion(model: ScriptedLLM) -> None:
    report = calibrate("toxicity", LLM(model.base_url, model.model))
    assert (report.n, report.labels, report.unparseable) == (22, ["non_toxic", "toxic"], 1)
    assert report.accuracy == pytest.approx(17 / 22)
    assert report.kappa == pytest.approx(13 / 23, abs=1e-6)  # po = 17/22, pe = 231/484
    assert report.confusion == [[8, 2, 1], [2, 9, 0]]
    assert [p["line"] for p in report.predictions if p["expected"] != p["predicted"]] == [1, 2, 3, 4, 5]


def test_cli_calibrate_prints_the_agreement_table(model: ScriptedLLM) -> None:
    result = runner.invoke(app, ["eval", "calibrate", "toxicity", "--base-url", model.base_url, "--model", model.model])
    assert result.exit_code == 0, result.output
    assert "accuracy 77.3%" in result.output and "Cohen's kappa 0.565" in result.output
    assert "unparseable 1" in result.output and "confusion matrix" in result.output
    as_json = runner.invoke(app, ["eval", "calibrate", "toxicity", "--base-url", model.base_url,
                                  "--model", model.model, "--json"])
    assert json.loads(as_json.output)["confusion"] == [[8, 2, 1], [2, 9, 0]]


def test_rest_calibrate_uses_the_servers_model(server, model: ScriptedLLM, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
    monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
    body = httpx.post(f"{server.url}/api/v1/evals/calibrate", json={"judge": "toxicity"}, timeout=120).json()
    assert body["accuracy"] == pytest.approx(17 / 22) and body["model"] == model.model
    unknown = httpx.post(f"{server.url}/api/v1/evals/calibrate", json={"judge": "vibes"}, timeout=30)
    assert unknown.status_code == 404 and "judges: hallucination" in unknown.json()["detail"]


def test_cli_calibrate_unknown_judge_lists_the_judges() -> None:
    result = runner.invoke(app, ["eval", "calibrate", "vibes"])
    assert result.exit_code == 1 and "no built-in judge 'vibes'" in result.output
    with pytest.raises(NotFound):
        load_set("vibes")


def test_malformed_calibration_rows_are_all_reported_with_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "toxicity.jsonl"
    bad.write_text('{"output": "fine", "label": "non_toxic"}\n{"output": "x", "label": "spicy"}\nnot json\n'
                   '{"output": "y", "label": "toxic", "colour": "red"}\n')
    with pytest.raises(InvalidInput) as err:
        load_set("toxicity", bad)
    message = str(err.value)
    assert "line 2: label is not one of non_toxic, toxic" in message and "line 3:" in message
    assert "line 4: unknown fields colour" in message and "line 1:" not in message


def _pieces(case: Any) -> list[str]:
    example = case.example
    texts = [example.input, example.output, example.reference, *(example.context or [])]
    texts += [m["content"] for m in example.conversation or []]
    return [t for t in texts if t]


def oracle_for(judge: str) -> Any:
    """A model that gives each case's shipped label: the case whose texts all appear in the prompt
    (the longest such match, so a case is never mistaken for one whose texts it contains)."""
    cases = load_set(judge)

    def answer(messages: list[dict[str, Any]]) -> str:
        prompt = "\n".join(m["content"] for m in messages)
        matches = [c for c in cases if all(p in prompt for p in _pieces(c))]
        assert matches, "prompt holds no calibration case"
        best = max(matches, key=lambda c: sum(map(len, _pieces(c))))
        return json.dumps({"label": best.label})

    return answer


@pytest.mark.parametrize("judge", sorted(judges.SPECS))
def test_every_shipped_set_calibrates_end_to_end_and_a_perfect_judge_scores_kappa_one(judge: str) -> None:
    with ScriptedLLM(script=oracle_for(judge)) as oracle:
        report = calibrate(judge, LLM(oracle.base_url, oracle.model))
    n = len(load_set(judge))
    assert (report.n, report.unparseable, report.accuracy, report.kappa) == (n, 0, 1.0, pytest.approx(1.0))
    counts = Counter(c.label for c in load_set(judge))
    assert report.confusion == [[counts[a] if a == b else 0 for b in [*report.labels, "unparseable"]]
                                for a in report.labels]
