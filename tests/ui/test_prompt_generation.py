"""Prompt generation in a real browser: from the prompts list to the form (inline error on bad input),
start a run on the scripted model, watch it finish, read the ranked candidates (templates escaped,
per-example drill-down, the invalid one with its reason) and save the best as a labelled version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenbin.autoprompt.generate import SYSTEM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import datasets as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.test_autoprompt import CAPITALS, PROPOSALS, TASK, answer
from tests.ui.conftest import XSS

PROJECT = "gen-shop"
PROPOSED = [PROPOSALS[0], {"persona": XSS, "instructions": "Answer."}, *PROPOSALS[2:]]


def script(messages: list[dict[str, Any]]) -> str:
    return json.dumps({"candidates": PROPOSED}) if messages[0]["content"] == SYSTEM else answer(messages)


@pytest.fixture
def gen_server(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:  # type: ignore[no-untyped-def]
    """A server (its LLM the scripted model) with dataset `capitals`, one input an XSS payload."""
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    migrate.upgrade(engine)
    examples = [{"input": c, "expected": cap} for c, cap in CAPITALS.items()]
    store.create_dataset(engine, PROJECT, "capitals", [*examples, {"input": f"France {XSS}", "expected": "Paris"}])
    with ScriptedLLM(script=script) as model, LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        yield srv
    engine.dispose()


def test_start_a_run_see_ranked_candidates_and_save_the_best(page: Page, gen_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{gen_server.url}/projects/{PROJECT}/prompts")
    page.get_by_role("link", name="Generate a prompt from a dataset").click()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text("describe the task")
    page.get_by_label("Task").fill(TASK)
    page.get_by_label("Input variable").fill("question")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status")).to_have_text("done", timeout=30_000)
    rows = page.locator("#candidates tbody tr")
    expect(rows.first).to_have_attribute("data-position", "1")
    expect(rows.first.locator(".score")).to_have_text("1.00")
    expect(rows.first).to_contain_text("persona (model) · instructions (model)")
    expect(page.locator("tr[data-position='3']")).to_contain_text("invalid")
    expect(page.get_by_role("region", name="Candidate 3")).to_contain_text("does not use the input variable question")
    expect(page.get_by_role("region", name="Candidate 2").locator("pre.template")).to_contain_text(XSS)
    best = page.get_by_role("region", name="Candidate 1")
    best.get_by_text("Per-example results").click()
    expect(best.locator("tr[data-example]").first).to_contain_text("The capital is")
    assert page.evaluate("window.__xss") is None
    best.get_by_label("Prompt name 1").fill("capital")
    best.get_by_label("Label 1").fill("staging")
    best.get_by_role("button", name="Save as version").click()
    expect(page).to_have_url(f"{gen_server.url}/projects/{PROJECT}/prompts/capital?version=1")
    expect(page.locator("#template")).to_contain_text("You are a geography expert.")
    expect(page.locator("tr[data-version='1'] .badge")).to_have_text("staging")
    page.go_back()
    page.reload()
    expect(page.locator("tr[data-position='1']")).to_contain_text("capital v1")


def test_a_dataset_page_opens_the_generation_form_with_that_dataset_chosen(page: Page, gen_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{gen_server.url}/projects/{PROJECT}/datasets/capitals")
    page.get_by_role("link", name="Generate prompts from this dataset").click()
    expect(page).to_have_url(f"{gen_server.url}/projects/{PROJECT}/prompt-generations?dataset=capitals")
    expect(page.get_by_label("Dataset")).to_have_value("capitals")
