"""Annotation queues in Chromium: tick traces on the list → Add to queue → review each (the span's
input and output escaped, a score form from the queue's configs) → the trace page shows the scores
as human feedback by the reviewer. Score configs and queues made from the list page; bad answers
and empty choices inline with nothing stored; forged POSTs refused at the HTTP level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

import tenbin
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import annotation_queues as queues
from tenbin.store import migrate
from tenbin.store import score_configs as configs
from tenbin.store.engine import make_engine
from tenbin.store.queries import get_span
from tests.ui.conftest import XSS
from tests.ui.test_add_to_dataset import Shop

PROJECT = "review-shop"
TRACES = f"/projects/{PROJECT}/traces"
QUEUES = f"/projects/{PROJECT}/annotation-queues"
QUESTIONS = [("How do refunds work?", "Refunds take 5 days."), ("Where is the office?", "Oslo."), (XSS, XSS)]


@pytest.fixture
def shop(tmp_path) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    """Three traces, each a root span (the third's text an XSS payload), score configs quality/accuracy/helpful, and the
    empty queue `review` asking for all three."""
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    migrate.upgrade(engine)
    configs.create_config(engine, PROJECT, "quality", "categorical", labels=["correct", "incorrect"],
                          description="Is the answer right?")
    configs.create_config(engine, PROJECT, "accuracy", "numeric", min_value=1, max_value=5)
    configs.create_config(engine, PROJECT, "helpful", "boolean")
    queues.create_queue(engine, PROJECT, "review", ["quality", "accuracy", "helpful"], "weekly sample")
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        tenbin.init(srv.url, project=PROJECT)
        traces = []
        try:
            for question, answer in QUESTIONS:
                with tenbin.span("answer", input=question) as root:
                    root.set_output(answer)
                traces.append({"trace_id": root.trace_id, "root": root.span_id})
            tenbin.flush()
        finally:
            tenbin.shutdown()
        yield Shop(srv, engine, traces)
    engine.dispose()


def add_ticked(page: Page, shop: Shop, traces: list[dict[str, Any]]) -> None:
    page.goto(shop.srv.url + TRACES)
    for trace in traces:
        page.get_by_label(f"Select trace {trace['trace_id']}").check()
    page.get_by_label("Annotation queue").select_option("review")
    page.get_by_role("button", name="Add to queue").click()


def start(page: Page, reviewer: str) -> None:
    page.get_by_label("Reviewer").fill(reviewer)
    page.get_by_role("button", name="Start reviewing").click()


def feedback(shop: Shop, trace: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {f["name"]: (f["kind"], f["label"], f["value"], f["source"], f["author"])
            for f in get_span(shop.engine, trace["root"])["feedback"]}


def test_ticked_traces_are_reviewed_in_turn_and_their_trace_pages_show_the_scores(page: Page, shop: Shop) -> None:
    first, second, _ = shop.traces
    add_ticked(page, shop, [first, second])
    expect(page.get_by_role("status")).to_have_text("Added 2 spans to the queue.")
    expect(page.locator(".queue-progress")).to_contain_text("0 / 2 done")
    expect(page.locator("#items tbody tr")).to_have_count(2)
    start(page, "alice")

    for trace, (question, answer), scores in [(first, QUESTIONS[0], ("correct", "4", "👍 yes")),
                                              (second, QUESTIONS[1], ("incorrect", "2", "👎 no"))]:
        detail = page.locator("#review-span")
        expect(detail).to_contain_text(question)
        expect(detail).to_contain_text(answer)
        expect(page.locator("#trace-link")).to_have_attribute("href", f"/traces/{trace['trace_id']}?span={trace['root']}")
        page.get_by_label(scores[0], exact=True).check()
        page.get_by_label("accuracy").fill(scores[1])
        page.get_by_label(scores[2], exact=True).check()
        page.get_by_role("button", name="Submit and next").click()

    expect(page.locator("#finished")).to_have_text("Nothing left for you to review in this queue.")
    expect(page.locator(".queue-progress")).to_contain_text("2 / 2 done")
    expect(page.locator("#items tr[data-status='done']")).to_have_count(2)
    assert feedback(shop, first) == {"quality": ("label", "correct", None, "human", "alice"),
                                     "accuracy": ("score", None, 4.0, "human", "alice"),
                                     "helpful": ("thumbs", None, 1.0, "human", "alice")}

    page.goto(f"{shop.srv.url}/traces/{second['trace_id']}")
    items = page.locator("#feedback .feedback-item")
    expect(items).to_have_count(3)
    expect(items.filter(has_text="quality: incorrect")).to_contain_text("human · alice · queue review")
    expect(items.filter(has_text="accuracy = 2.0")).to_have_count(1)
    expect(items.filter(has_text="helpful: 👎 down")).to_have_count(1)


def test_two_reviewers_in_two_browsers_are_shown_different_items(page: Page, shop: Shop, browser) -> None:  # type: ignore[no-untyped-def]
    add_ticked(page, shop, shop.traces[:2])
    other = browser.new_context().new_page()
    try:
        start(page, "alice")
        other.goto(page.url.split("/items/")[0])
        start(other, "bob")
        expect(other.locator("#review-span")).to_contain_text(QUESTIONS[1][0])
        expect(page.locator("#review-span")).to_contain_text(QUESTIONS[0][0])
        page.goto(other.url)
        expect(page.locator("#item-held")).to_contain_text("bob is reviewing this item")
    finally:
        other.context.close()


def test_the_review_page_escapes_the_span_and_reviewer_and_refuses_an_empty_answer(page: Page, shop: Shop) -> None:
    xss = shop.traces[2]
    queues.add_items(shop.engine, PROJECT, "review", span_ids=[xss["root"]])
    page.goto(shop.srv.url + QUEUES + "/review")
    start(page, "<b>Zoë 李</b>")
    expect(page.locator("#review-span")).to_contain_text(XSS)
    page.get_by_role("button", name="Submit and next").click()
    expect(page.get_by_role("alert")).to_have_text("answer at least one of quality, accuracy, helpful, or skip the item")
    page.get_by_role("button", name="Skip").click()
    expect(page.locator("#items tr[data-status='skipped']")).to_contain_text("<b>Zoë 李</b>")
    expect(page.get_by_label("Reviewer")).to_have_value("<b>Zoë 李</b>")
    assert feedback(shop, xss) == {}
    assert page.evaluate("window.__xss") is None


def test_configs_and_queues_are_made_on_the_list_page_with_errors_inline(page: Page, shop: Shop) -> None:
    page.goto(shop.srv.url + QUEUES)
    page.get_by_label("Score config name").fill("tone")
    page.get_by_label("Type").select_option("numeric")
    page.get_by_label("Minimum").fill("5")
    page.get_by_label("Maximum").fill("1")
    page.get_by_role("button", name="Create score config").click()
    expect(page.locator("#config-error")).to_have_text("min_value must be below max_value; got 5 and 1")
    page.get_by_label("Maximum").fill("9")
    page.get_by_role("button", name="Create score config").click()
    expect(page.locator("#score-configs tr[data-config='tone']")).to_contain_text("5 to 9")
    page.get_by_label("Queue name").fill("tone check")
    page.get_by_role("button", name="Create queue").click()
    expect(page.locator("#queue-error")).to_have_text("a queue needs at least one score config to fill; create one first")
    page.get_by_label("tone", exact=False).last.check()
    page.get_by_role("button", name="Create queue").click()
    expect(page).to_have_url(shop.srv.url + QUEUES + "/tone%20check")
    page.goto(shop.srv.url + TRACES)
    page.get_by_role("button", name="Add to queue").click()
    expect(page.locator("#queue-error")).to_have_text("select at least one trace (tick its box) to add to a queue")
    page.get_by_label(f"Select trace {shop.traces[0]['trace_id']}").check()
    page.get_by_role("button", name="Add to queue").click()
    expect(page.locator("#queue-error")).to_have_text("choose the annotation queue to add the ticked traces to")
    assert [q["progress"]["total"] for q in queues.list_queues(shop.engine, PROJECT)] == [0, 0]


def post(shop: Shop, path: str, data: dict[str, str]) -> httpx.Response:
    return httpx.post(shop.srv.url + path, data=data, cookies={"tenbin_csrf": "t"}, timeout=30)


def test_forged_posts_are_refused_and_change_nothing(shop: Shop) -> None:
    first = shop.traces[0]
    queues.add_items(shop.engine, PROJECT, "review", span_ids=[first["root"]])
    item = queues.list_items(shop.engine, PROJECT, "review").items[0]["id"]
    forms = {TRACES + "/add-to-queue": {"span_id": shop.traces[1]["root"], "queue": "review"},
             QUEUES + "/review/review": {"reviewer": "mallory"},
             f"{QUEUES}/review/items/{item}": {"reviewer": "mallory", "action": "complete", "score.quality": "correct"},
             f"/projects/{PROJECT}/score-configs": {"name": "x", "type": "boolean"},
             QUEUES: {"name": "x", "config": "quality"}}
    for path, fields in forms.items():
        assert post(shop, path, fields).status_code == 403, path
        assert post(shop, path, {**fields, "csrf": "forged"}).status_code == 403, path
    assert queues.get_queue(shop.engine, PROJECT, "review")["progress"] == \
        {"pending": 1, "done": 0, "skipped": 0, "total": 1}
    assert queues.get_item(shop.engine, PROJECT, "review", item)["reviewer"] is None
    assert feedback(shop, first) == {} and [c["name"] for c in configs.list_configs(shop.engine, PROJECT)] == \
        ["accuracy", "helpful", "quality"]
    bad = post(shop, f"{QUEUES}/review/items/{item}",
               {"csrf": "t", "reviewer": "dave", "action": "complete", "score.quality": "great", "score.accuracy": "9"})
    assert bad.status_code == 400 and "&#39;quality&#39; takes one of the labels correct, incorrect" in bad.text
    done = post(shop, f"{QUEUES}/review/items/{item}",
                {"csrf": "t", "reviewer": "dave", "action": "complete", "score.accuracy": "3"})
    assert done.status_code == 303 and done.headers["location"].endswith("?finished=1")
    again = post(shop, f"{QUEUES}/review/items/{item}",
                 {"csrf": "t", "reviewer": "dave", "action": "complete", "score.accuracy": "4"})
    assert again.status_code == 400 and "is already done (by dave" in again.text
    assert feedback(shop, first) == {"accuracy": ("score", None, 3.0, "human", "dave")}
