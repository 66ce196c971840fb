"""Prompt generation over REST (202 + background run + progress), the SDK that polls it, and
`tenbin prompts generate` with its ranked table and --save-best, against a real server and a
scripted model on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import tenbin.autoprompt as ap
from tenbin.cli import app
from tenbin.loopback import free_port
from tenbin.prompts import registry
from tenbin.store.models import PromptGeneration
from tests.test_autoprompt import CAPITALS, REQUEST, TASK, count, model, seed  # noqa: F401 - `model` is a fixture

runner = CliRunner()


def test_rest_runs_in_the_background_with_progress_and_saves_a_candidate(server, engine: Engine, model) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    seed(engine)
    started = httpx.post(f"{server.url}/api/v1/projects/geo/prompt-generations", json=REQUEST, timeout=30)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("proposing", "scoring", "done")
    seen: list[tuple[str, int, int]] = []
    done = ap.wait(started.json()["id"], endpoint=server.url, poll_s=0.05,
                   progress=lambda r: seen.append((r["status"], r["done"], r["total"])))
    assert seen[-1] == ("done", 12, 12) and done["status"] == "done"
    assert [(c["position"], c["rank"]) for c in done["candidates"]][:1] == [(1, 1)]
    assert done["candidates"][0]["results"][0]["expected"] in CAPITALS.values()
    (listed,) = httpx.get(f"{server.url}/api/v1/projects/geo/prompt-generations").json()
    assert (listed["id"], listed["status"], listed["best"]["position"]) == (done["id"], "done", 1)
    saved = ap.save_candidate(done["id"], 1, "capital", label="production", endpoint=server.url)
    assert (saved["name"], saved["version"], saved["labels"]) == ("capital", 1, ["production"])
    assert f"run #{done['id']}, candidate 1" in registry.get(engine, "geo", "capital", label="production")["message"]
    invalid = httpx.post(f"{server.url}/api/v1/prompt-generations/{done['id']}/candidates/3/save", json={"name": "capital"})
    assert invalid.status_code == 400 and "is invalid" in invalid.json()["detail"]
    missing = httpx.get(f"{server.url}/api/v1/prompt-generations/999")
    assert missing.status_code == 404 and "no prompt generation run 999" in missing.json()["detail"]


def test_rest_refuses_without_an_llm_503_and_bad_input_400_storing_nothing(server, engine: Engine,  # type: ignore[no-untyped-def]
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    url = f"{server.url}/api/v1/projects/geo/prompt-generations"
    down = httpx.post(url, json=REQUEST, timeout=30)
    assert down.status_code == 503 and "TENBIN_LLM_BASE_URL" in down.json()["detail"]
    assert "tenbin llm serve" in down.json()["detail"]
    bad = httpx.post(url, json={**REQUEST, "n": 40}, timeout=30)
    assert bad.status_code == 400 and "n must be a whole number from 1 to 12; got 40" in bad.json()["detail"]
    assert count(engine, PromptGeneration) == 0


def cli(server: Any, *args: str) -> Any:
    return runner.invoke(app, ["prompts", "generate", *args, "--endpoint", server.url, "--project", "geo"],
                         env={"COLUMNS": "220"})


def test_cli_generate_shows_the_ranked_table_and_saves_the_best(server, engine: Engine, model) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    seed(engine)
    result = cli(server, "--dataset", "capitals", "--task", TASK, "--n", "4", "--evaluator", "contains",
                 "--input-var", "question", "--save-best", "capital", "--label", "staging")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert rows[0].startswith("│ 1 ") and "persona (model) · instructions (model) " in rows[0] and "1.00" in rows[0]
    assert "invalid: the proposed template does not use the input variable question" in result.output
    assert "saved candidate 1 as capital version 1 (staging)" in result.output
    assert registry.get(engine, "geo", "capital", label="staging")["version"] == 1
    refused = cli(server, "--dataset", "nope", "--task", TASK)
    assert refused.exit_code == 1 and "no dataset named 'nope'" in refused.output
