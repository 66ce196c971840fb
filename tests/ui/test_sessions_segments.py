"""Sessions and segments in a real browser, checked against the REST API over the same data."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer
from tests.ui.conftest import XSS
from tests.ui.test_overview import PROJECT, api

TASKS = {"billing", "setup", "api", "troubleshooting", "japanese", "out_of_scope"}


def sessions_url(server: LoopbackServer, rest: str = "") -> str:
    return f"{server.url}/projects/{PROJECT}/sessions{rest}"


def test_sessions_list_shows_each_conversation_with_its_turn_count(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(sessions_url(ui_server))
    turns = len(api(ui_server, f"/projects/{PROJECT}/sessions/conv-0000")["turns"])
    row = page.locator('tr[data-session="conv-0000"]')
    expect(row.locator("td.turns")).to_have_text(str(turns))
    expect(page.locator("#sessions tbody tr")).to_have_count(25)
    expect(page.locator("#sessions tbody tr").first).to_have_attribute("data-session", "xss-session")


def test_sessions_pages_through_every_session_once(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(sessions_url(ui_server, "?limit=10"))
    seen: list[str] = []
    while True:
        expect(page.locator("#sessions tbody tr").first).to_be_visible()
        seen += page.locator("#sessions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.session)")
        older = page.get_by_role("link", name="Older sessions »")
        if older.count() == 0:
            break
        older.click()
    assert len(seen) == len(set(seen)) == 25


def test_session_page_shows_turns_in_step_order_linking_to_their_traces(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(sessions_url(ui_server))
    counts = page.locator("#sessions tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.session, +r.querySelector('td.turns').textContent])")
    session, turns = max(counts, key=lambda c: c[1])
    assert turns > 1
    page.locator(f'tr[data-session="{session}"] a').click()
    expect(page.locator(".turn")).to_have_count(turns)
    steps = page.locator(".turn").evaluate_all("turns => turns.map(t => +t.dataset.step)")
    assert steps == list(range(1, turns + 1))
    expected = api(ui_server, f"/projects/{PROJECT}/sessions/{session}")["turns"]
    expect(page.locator(".bubble.user .text")).to_have_text([t["input"] for t in expected])
    page.locator(".turn").last.get_by_role("link", name="open trace →").click()
    expect(page).to_have_url(f"{ui_server.url}/traces/{expected[-1]['trace_id']}")
    expect(page.locator("main")).to_contain_text(expected[-1]["trace_id"])


def test_unknown_session_shows_the_not_found_page(page: Page, ui_server: LoopbackServer) -> None:
    response = page.goto(sessions_url(ui_server, "/no-such-session"))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator(".error")).to_contain_text("no session 'no-such-session'")


def test_xss_question_renders_as_text_on_the_session_page(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(sessions_url(ui_server, "/xss-session"))
    expect(page.locator(".bubble.user .text")).to_have_text(XSS)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".transcript img, .transcript script").count() == 0


def segment_counts(page: Page) -> dict[str, int]:
    rows = page.locator("#segments tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.segment, +r.querySelector('td.count').textContent])")
    return dict(rows)


def test_segments_by_task_match_the_metrics_api(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(f"{ui_server.url}/projects/{PROJECT}/segments")
    expect(page.get_by_label("Dimension")).to_have_value("metadata.task")
    expect(page.locator("#segments tbody tr")).to_have_count(6)
    grouped = api(ui_server, f"/projects/{PROJECT}/metrics", group_by="metadata.task")
    assert segment_counts(page) == {g["group"]: g["count"] for g in grouped}
    assert set(segment_counts(page)) == TASKS


def test_clicking_a_segment_opens_its_traces(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(f"{ui_server.url}/projects/{PROJECT}/segments?dimension=metadata.task")
    page.locator('tr[data-segment="billing"] a.segment-link').click()
    expect(page).to_have_url(f"{ui_server.url}/projects/{PROJECT}/traces?filter=metadata%5B%22task%22%5D+%3D%3D+%22billing%22")
    billing = parse_qs(urlparse(page.url).query)["filter"][0]
    traces = api(ui_server, f"/projects/{PROJECT}/traces", filter=billing, limit=200)["items"]
    assert 0 < len(traces) < 50
    expect(page.locator("tr.trace-row")).to_have_count(len(traces))


def test_latency_buckets_sum_to_the_total_span_count(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(f"{ui_server.url}/projects/{PROJECT}/segments")
    page.get_by_label("Dimension").select_option("latency_ms")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#segments tbody tr")).to_have_count(6)
    total = api(ui_server, f"/projects/{PROJECT}/metrics")[0]["count"]
    assert sum(segment_counts(page).values()) == total
    expect(page.locator("#segments-total")).to_have_text(str(total))


def test_token_buckets_of_llm_spans_link_to_valid_filters(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(f"{ui_server.url}/projects/{PROJECT}/segments?dimension=total_tokens&kind=LLM")
    llm = api(ui_server, f"/projects/{PROJECT}/metrics", filter='kind == "LLM"')[0]["count"]
    counts = segment_counts(page)
    assert sum(counts.values()) == llm and counts["no total tokens"] == 0
    for href in page.locator("a.segment-link").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        span_filter = parse_qs(urlparse(href).query)["filter"][0]
        r = httpx.get(f"{ui_server.url}/api/v1/projects/{PROJECT}/spans", params={"filter": span_filter, "limit": 1})
        assert r.status_code == 200, (span_filter, r.text)


def test_bad_scope_filter_shows_its_error(page: Page, ui_server: LoopbackServer) -> None:
    page.goto(f"{ui_server.url}/projects/{PROJECT}/segments")
    page.get_by_label("Scope filter").fill("latency_ms >")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid filter syntax")
    expect(page.locator("#segments")).to_have_count(0)
