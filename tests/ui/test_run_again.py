""""Run again" in a real browser: an experiment a dead server left running is shown interrupted with
a Run again button; clicking it lands on the new experiment, linked back to the original, which
finishes on the scripted model with the original's prompt version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tenbin.evals import experiments
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer
from tenbin.prompts import registry
from tenbin.server.app import create_app
from tenbin.store import datasets as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.test_experiments import EXAMPLES, script

PROJECT = "again-shop"


@pytest.fixture
def interrupted(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoopbackServer, int]]:  # type: ignore[no-untyped-def]
    """An experiment stored `running` by a server that then died; a new server start marks it interrupted."""
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    migrate.upgrade(engine)
    registry.push(engine, PROJECT, {"name": "support", "template": "Answer well: {{ question }}"})
    store.create_dataset(engine, PROJECT, "faq", EXAMPLES)
    with ScriptedLLM(script=script) as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        _, exp_id = experiments.prepare_stored(engine, PROJECT, "faq", prompt="support@1", evaluators=["qa_correctness"])
        with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
            yield srv, exp_id
    engine.dispose()


def test_run_again_on_an_interrupted_experiment_starts_a_linked_run_that_finishes(page: Page, interrupted) -> None:  # type: ignore[no-untyped-def]
    srv, exp_id = interrupted
    page.goto(f"{srv.url}/projects/{PROJECT}/experiments/{exp_id}")
    expect(page.locator("#status")).to_contain_text("interrupted")
    page.get_by_role("button", name="Run again").click()
    expect(page).to_have_url(f"{srv.url}/projects/{PROJECT}/experiments/{exp_id + 1}")
    expect(page.locator("#rerun-of")).to_contain_text(f"experiment #{exp_id}")
    expect(page.locator("#summary tr[data-evaluator='qa_correctness']")).to_contain_text("1.000", timeout=30_000)
    expect(page.get_by_role("button", name="Run again")).to_have_count(0)
    page.locator("#rerun-of a").click()
    expect(page).to_have_url(f"{srv.url}/projects/{PROJECT}/experiments/{exp_id}")
    expect(page.get_by_role("button", name="Run again")).to_be_visible()
