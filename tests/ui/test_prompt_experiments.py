"""A/B experiment pages in a real browser: list, live numbers per arm, charts, SRM alarm, and the
CSRF-checked "Stop and promote" form moving `production`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenbin.client import Client
from tenbin.loopback import LoopbackServer
from tenbin.prompts import experiments, registry
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store import prompt_experiments as store
from tenbin.store.engine import make_engine
from tests.otlp_data import llm_attrs, make_request, make_span
from tests.ui.conftest import XSS

PROJECT = "ab-ui"
PAGES = f"/projects/{PROJECT}/prompt-experiments"
UP_RATE = {1: 0.2, 2: 0.9}


def _traffic(url: str, engine, units: int) -> None:  # type: ignore[no-untyped-def]
    """Units get their arms, one LLM span each over OTLP, and thumbs whose rate depends on the version."""
    spans, thumbs = [], []
    for i in range(units):
        version = experiments.assign(engine, PROJECT, "greeting", f"user-{i}")["version"]
        attrs = {**llm_attrs(), "llm.prompt_template.name": "greeting", "llm.prompt_template.version": str(version)}
        spans.append(make_span("llm", attrs=attrs))
        thumbs.append((spans[-1].span_id.hex(), 1.0 if i % 10 < UP_RATE[version] * 10 else 0.0))
    r = httpx.post(f"{url}/v1/traces", content=make_request(spans, PROJECT).SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    with Client(url) as client:
        for span_id, value in thumbs:
            client.feedback(span_id, kind="thumbs", value=value)


@pytest.fixture
def ab_server(tmp_path) -> Iterator[tuple[LoopbackServer, object]]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'ab.db'}")
    migrate.upgrade(engine)
    for text in ("Hello {{ name }}", "Hi {{ name }}!"):
        registry.push(engine, PROJECT, {"name": "greeting", "template": text})
    registry.push(engine, PROJECT, {"name": "other", "template": "x"})
    registry.push(engine, PROJECT, {"name": "other", "template": "y"})
    registry.move_label(engine, PROJECT, "greeting", "production", 1)
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        yield srv, engine
    engine.dispose()


def test_experiment_page_shows_live_numbers_and_promotes_the_winner(page: Page, ab_server) -> None:  # type: ignore[no-untyped-def]
    srv, engine = ab_server
    exp = experiments.create(engine, PROJECT, {"prompt": "greeting", "name": "friendlier",
                                               "arms": [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]})
    _traffic(srv.url, engine, 120)
    page.goto(srv.url + PAGES)
    expect(page.get_by_role("link", name="A/B tests")).to_have_class("active")
    page.get_by_role("link", name=f"#{exp['id']} friendlier").click()
    v2 = page.locator("tr[data-arm='2']")
    expect(v2.locator(".test")).to_contain_text("significant")
    expect(v2.locator(".p-best")).to_have_text("100.0%")
    expect(page.locator("tr[data-arm='1'] .interval")).to_contain_text("–")
    expect(page.locator("#verdict")).to_contain_text("Winner: v2")
    expect(page.locator("#srm-alarm")).to_have_count(0)
    expect(page.locator("#chart-arms .main-svg").first).to_be_visible()
    expect(page.locator("meta#live-refresh")).to_have_count(1)
    page.get_by_label("Promote").select_option("winner")
    page.get_by_role("button", name="Stop and promote").click()
    expect(page.locator("#status")).to_have_text("stopped · promoted v2")
    expect(page.locator("meta#live-refresh")).to_have_count(0)
    expect(page.locator("#stop-form")).to_have_count(0)
    assert registry.get(engine, PROJECT, "greeting", label="production")["version"] == 2


def test_skewed_exposures_raise_the_srm_alarm_and_an_undecided_winner_is_refused_inline(page: Page, ab_server) -> None:  # type: ignore[no-untyped-def]
    srv, engine = ab_server
    exp = experiments.create(engine, PROJECT, {"prompt": "other", "name": XSS,
                                               "arms": [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]})
    for i in range(100):
        store.expose(engine, exp["id"], f"u{i}", 0 if i < 80 else 1, 1 if i < 80 else 2)
    page.goto(f"{srv.url}{PAGES}/{exp['id']}")
    expect(page.locator("#srm-alarm")).to_contain_text("Sample-ratio mismatch")
    expect(page.locator("tr[data-arm='1'] td").nth(2)).to_have_text("80")
    page.get_by_role("button", name="Stop and promote").click()
    expect(page.get_by_role("alert").last).to_contain_text("no arm is significantly better")
    assert page.evaluate("window.__xss") is None
    assert experiments.get(engine, PROJECT, exp["id"])["status"] == "running"


def test_stop_without_csrf_token_is_refused(ab_server) -> None:  # type: ignore[no-untyped-def]
    srv, engine = ab_server
    exp = experiments.create(engine, PROJECT, {"prompt": "greeting",
                                               "arms": [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]})
    r = httpx.post(f"{srv.url}{PAGES}/{exp['id']}/stop", data={"promote": "2"})
    assert r.status_code in (400, 403)
    assert experiments.get(engine, PROJECT, exp["id"])["status"] == "running"
