"""Computed cost on SQLite and PostgreSQL: exact values on constructed spans, the app's own cost
winning, pattern precedence, valid-from, recompute after a price change, and cost summaries."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin import costs
from tenbin.errors import InvalidInput, NotFound
from tenbin.prices import Price, PriceBook, builtin_prices, check_pattern
from tenbin.store import metrics, migrate
from tenbin.store.costs import cost_summary
from tenbin.store.engine import make_engine, write_transaction
from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.prices import create_price, list_prices, update_price
from tenbin.store.queries import (
    SpanQuery,
    get_span,
    get_trace,
    iso,
    list_spans,
    list_traces,
)
from tenbin.store.writes import ensure_projects, insert_spans
from tests.test_span_indexes import _plans

DAY_US = 86_400_000_000
T0 = 20_000 * DAY_US
"""Midnight UTC."""
_ids = itertools.count(1)


def span(model: str | None, prompt: int | None, completion: int | None, *, cost: float | None = None,
         start: int = T0, trace: str | None = None) -> dict[str, Any]:
    n = next(_ids)
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(span_id=f"{n * 7919:016x}", trace_id=trace or f"{n:032x}", name="llm", kind="LLM", status="OK",
               start_us=start, end_us=start + 1000, latency_ms=1.0, model=model, prompt_tokens=prompt,
               completion_tokens=completion, cost=cost, metadata=None)
    return row


def seed(engine: Engine, rows: list[dict[str, Any]], project: str = "shop") -> None:
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])


def price(engine: Engine, pattern: str, prompt: float, completion: float, valid_from_us: int | None = None,
          project: str = "shop", **kw: Any) -> dict[str, Any]:
    spec = {"pattern": pattern, "prompt_per_1m": prompt, "completion_per_1m": completion,
            "valid_from_us": valid_from_us}
    return create_price(engine, project, spec, **kw)


def stored(engine: Engine, row: dict[str, Any]) -> tuple[float | None, bool | None]:
    got = get_span(engine, row["span_id"])
    return got["cost"], got["cost_computed"]


def test_computed_cost_is_exact_and_the_apps_cost_wins(engine: Engine) -> None:
    mine = span("acme-large", 1234, 567, trace="a" * 32)
    builtin = span("GPT-4o-mini-2024-07-18", 2000, 1000, trace="a" * 32)
    app = span("acme-large", 1000, 1000, cost=0.5)
    unknown, tokenless = span("no-such-model", 10, 10), span("acme-large", None, None)
    seed(engine, [mine, builtin, app, unknown, tokenless])
    price(engine, "acme-large", 2.5, 10.0)
    assert costs.fill_pending(engine) != {}

    assert stored(engine, mine) == ((1234 * 2.5 + 567 * 10.0) / 1_000_000, True)
    assert stored(engine, mine)[0] == pytest.approx(0.008755, abs=1e-15)
    assert stored(engine, builtin) == ((2000 * 0.15 + 1000 * 0.60) / 1_000_000, True)
    assert stored(engine, app) == (0.5, None)
    assert stored(engine, unknown) == (None, False)
    assert stored(engine, tokenless) == (None, False)
    assert costs.fill_pending(engine) == {}, "priced spans leave the pending index"

    trace = get_trace(engine, "a" * 32)
    assert trace["cost"] == pytest.approx(0.008755 + 0.0009, abs=1e-15) and trace["cost_computed"] is True
    listed = {t["trace_id"]: t for t in list_traces(engine, SpanQuery("shop")).items}
    assert listed["a" * 32]["cost"] == pytest.approx(trace["cost"], abs=1e-15)
    assert listed[app["trace_id"]]["cost"] == 0.5 and listed[app["trace_id"]]["cost_computed"] is False
    dear = list_spans(engine, SpanQuery("shop", "cost > 0.005 and cost < 0.1")).items
    assert [s["span_id"] for s in dear] == [mine["span_id"]], "computed costs filter like the app's"
    assert {s["span_id"] for s in list_spans(engine, SpanQuery("shop", "cost is None")).items} == {
        unknown["span_id"], tokenless["span_id"]}


def test_recompute_applies_a_changed_price_in_the_range_only_and_never_to_the_apps_cost(engine: Engine) -> None:
    early, late = span("acme-large", 1000, 0, start=T0), span("acme-large", 1000, 0, start=T0 + DAY_US)
    app = span("acme-large", 1000, 0, cost=0.25, start=T0 + DAY_US)
    seed(engine, [early, late, app])
    entry = price(engine, "acme-large", 1.0, 1.0)
    costs.fill_pending(engine)
    update_price(engine, "shop", entry["id"], {"prompt_per_1m": 3.0})
    costs.fill_pending(engine)
    assert stored(engine, late) == (0.001, True), "a price change alone leaves stored costs as they are"

    done = costs.recompute(engine, "shop", T0 + DAY_US, T0 + 2 * DAY_US)
    assert (done["spans"], done["computed"], done["unpriced"]) == (1, 1, 0)
    assert stored(engine, late) == (0.003, True)
    assert stored(engine, early) == (0.001, True)
    assert stored(engine, app) == (0.25, None)

    update_price(engine, "shop", entry["id"], {"pattern": "other-model"})
    costs.recompute(engine, "shop")
    assert stored(engine, early) == (None, False), "a span whose price went away loses its computed cost"
    assert stored(engine, app) == (0.25, None)


def test_valid_from_picks_the_price_in_force_when_the_span_started(engine: Engine) -> None:
    before, at, after = (span("acme-large", 1_000_000, 0, start=T0 + d) for d in (-1, 0, 1))
    seed(engine, [before, at, after])
    price(engine, "acme-large", 1.0, 0.0)
    price(engine, "acme-large", 2.0, 0.0, valid_from_us=T0)
    price(engine, "acme-large", 9.0, 0.0, valid_from_us=T0 + DAY_US)
    costs.fill_pending(engine)
    assert [stored(engine, s)[0] for s in (before, at, after)] == [1.0, 2.0, 2.0]


def test_precedence_project_then_global_then_builtin_and_the_most_specific_pattern(engine: Engine) -> None:
    rows = {m: span(m, 1_000_000, 0) for m in ("gpt-4o-mini", "gpt-4o-2024-08-06", "gpt-4o", "claude-3-haiku-x")}
    seed(engine, list(rows.values()))
    seed(engine, [], project="other")
    price(engine, "gpt-4o*", 7.0, 0.0, project="other", is_global=True)
    price(engine, "re:gpt-4o.*", 8.0, 0.0)
    price(engine, "GPT-4O", 5.0, 0.0)
    costs.fill_pending(engine)
    got = {m: stored(engine, r)[0] for m, r in rows.items()}
    assert got == {"gpt-4o-mini": 8.0, "gpt-4o-2024-08-06": 8.0, "gpt-4o": 5.0, "claude-3-haiku-x": 0.25}
    listed = list_prices(engine, "shop")
    assert [(p["scope"], p["pattern"]) for p in listed[:3]] == [("project", "GPT-4O"), ("project", "re:gpt-4o.*"),
                                                                ("global", "gpt-4o*")]
    assert {p["scope"] for p in listed[3:]} == {"builtin"}
    assert {p["scope"] for p in list_prices(engine, "other")[:1]} == {"global"}


def test_the_rules_in_order() -> None:
    book = PriceBook([Price("gpt-4o*", 1, 1, order=0), Price("gpt-4o-mini*", 2, 2, order=1),
                      Price("re:gpt-4o-mini.*", 3, 3, order=2), Price("gpt-4o-mini-2024-07-18", 4, 4, order=3),
                      Price("gpt-4o-m?ni*", 5, 5, order=4), Price("gpt-4o*", 6, 6, valid_from_us=10, order=5)])
    assert book.price_for("gpt-4o-mini-2024-07-18", 0).prompt_per_1m == 4      # exact name first
    assert book.price_for("GPT-4O-MINI-2025", 0).prompt_per_1m == 2            # then the longest glob
    assert book.price_for("gpt-4o-mxni", 0).prompt_per_1m == 5                 # ? is one character
    assert book.price_for("gpt-4o", 0).prompt_per_1m == 1
    assert book.price_for("gpt-4o", 10).prompt_per_1m == 6                     # same pattern: latest valid_from
    assert book.price_for("xgpt-4o", 0) is None and book.price_for(None, 0) is None
    assert Price("re:gpt-4o", 1, 1).matches("gpt-4o") and not Price("re:gpt-4o", 1, 1).matches("gpt-4o-mini")
    assert Price("a.b", 1, 1).matches("a.b") and not Price("a.b", 1, 1).matches("axb")
    assert {p.scope for p in builtin_prices()} == {"builtin"} and len(builtin_prices()) >= 10


def test_patterns_that_would_backtrack_without_bound_answer_at_once() -> None:
    """A user's pattern runs on the server's scheduler thread: none may hang it (stdlib `re` took
    seconds for 6 stars on a 60-character name and did not finish for 8, or for `(a+)+$`)."""
    name = "a" * 150
    assert Price("*a*a*a*a*a*a*a*a*a*a*b", 1, 1).matches(name) is False
    assert Price("*a*a*a*a*a*a*a*a*a*a*", 1, 1).matches(name) is True
    assert Price("re:(a+)+b", 1, 1).matches(name) is False
    assert Price("re:(x+x+)+y", 1, 1).matches("x" * 5000) is False
    assert Price("gpt-4[o]*", 1, 1).matches("GPT-4[O]-mini") is True  # only * and ? are wildcards


@pytest.mark.parametrize("spec, message", [
    ({"pattern": "x", "prompt_per_1m": -1, "completion_per_1m": 1}, "from 0 to"),
    ({"pattern": "x", "prompt_per_1m": float("nan"), "completion_per_1m": 1}, "from 0 to"),
    ({"pattern": "x", "prompt_per_1m": "cheap", "completion_per_1m": 1}, "must be a number"),
    ({"pattern": "re:gpt-(4o", "prompt_per_1m": 1, "completion_per_1m": 1}, "not a valid regular expression"),
    ({"pattern": "  ", "prompt_per_1m": 1, "completion_per_1m": 1}, "a model pattern is needed"),
    ({"pattern": "x", "prompt_per_1m": 1, "completion_per_1m": 1, "valid_from_us": -5}, "valid_from"),
])
def test_bad_prices_are_refused_and_nothing_is_stored(engine: Engine, spec: dict[str, Any], message: str) -> None:
    seed(engine, [])
    with pytest.raises(InvalidInput, match=message):
        create_price(engine, "shop", spec)
    assert all(p["scope"] == "builtin" for p in list_prices(engine, "shop"))


def test_duplicates_unknown_projects_and_other_projects_prices_are_refused(engine: Engine) -> None:
    seed(engine, [])
    seed(engine, [], project="other")
    theirs = price(engine, "m", 1, 1, project="other")
    price(engine, "m", 1, 1)
    with pytest.raises(InvalidInput, match="already a price for 'm'"):
        price(engine, "M", 2, 2)
    with pytest.raises(NotFound, match="no project named 'nope'"):
        price(engine, "m", 1, 1, project="nope")
    with pytest.raises(NotFound, match=f"no model price with id {theirs['id']}"):
        update_price(engine, "shop", theirs["id"], {"prompt_per_1m": 0})
    assert check_pattern("  gpt-4o*  ") == "gpt-4o*"


def test_cost_summary_by_model_and_day_exact_then_sampled(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [span("gpt-4o" if i % 2 else "acme-large", 1_000_000, 0, start=T0 + (i % 2) * DAY_US) for i in range(64)]
    rows.append(span(None, None, None, cost=0.5, start=T0))
    seed(engine, rows)
    price(engine, "acme-large", 1.0, 0.0)
    costs.fill_pending(engine)
    got = cost_summary(engine, SpanQuery("shop"))
    assert got["total_cost"] == pytest.approx(32 * 2.5 + 32 * 1.0 + 0.5)
    assert got["computed_cost"] == pytest.approx(32 * 3.5) and got["sample_fraction"] == 1.0
    assert [(m["model"], m["spans"]) for m in got["by_model"]] == [("gpt-4o", 32), ("acme-large", 32), (None, 1)]
    assert [(p["bucket"], round(p["cost"], 6)) for p in got["series"]] == [(iso(T0), 32.5), (iso(T0 + DAY_US), 80.0)]
    assert got["series"][1]["models"] == {"gpt-4o": pytest.approx(80.0)}
    filtered = cost_summary(engine, SpanQuery("shop", 'model == "acme-large"'), bucket_seconds=None)
    assert filtered["total_cost"] == pytest.approx(32.0) and filtered["series"] == []

    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 8)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 4)
    sampled = cost_summary(engine, SpanQuery("shop"))
    assert sampled["sample_fraction"] < 1
    assert sampled["sample_fraction"] == metrics.summary(engine, SpanQuery("shop"))[0]["sample_fraction"]


def test_cost_job_and_sampled_cost_summary_read_their_partial_indexes(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate.upgrade(engine)
    seed(engine, [span("gpt-4o", 10, 10, start=T0 + i) for i in range(200)], project="big")
    fill_plans = _plans(engine, lambda: costs.fill_pending(engine))
    assert any("ix_spans_cost_pending" in p for p in fill_plans), fill_plans
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 10)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 5)
    summary_plans = _plans(engine, lambda: cost_summary(engine, SpanQuery("big")))
    assert any("COVERING INDEX ix_spans_project_cost" in p for p in summary_plans), summary_plans
    engine.dispose()


def test_a_fill_batch_priced_with_an_older_table_leaves_a_span_recomputed_meanwhile(engine: Engine) -> None:
    from tenbin.store.costs import write_costs

    row = span("acme-large", 1000, 1000)
    seed(engine, [row])
    price(engine, "acme-large", 1.0, 1.0)
    costs.recompute(engine, "shop")
    assert stored(engine, row) == (0.002, True)
    stale = {Price("acme-large", 9.0, 9.0): [row["span_id"]]}
    with write_transaction(engine) as conn:
        write_costs(conn, stale, [], pending_only=True)
    assert stored(engine, row) == (0.002, True)
    with write_transaction(engine) as conn:
        write_costs(conn, stale, [])
    assert stored(engine, row) == (0.018, True), "a recompute's own write does replace it"
