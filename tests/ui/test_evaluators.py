"""The Evaluators page in a real browser, the server's model a scripted one: the catalog lists every
evaluator; Calibrate runs toxicity's labelled set through the project's template and shows exact
accuracy, kappa, confusion matrix and wrong cases (model text escaped), then the catalog shows the
last calibration and links the template; a down model is an inline error naming
TENBIN_LLM_BASE_URL with nothing stored; an unknown judge is a 404 page; a forged POST is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import LoopbackServer, free_port
from tenbin.server.app import create_app
from tenbin.server.ui.security import CSRF_COOKIE
from tenbin.store import calibrations as store
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tests.llm_helpers import configured_llm
from tests.test_evals_calibration import TOXICITY, controlled
from tests.ui.conftest import XSS

PROJECT = "shop"
PAGE = f"/projects/{PROJECT}/evaluators"


def explained(messages: list[dict[str, Any]]) -> str:
    """`controlled`'s verdicts (17 of 22 right, line 5 never a label), each explained with markup."""
    answer = controlled(messages)
    if not answer.startswith("{"):
        return answer
    return json.dumps({**json.loads(answer), "explanation": XSS})


@pytest.fixture
def shop(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoopbackServer, Engine, ScriptedLLM]]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    migrate.upgrade(engine)
    with configured_llm(monkeypatch, explained) as model, LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv, engine, model
    engine.dispose()


def test_calibrate_a_judge_from_the_catalog_and_see_it_listed(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, engine, model = shop
    page.goto(srv.url + PAGE)
    expect(page.get_by_role("link", name="Evaluators")).to_have_class("active")
    regex = page.locator("#evaluators tr[data-evaluator='regex']")
    expect(regex.locator(".kind")).to_have_text("code")
    expect(regex.locator(".params")).to_have_text("pattern*, flags")
    row = page.locator("#evaluators tr[data-evaluator='toxicity']")
    expect(row.locator(".kind")).to_have_text("LLM judge")
    expect(row.locator(".needs")).to_have_text("output")
    expect(row.locator(".template")).to_contain_text("built-in template 2")
    expect(row.locator(".calibration")).to_contain_text("not calibrated yet")

    row.get_by_role("button", name="Calibrate (takes a moment)").click()
    expect(page).to_have_url(re.compile(rf"{PAGE}/toxicity#report$"), timeout=60_000)
    summary = page.locator("#calibration-summary")
    expect(summary.locator(".accuracy")).to_have_text("77.3% (17 of 22 cases)")
    expect(summary.locator(".kappa")).to_have_text("0.565: moderate agreement")
    expect(summary.locator(".unparseable")).to_have_text("1")
    expect(summary.locator(".model")).to_have_text(model.model)
    expect(summary.locator(".template-version")).to_have_text("toxicity v1")
    expect(page.locator("#confusion thead th")).to_have_text(["expected ＼ judged", "non_toxic", "toxic", "unparseable"])
    expect(page.locator("#confusion tr[data-expected='non_toxic'] td")).to_have_text(["8", "2", "1"])
    expect(page.locator("#confusion tr[data-expected='toxic'] td")).to_have_text(["2", "9", "0"])
    wrong = page.locator("#wrong tbody tr")
    expect(wrong).to_have_count(5)
    expect(wrong.locator("td.num")).to_have_text(["1", "2", "3", "4", "5"])
    first = page.locator("#wrong tr[data-line='1']")
    expect(first.locator(".output")).to_have_text(TOXICITY[0]["output"])
    expect(first.locator(".expected")).to_have_text("non_toxic")
    expect(first.locator(".judged")).to_have_text(f"toxic{XSS}")
    expect(page.locator("#wrong tr[data-line='5'] .judged")).to_have_text('unparseablethe model said: {"answer": "hmm, hard to say"}')
    assert page.evaluate("window.__xss") is None

    page.get_by_role("link", name="Evaluators").first.click()
    row = page.locator("#evaluators tr[data-evaluator='toxicity']")
    expect(row.locator(".last-calibrated")).to_contain_text(
        f"last calibrated: accuracy 77.3% · kappa 0.565 (moderate agreement) · model {model.model} · template v1 · ")
    link = row.locator(".template a")
    expect(link).to_have_text("tenbin-judge-toxicity v1 ✎")
    expect(link).to_have_attribute("href", f"/projects/{PROJECT}/prompts/tenbin-judge-toxicity")
    expect(page.locator("#evaluators tr[data-evaluator='hallucination'] .calibration")).to_contain_text("not calibrated yet")
    assert store.summaries(engine, PROJECT)["toxicity"]["accuracy"] == pytest.approx(17 / 22)


def test_a_down_model_is_shown_inline_and_nothing_is_stored(page: Page, shop, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    srv, engine, _ = shop
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    page.goto(f"{srv.url}{PAGE}/toxicity")
    expect(page.locator("#no-report")).to_be_visible()
    page.get_by_role("button", name="Calibrate (takes a moment)").click()
    expect(page.get_by_role("alert")).to_contain_text("Calibration failed, nothing was stored", timeout=60_000)
    expect(page.get_by_role("alert")).to_contain_text("TENBIN_LLM_BASE_URL")
    expect(page.locator("#no-report")).to_be_visible()
    assert store.summaries(engine, PROJECT) == {}

    response = page.goto(f"{srv.url}{PAGE}/vibes")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator(".error")).to_contain_text("no LLM judge 'vibes'")


def _post(srv: LoopbackServer, judge: str, form: dict[str, str], cookie: str | None) -> httpx.Response:
    cookies = {CSRF_COOKIE: cookie} if cookie else {}
    return httpx.post(f"{srv.url}{PAGE}/{judge}/calibrate", data=form, cookies=cookies, timeout=60)


def test_a_calibrate_post_without_the_forms_csrf_token_is_refused(shop) -> None:  # type: ignore[no-untyped-def]
    srv, engine, model = shop
    assert _post(srv, "toxicity", {}, None).status_code == 403
    assert _post(srv, "toxicity", {"csrf": "forged"}, "the-real-one").status_code == 403
    assert model.requests == [] and store.summaries(engine, PROJECT) == {}
    assert _post(srv, "vibes", {"csrf": "t"}, "t").status_code == 404
    done = _post(srv, "toxicity", {"csrf": "t"}, "t")
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}/toxicity#report"
    assert store.summaries(engine, PROJECT)["toxicity"]["kappa"] == pytest.approx(13 / 23, abs=1e-6)
