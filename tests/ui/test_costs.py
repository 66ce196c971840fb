"""Costs in a real browser: the overview's total, by-model table and cost chart; the traces list's
cost column; a trace's total and its spans' costs marked computed; and the Prices page (add, edit,
delete, bad input inline, recompute, forged posts, escaping)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tenbin import costs
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.lookup import now_us
from tenbin.store.prices import create_price
from tests.test_costs import seed, span
from tests.ui.conftest import XSS

PROJECT = "billing-bot"
PRICES = f"/projects/{PROJECT}/prices"
HOUR_US = 3_600_000_000
MINE = (1234 * 2.5 + 567 * 10.0) / 1_000_000
BUILTIN = (2000 * 0.15 + 1000 * 0.60) / 1_000_000


def _trace(root_name: str, start: int, *llm: dict[str, Any]) -> list[dict[str, Any]]:
    trace_id = llm[0]["trace_id"]
    root = span(None, None, None, start=start, trace=trace_id)
    root.update(kind="CHAIN", name=root_name, end_us=start + 5000)
    for child in llm:
        child["parent_id"] = root["span_id"]
    return [root, *llm]


@pytest.fixture
def shop(tmp_path) -> Iterator[tuple[LoopbackServer, Engine, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """Three traces: `priced` (a custom-priced and a built-in-priced LLM call), `app` (the app's own
    cost) and `unpriced` (a model with no price), with costs filled as the server's job would."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate.upgrade(engine)
    t0 = now_us() - 3 * HOUR_US
    rows = {"priced": _trace("priced answer", t0, span("acme-large", 1234, 567, start=t0 + 10, trace="a" * 32),
                             span("gpt-4o-mini-2024-07-18", 2000, 1000, start=t0 + 20, trace="a" * 32)),
            "app": _trace("app answer", t0 + HOUR_US, span("gpt-4o", 10, 10, cost=0.5, start=t0 + HOUR_US + 10,
                                                            trace="b" * 32)),
            "unpriced": _trace("unpriced answer", t0 + 2 * HOUR_US,
                               span("mystery-1", 1_000_000, 0, start=t0 + 2 * HOUR_US + 10, trace="c" * 32))}
    seed(engine, [r for trace in rows.values() for r in trace], project=PROJECT)
    create_price(engine, PROJECT, {"pattern": "acme-*", "prompt_per_1m": 2.5, "completion_per_1m": 10.0})
    costs.fill_pending(engine)
    ids = {"acme": rows["priced"][1]["span_id"]}
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv, engine, ids
    engine.dispose()


def api(srv: LoopbackServer, path: str, **params: Any) -> Any:
    r = httpx.get(f"{srv.url}/api/v1{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_overview_shows_the_total_cost_by_model_and_a_cost_chart(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, _, _ = shop
    page.goto(f"{srv.url}/projects/{PROJECT}")
    summary = api(srv, f"/projects/{PROJECT}/costs")
    assert summary["total_cost"] == pytest.approx(0.5 + MINE + BUILTIN, abs=1e-12)
    stat = page.locator("#stat-cost")
    expect(stat.locator(".value")).to_have_text(f"${0.5 + MINE + BUILTIN:.6f}")
    assert float(stat.locator(".value").get_attribute("title") or "nan") == pytest.approx(summary["total_cost"])
    expect(stat.locator(".sub")).to_contain_text(f"${MINE + BUILTIN:.6f} of it computed")
    rows = page.locator("#cost-by-model tbody tr")
    expect(rows).to_have_count(3)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.model)") == ["gpt-4o", "acme-large", "gpt-4o-mini-2024-07-18"]
    expect(rows.nth(1).locator("td.cost")).to_have_text(f"${MINE:.6f}")
    expect(page.locator("#chart-cost svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-cost .bars path").first).to_be_attached()
    expect(page.locator(".js-plotly-plot")).to_have_count(7)
    rows.nth(1).get_by_role("link").click()
    expect(page).to_have_url(f"{srv.url}/projects/{PROJECT}/traces?filter=model+%3D%3D+%22acme-large%22")
    expect(page.locator(".trace-row")).to_have_count(1)


def test_traces_list_and_trace_page_show_costs_with_computed_marked(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, _, ids = shop
    page.goto(f"{srv.url}/projects/{PROJECT}/traces")
    cells = {r.locator(".trace-name").inner_text().strip("⛓ "): r.locator("td.cost")
             for r in page.locator(".trace-row").all()}
    assert set(cells) == {"priced answer", "app answer", "unpriced answer"}
    expect(cells["priced answer"]).to_contain_text(f"${MINE + BUILTIN:.6f}")
    expect(cells["priced answer"]).to_contain_text("computed")
    assert float(cells["priced answer"].get_attribute("data-cost") or "nan") == pytest.approx(MINE + BUILTIN)
    expect(cells["app answer"]).to_have_text("$0.500000")
    expect(cells["unpriced answer"]).to_have_text("–")

    page.get_by_role("link", name="priced answer", exact=True).click()
    expect(page.locator("#trace-cost strong")).to_have_text(f"${MINE + BUILTIN:.6f}")
    expect(page.locator("#trace-cost .badge.computed")).to_be_visible()
    expect(page.locator(".span-cost")).to_have_count(2)
    page.locator(f"a.span-link[href$='span={ids['acme']}']").click()
    detail = page.locator("#span-detail dd.cost")
    expect(detail).to_contain_text(f"${MINE:.6f}")
    expect(detail.locator(".badge.computed")).to_have_text("computed from model prices")


def test_prices_page_adds_edits_deletes_and_recomputes(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, _, _ = shop
    page.goto(f"{srv.url}/projects/{PROJECT}")
    page.get_by_role("link", name="Prices", exact=True).click()
    expect(page).to_have_url(f"{srv.url}{PRICES}")
    expect(page.locator("#prices tr[data-scope='builtin']").first).to_be_visible()

    form = page.locator("#price-form")
    form.get_by_label("Model pattern").fill("mystery-*")
    form.get_by_label("Prompt $ / 1M tokens").fill("-2")
    form.get_by_label("Completion $ / 1M tokens").fill("0")
    form.evaluate("f => f.noValidate = true")
    form.get_by_role("button", name="Add price").click()
    expect(page.locator("#price-error")).to_contain_text("prompt_per_1m must be from 0")
    expect(form.get_by_label("Model pattern")).to_have_value("mystery-*")
    assert [p["pattern"] for p in api(srv, f"/projects/{PROJECT}/model-prices") if p["scope"] == "project"] == ["acme-*"]

    form.get_by_label("Prompt $ / 1M tokens").fill("2")
    form.get_by_role("button", name="Add price").click()
    row = page.locator("#prices tr[data-scope='project']", has_text="mystery-*")
    expect(row.locator("td.prompt")).to_have_text("2")
    assert api(srv, f"/projects/{PROJECT}/traces", filter='model == "mystery-1"')["items"][0]["cost"] is None

    page.locator("#recompute-form").get_by_role("button", name="Recompute costs").click()
    expect(page.locator("#recomputed")).to_contain_text("3 spans re-priced: 3 with a computed cost, 0 without")
    page.goto(f"{srv.url}/projects/{PROJECT}/traces?filter=model+%3D%3D+%22mystery-1%22")
    expect(page.locator("td.cost")).to_contain_text("$2.00")

    page.goto(f"{srv.url}{PRICES}")
    page.locator("#prices tr", has_text="mystery-*").get_by_role("link", name="Edit").click()
    expect(page.locator("#price-form").get_by_label("Model pattern")).to_have_value("mystery-*")
    page.locator("#price-form").get_by_label("Prompt $ / 1M tokens").fill("3.5")
    page.locator("#price-form").get_by_role("button", name="Save").click()
    expect(page.locator("#prices tr", has_text="mystery-*").locator("td.prompt")).to_have_text("3.5")
    page.locator("#prices tr", has_text="mystery-*").get_by_role("button", name="Delete").click()
    expect(page.locator("#prices tr", has_text="mystery-*")).to_have_count(0)


def test_forged_posts_change_nothing_and_patterns_are_escaped(page: Page, shop) -> None:  # type: ignore[no-untyped-def]
    srv, _, _ = shop
    data = {"pattern": "x", "prompt_per_1m": "1", "completion_per_1m": "1"}
    forged = httpx.post(f"{srv.url}{PRICES}", data={**data, "csrf": "forged"}, cookies={"tenbin_csrf": "real"})
    assert forged.status_code == 403
    acme = next(p for p in api(srv, f"/projects/{PROJECT}/model-prices") if p["scope"] == "project")
    assert httpx.post(f"{srv.url}{PRICES}/{acme['id']}/delete", data={"csrf": "x"}).status_code == 403
    assert httpx.post(f"{srv.url}{PRICES}/recompute", data={}).status_code == 403
    assert [p["pattern"] for p in api(srv, f"/projects/{PROJECT}/model-prices") if p["scope"] == "project"] == ["acme-*"]

    page.goto(f"{srv.url}{PRICES}")
    page.locator("#price-form").get_by_label("Model pattern").fill(XSS[:200])
    page.locator("#price-form").get_by_label("Prompt $ / 1M tokens").fill("1")
    page.locator("#price-form").get_by_label("Completion $ / 1M tokens").fill("1")
    page.locator("#price-form").get_by_role("button", name="Add price").click()
    expect(page.locator("#prices td.pattern", has_text="<script>")).to_have_count(1)
    assert page.evaluate("window.__xss") is None
    assert httpx.get(f"{srv.url}/projects/nope/prices").status_code == 404
