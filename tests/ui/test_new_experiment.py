"""The "New experiment" page in a real browser, the server's model a scripted one: started from a dataset
page with a prompt version and a code evaluator it runs to the end; started from a prompt page, a bad
choice is refused inline with the form kept and nothing stored; a forged POST is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.server.ui.security import CSRF_COOKIE
from tenbin.store import datasets as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.llm_helpers import configured_llm
from tests.test_experiments import EXAMPLES, script, seed

PROJECT = "shop"
"""The project `tests.test_experiments.seed` fills."""


@pytest.fixture
def shop(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoopbackServer, Engine]]:  # type: ignore[no-untyped-def]
    """Prompt `support` v1 (answers well) and v2; dataset `faq` with expected outputs, `open` without."""
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    migrate.upgrade(engine)
    seed(engine)
    store.create_dataset(engine, PROJECT, "open", [{"input": e["input"]} for e in EXAMPLES])
    with configured_llm(monkeypatch, script), LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv, engine
    engine.dispose()


def test_start_from_the_dataset_page_runs_to_per_example_results(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, engine = shop
    page.goto(f"{srv.url}/projects/{PROJECT}/datasets/faq")
    page.get_by_role("link", name="Run experiment").click()
    expect(page.get_by_label("Dataset", exact=True)).to_have_value("faq")
    page.get_by_label("Prompt version").select_option("support@1")
    page.locator("[data-evaluator='contains'] input[type=checkbox]").check()
    page.get_by_label("Parameters of contains").fill('{"text": "Oslo"}')
    page.get_by_role("button", name="Start experiment").click()
    expect(page).to_have_url(re.compile(rf"/projects/{PROJECT}/experiments/\d+$"))
    expect(page.locator("#summary tr[data-evaluator='contains']")).to_contain_text("0.333", timeout=30_000)
    ids = [e["id"] for e in store.get_dataset(engine, PROJECT, "faq")["examples"]]
    expect(page.locator(f"#results tr[data-example='{ids[1]}']")).to_contain_text("In Oslo.")
    expect(page.locator(f"#results tr[data-example='{ids[1]}']")).to_contain_text("pass 1.00")
    expect(page.locator(f"#results tr[data-example='{ids[0]}']")).to_contain_text("fail 0.00")
    [exp] = store.list_experiments(engine, PROJECT, "faq")
    assert exp["status"] == "done" and exp["name"] == "support@v1"
    stored = store.get_experiment(engine, PROJECT, exp["id"])
    assert stored["evaluators"][0]["params"] == {"text": "Oslo"}


def test_refusals_show_inline_with_the_form_kept_and_store_nothing(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, engine = shop
    page.goto(f"{srv.url}/projects/{PROJECT}/prompts/support?version=2")
    page.get_by_role("link", name="Evaluate on a dataset").click()
    expect(page.get_by_label("Prompt version")).to_have_value("support@2")
    judge = page.locator("[data-evaluator='qa_correctness']")
    expect(judge.locator(".badge.judge")).to_have_text("LLM judge")
    expect(judge.locator(".badge.needs")).to_have_text("needs the example's expected output")
    expect(page.locator("[data-evaluator='json_valid'] .badge")).to_have_count(0)
    page.get_by_label("Dataset", exact=True).select_option("open")
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_role("alert")).to_have_text("choose at least one evaluator")
    judge.locator("input[type=checkbox]").check()
    page.get_by_label("Experiment name").fill("kept name")
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_role("alert")).to_contain_text("needs the field 'reference'")
    expect(page.get_by_label("Dataset", exact=True)).to_have_value("open")
    expect(page.get_by_label("Prompt version")).to_have_value("support@2")
    expect(judge.locator("input[type=checkbox]")).to_be_checked()
    expect(page.get_by_label("Experiment name")).to_have_value("kept name")
    page.locator("[data-evaluator='regex'] input[type=checkbox]").check()
    page.get_by_label("Parameters of regex").fill('{"pattern": "("}')
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_role("alert")).to_contain_text("regex: invalid pattern '('")
    expect(page.get_by_label("Parameters of regex")).to_have_value('{"pattern": "("}')
    assert store.list_experiments(engine, PROJECT) == []


def _post(srv: LoopbackServer, form: dict[str, Any], cookie: str | None) -> httpx.Response:
    cookies = {CSRF_COOKIE: cookie} if cookie else {}
    return httpx.post(f"{srv.url}/projects/{PROJECT}/experiments", data=form, cookies=cookies, timeout=30)


def test_a_post_without_the_forms_csrf_token_is_refused(shop) -> None:  # type: ignore[no-untyped-def]
    srv, engine = shop
    form = {"dataset": "faq", "prompt": "support@1", "eval.json_valid": "on"}
    assert _post(srv, form, None).status_code == 403
    assert _post(srv, {**form, "csrf": "forged"}, "the-real-one").status_code == 403
    assert store.list_experiments(engine, PROJECT) == []
    unknown = _post(srv, {**form, "prompt": "support@9", "csrf": "t"}, "t")
    assert unknown.status_code == 404 and "no version 9" in unknown.text
    assert store.list_experiments(engine, PROJECT) == []
    started = _post(srv, {**form, "csrf": "t"}, "t")
    assert started.status_code == 303, started.text
    assert [e["id"] for e in store.list_experiments(engine, PROJECT)] == [int(started.headers["location"].rsplit("/", 1)[1])]
