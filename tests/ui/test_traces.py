"""The traces list: rows, the filter language (and its errors), time ranges, sorting, cursor pages."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import httpx
from playwright.sync_api import Page, expect

from tests.ui.conftest import XSS

TRACES = "/projects/acme-support/traces"
# Conversations are assigned tasks round-robin over the sorted task names, so billing is every 6th from 1.
BILLING = 'metadata["task"] == "billing"'
BILLING_SESSIONS = {"conv-0001", "conv-0007", "conv-0013", "conv-0019", "xss-session"}


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("tr.trace-row")


def latencies(page: Page) -> list[float]:
    return [float(v) for v in page.locator("tr.trace-row td.latency").evaluate_all("els => els.map(e => e.dataset.ms)")]


def trace_links(page: Page) -> list[str]:
    return page.locator("tr.trace-row a.trace-name").evaluate_all("els => els.map(e => e.getAttribute('href'))")


def test_traces_list_shows_rows_with_model_session_and_feedback(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES)
    expect(rows(page)).to_have_count(50)
    first = rows(page).first
    expect(first.locator("td").nth(7)).to_have_text("scripted-1")  # after the select box and the cost
    expect(first.locator(".feedback-cell")).to_contain_text("👎")
    expect(page.get_by_role("link", name="conv-0023").first).to_have_attribute(
        "href", "/projects/acme-support/sessions/conv-0023")
    href = trace_links(page)[0]
    first.locator("a.trace-name").click()
    expect(page).to_have_url(ui_server.url + href)
    expect(page.get_by_role("region", name="Span tree")).to_be_visible()


def test_filter_language_keeps_only_matching_traces_and_lives_in_the_url(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES)
    page.get_by_label("Filter").fill(BILLING)
    page.get_by_label("Filter").press("Enter")
    expect(page).to_have_url(f"{ui_server.url}{TRACES}?{urlencode({'filter': BILLING})}")
    sessions = set(page.locator("tr.trace-row td:nth-child(9) a").all_inner_texts())
    assert sessions and sessions <= BILLING_SESSIONS, sessions
    expect(page.get_by_label("Filter")).to_have_value(BILLING)
    shown = rows(page).count()
    page.goto(page.url)  # the link alone reproduces the view
    expect(rows(page)).to_have_count(shown)


def test_bad_filter_shows_its_error_next_to_the_box_and_keeps_the_text(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES)
    page.get_by_label("Filter").fill("latncy_ms > 5")
    page.get_by_role("button", name="Apply").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("unknown field 'latncy_ms'")
    expect(alert).to_contain_text("did you mean 'latency_ms'")
    expect(alert.locator("code")).to_have_text("latncy_ms")
    expect(page.get_by_label("Filter")).to_have_value("latncy_ms > 5")
    expect(page.get_by_label("Filter")).to_have_attribute("aria-invalid", "true")
    expect(rows(page)).to_have_count(0)
    r = httpx.get(ui_server.url + TRACES, params={"filter": "latncy_ms > 5"})
    assert r.status_code == 400 and "did you mean" in r.text


def test_sorting_by_latency_orders_rows_both_ways(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES + "?limit=200")
    everything = latencies(page)
    page.get_by_role("link", name="Latency").click()
    expect(page).to_have_url(f"{ui_server.url}{TRACES}?sort=latency_ms&limit=200")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Latency")
    desc = latencies(page)
    assert desc[0] == max(everything) and desc == sorted(desc, reverse=True)
    page.get_by_role("link", name="Latency").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Latency")
    asc = latencies(page)
    assert asc[0] == min(everything) and asc == sorted(asc)


def test_next_page_continues_where_the_first_ended_and_first_page_returns(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES + "?limit=20")
    first_page = trace_links(page)
    assert len(first_page) == 20
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"[?&]cursor=[^&]+&limit=20$"))
    second_page = trace_links(page)
    assert second_page and not set(first_page) & set(second_page)
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_role("link", name="First page")).to_have_count(0)
    assert trace_links(page) == first_page


def test_previous_page_walks_back_through_the_pages_seen(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES + "?limit=10")
    pages = [trace_links(page)]
    for _ in range(2):
        page.get_by_role("link", name="Next page").click()
        pages.append(trace_links(page))
    assert all(pages) and len({t for p in pages for t in p}) == sum(len(p) for p in pages)
    page.get_by_role("link", name="Previous page").click()
    assert trace_links(page) == pages[1]
    page.get_by_role("link", name="Previous page").click()
    assert trace_links(page) == pages[0]
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)


def test_time_range_empty_result_explains_how_to_widen_it(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES + "?start=2000-01-01T00:00&end=2000-01-02T00:00&filter=kind+%3D%3D+%22LLM%22")
    expect(page.get_by_role("heading", name="No traces match")).to_be_visible()
    expect(page.get_by_role("link", name="clear the filter")).to_be_visible()
    page.get_by_role("link", name="widen the time range to all time").click()
    expect(rows(page).first).to_be_visible()
    expect(page.get_by_label("Filter")).to_have_value('kind == "LLM"')
    page.get_by_role("link", name="Last hour").click()
    expect(page.get_by_role("link", name="Last hour")).to_have_class("active")
    expect(rows(page).first).to_be_visible()


def test_xss_payload_in_the_list_is_shown_as_text(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url + TRACES + "?filter=" + quote('session_id == "xss-session"'))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator(".preview")).to_have_text(XSS)
    assert page.evaluate("window.__xss") is None
