"""The spans indexes: migrations build exactly the models' (partial ones included), and the
queries that rely on a partial index state its condition so the planner can use it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from tenbin.store import metrics, migrate, queries
from tenbin.store.engine import make_engine, write_transaction
from tenbin.store.models import Span
from tenbin.store.queries import SpanQuery
from tests.test_metrics_sampling import SPANS
from tests.test_metrics_sampling import _seed as seed_sampling_spans


def _live_indexes(engine: Engine) -> dict[str, tuple[list[str], str | None]]:
    """Name -> (columns, WHERE text or None) of every non-unique index on spans, as the database has it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans' "
                                     "AND sql IS NOT NULL")).all()
            cols = {n: [r[2] for r in conn.exec_driver_sql(f"PRAGMA index_info('{n}')")] for n, _ in rows}
        else:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'spans' "
                                     "AND indexname <> 'spans_pkey'")).all()
            cols = {n: re.findall(r"\w+", d.split("(", 1)[1].split(")")[0]) for n, d in rows}
    return {n: (cols[n], sql.split(" WHERE ", 1)[1] if " WHERE " in sql else None) for n, sql in rows}


def test_migrated_spans_indexes_are_the_models_with_their_partial_conditions(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    live = _live_indexes(engine)
    model = {i.name: ([c.name for c in i.columns], i.dialect_options[engine.dialect.name]["where"])
             for i in Span.__table__.indexes}
    assert set(live) == set(model)
    for name, (columns, where) in model.items():
        assert live[name][0] == columns, name
        assert (live[name][1] is None) == (where is None), name
    assert "ix_spans_parent_id" not in live and "'ERROR'" in (live["ix_spans_project_errors"][1] or "")
    migrate.downgrade(engine, "0013")
    assert {"ix_spans_parent_id", "ix_spans_project_status"} <= set(_live_indexes(engine))
    assert _live_indexes(engine)["ix_spans_project_sample"][1] is None
    engine.dispose()


def _seed(engine: Engine) -> None:
    """test_metrics_sampling's spans (ids evenly spread, 1 in 4 failed), every other one with a model."""
    seed_sampling_spans(engine)
    with write_transaction(engine) as conn:
        conn.execute(text("UPDATE spans SET model = 'm' WHERE start_us % 2 = 1"))


def _plans(engine: Engine, run: Any) -> list[str]:
    """SQLite's plan line for every SELECT on spans that `run` makes."""
    seen: list[tuple[str, Any]] = []

    def log(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM spans" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", log)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", log)
    with engine.connect() as conn:
        return [" ".join(str(r[3]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)) for s, p in seen]


def test_sampled_summary_and_error_list_read_the_partial_indexes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate.upgrade(engine)
    _seed(engine)
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 256)
    summary_plans = _plans(engine, lambda: metrics.summary(engine, SpanQuery("big")))
    assert summary_plans and all("COVERING INDEX ix_spans_project_sample" in p for p in summary_plans)
    error_plans = _plans(engine, lambda: queries.list_spans(engine, SpanQuery("big", 'status == "error"')))
    assert any("ix_spans_project_errors" in p for p in error_plans)
    engine.dispose()


def test_a_sample_wider_than_the_partial_index_still_counts_every_span(engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(engine)
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 1024)
    wide = metrics.summary(engine, SpanQuery("big"))[0]
    assert wide["sample_fraction"] == 0.5
    assert wide["count"] == SPANS and wide["error_rate"] == pytest.approx(0.25, abs=0.01)


def test_filters_on_partially_indexed_columns_find_every_matching_span(engine: Engine) -> None:
    _seed(engine)
    errors = queries.list_spans(engine, SpanQuery("big", 'status == "ERROR"'), limit=1000)
    assert len(errors.items) == SPANS // 4 and {s["status"] for s in errors.items} == {"ERROR"}
    starts = [s["start_us"] for s in errors.items]
    assert starts == sorted(starts, reverse=True)
    assert metrics.summary(engine, SpanQuery("big", 'model == "m"'))[0]["count"] == SPANS // 2
    assert metrics.summary(engine, SpanQuery("big", "model is None"))[0]["count"] == SPANS // 2
    newest = queries.list_spans(engine, SpanQuery("big", 'model == "m"'), limit=3).items
    assert [s["start_us"] for s in newest] == [1_000_000 + SPANS - 1, 1_000_000 + SPANS - 3, 1_000_000 + SPANS - 5]
