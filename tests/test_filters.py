"""The filter language against real spans on SQLite and PostgreSQL: which spans each filter returns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from tenbin.errors import FilterError
from tenbin.filters import FIELDS, MAX_LENGTH, compile_filter
from tenbin.store.models import SPAN_COLUMNS, Feedback, Span
from tenbin.store.writes import ensure_projects, insert_spans

ALL = {"chat", "search", "tool_call", "agent", "summarise"}


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()) * 1_000_000


def span_row(project_id: int, name: str, **values: Any) -> dict[str, Any]:
    """A complete span row: every column None unless given, plus ids and times derived from the name."""
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    start = _us(values.pop("start", "2026-11-25T10:00:00"))
    row.update(
        span_id=name.encode().hex()[:16].ljust(16, "0"),
        trace_id=values.pop("trace_id", "a" * 32),
        project_id=project_id,
        name=name,
        kind="LLM",
        status="OK",
        start_us=start,
        end_us=start + int(values.get("latency_ms", 100) * 1000),
        latency_ms=100.0,
    )
    row.update(values)
    return row


def sample_spans(pid: int) -> list[dict[str, Any]]:
    return [
        span_row(
            pid, "chat", latency_ms=2500.0, model="gpt-4o", prompt_tokens=100, completion_tokens=50,
            total_tokens=150, cost=0.01, session_id="s1", session_step=1, user_id="u1", prompt_name="greet",
            prompt_version="2", input_value="I want a REFUND please", output_value="Sure",
            tags=["urgent", "vip"], attributes={"llm.provider": "openai"},
            metadata={"task": "billing", "score": 5, "nested": {"level": "deep"}, "flag": True},
        ),
        span_row(
            pid, "search", kind="RETRIEVER", latency_ms=300.0, start="2026-11-25T09:00:00",
            input_value="find 50% off deals", output_value="3 documents", tags=["urgent-ish"],
            metadata={"task": "search", "score": "5", "items": ["a", "b"]},
        ),
        span_row(
            pid, "tool_call", kind="TOOL", status="ERROR", status_message="timeout after 30s", latency_ms=1200.0,
            start="2026-11-25T11:00:00", input_value="look under_score", parent_id="f" * 16,
            trace_id="b" * 32, session_id="s1", session_step=2,
        ),
        span_row(
            pid, "agent", kind="AGENT", status="UNSET", latency_ms=5000.0, start="2026-11-26T00:00:00",
            tags=[], metadata={"task": "billing", "score": 1.5, "flag": False},
            attributes={"llm.provider": "anthropic"},
        ),
        span_row(
            pid, "summarise", kind="LLM", latency_ms=900.0, model="claude-3", prompt_tokens=4000,
            total_tokens=4200, cost=0.2, input_value="it's 100%_done", output_value="Done, a REFUND was issued",
            metadata={"score": None, "task": 7}, tags=["vip"], user_id="u2",
        ),
    ]


@pytest.fixture
def store(engine: Engine) -> Iterator[Engine]:
    """The sample spans plus feedback on some of them, on each dialect."""
    with engine.begin() as conn:
        pid = ensure_projects(conn, {"p"})["p"]
        rows = sample_spans(pid)
        insert_spans(conn, rows)
        ids = {r["name"]: r["span_id"] for r in rows}

        def feedback(span: str | None, name: str, value: float | None, label: str | None = None) -> dict[str, Any]:
            return {
                "project_id": pid, "trace_id": "b" * 32 if span is None else "a" * 32,
                "span_id": ids.get(span or ""), "name": name, "kind": "score", "value": value,
                "label": label, "comment": None, "source": "human", "author": None, "created_us": 1,
            }

        conn.execute(
            insert(Feedback),
            [
                feedback("chat", "thumbs", 0),
                feedback("chat", "helpfulness", 0.3),
                feedback("search", "thumbs", 1),
                feedback("search", "quality", None, "good"),
                feedback("agent", "helpfulness", 0.9),
                feedback(None, "thumbs", 0),  # trace-level: must not count for any span
            ],
        )
    yield engine


def names(engine: Engine, expr: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Span.name).where(compile_filter(expr))))


def check(engine: Engine, cases: dict[str, set[str]]) -> None:
    """Run every filter and report all wrong results at once, so one failure shows the whole picture."""
    wrong = {expr: (got, want) for expr, want in cases.items() if (got := names(engine, expr)) != want}
    assert not wrong, "\n".join(f"{e}: got {sorted(g)}, want {sorted(w)}" for e, (g, w) in wrong.items())


def test_empty_filter_matches_every_span(store: Engine) -> None:
    check(store, {"": ALL, "   ": ALL})


def test_kind_and_status_match_in_any_case(store: Engine) -> None:
    check(store, {
        'kind == "LLM"': {"chat", "summarise"},
        'kind == "llm"': {"chat", "summarise"},
        'kind != "llm"': {"search", "tool_call", "agent"},
        'kind in ["tool", "Agent"]': {"tool_call", "agent"},
        'kind not in ("TOOL", "AGENT", "LLM")': {"search"},
        'status == "error"': {"tool_call"},
        '"unset" == status': {"agent"},
    })


def test_numbers_compare_with_every_operator_both_ways_and_chained(store: Engine) -> None:
    check(store, {
        "latency_ms > 2000": {"chat", "agent"},
        "latency_ms >= 900": {"chat", "tool_call", "agent", "summarise"},
        "latency_ms < 900": {"search"},
        "latency_ms <= 900": {"search", "summarise"},
        "latency_ms == 1200": {"tool_call"},
        "2000 < latency_ms": {"chat", "agent"},
        "300 < latency_ms <= 2500": {"chat", "tool_call", "summarise"},
        "prompt_tokens > 1000 and cost >= 0.2": {"summarise"},
        "total_tokens in [150, 4200]": {"chat", "summarise"},
        "session_step == 2": {"tool_call"},
        "latency_ms > -1.5": ALL,
        "prompt_tokens > 5000000000": set(),
    })


def test_text_fields_compare_exactly_and_search_ignoring_case(store: Engine) -> None:
    check(store, {
        'model == "gpt-4o"': {"chat"},
        'name in ["chat", "agent"]': {"chat", "agent"},
        '"refund" in input': {"chat"},
        '"REFUND" in output': {"summarise"},
        '"refund" not in input': {"search", "tool_call", "agent", "summarise"},
        '"50%" in input': {"search"},
        '"0%_" in input': {"summarise"},
        '"k_u" in input': set(),
        '"%" in name': set(),
        '"30s" in status_message': {"tool_call"},
        'user_id == "u1" or prompt_name == "greet" and prompt_version == "2"': {"chat"},
        'session_id == "s1" and not span_id == "x"': {"chat", "tool_call"},
        f'trace_id == "{"b" * 32}"': {"tool_call"},
    })


def test_missing_values_never_match_and_negations_are_complements(store: Engine) -> None:
    check(store, {
        "model is None": {"search", "tool_call", "agent"},
        "model == None": {"search", "tool_call", "agent"},
        "model is not None": {"chat", "summarise"},
        "model != None": {"chat", "summarise"},
        'model != "gpt-4o"': {"search", "tool_call", "agent", "summarise"},
        'not model == "gpt-4o"': {"search", "tool_call", "agent", "summarise"},
        "parent_id is not None": {"tool_call"},
        "cost < 1": {"chat", "summarise"},
        "not cost < 1": {"search", "tool_call", "agent"},
        'model in ["claude-3", None]': {"search", "tool_call", "agent", "summarise"},
        'not (model == "gpt-4o" or latency_ms > 1000)': {"search", "summarise"},
    })


def test_times_compare_with_iso_text_or_epoch_seconds(store: Engine) -> None:
    ten = _us("2026-11-25T10:00:00") // 1_000_000
    check(store, {
        'start_time >= "2026-11-25T10:00:00Z"': {"chat", "tool_call", "agent", "summarise"},
        'start_time < "2026-11-25T10:00:00+00:00"': {"search"},
        'start_time > "2026-11-25T13:00:00+02:00"': {"agent"},
        'start_time >= "2026-11-26"': {"agent"},
        f"start_time == {ten}": {"chat", "summarise"},
        f"start_time > {ten + 0.5}": {"tool_call", "agent"},
        'end_time > "2026-11-25T11:00:01Z"': {"tool_call", "agent"},
    })


def test_metadata_compares_by_the_constants_type_and_missing_keys_never_match(store: Engine) -> None:
    check(store, {
        'metadata["task"] == "billing"': {"chat", "agent"},
        'metadata["task"] != "billing"': {"search", "tool_call", "summarise"},
        'metadata["score"] > 3': {"chat"},
        'metadata["score"] >= 1.5': {"chat", "agent"},
        'metadata["score"] == "5"': {"search"},
        'metadata["score"] == 5': {"chat"},
        'metadata["task"] == 7': {"summarise"},
        'metadata["task"] in ["search", 7]': {"search", "summarise"},
        'metadata["flag"] == True': {"chat"},
        'metadata["flag"] == False': {"agent"},
        'metadata["score"] is None': {"tool_call", "summarise"},
        'metadata["score"] is not None': {"chat", "search", "agent"},
        'metadata["missing"] == "x"': set(),
        'metadata["nested"]["level"] == "deep"': {"chat"},
        'metadata["items"][1] == "b"': {"search"},
        '"bill" in metadata["task"]': {"chat", "agent"},
    })


def test_attributes_are_filtered_like_metadata(store: Engine) -> None:
    check(store, {
        'attributes["llm.provider"] == "openai"': {"chat"},
        'attributes["llm.provider"] in ["openai", "anthropic"]': {"chat", "agent"},
        'attributes["llm.provider"] is None': {"search", "tool_call", "summarise"},
    })


def test_tags_match_whole_elements_only(store: Engine) -> None:
    check(store, {
        '"urgent" in tags': {"chat"},
        '"vip" in tags': {"chat", "summarise"},
        '"urgent" not in tags': {"search", "tool_call", "agent", "summarise"},
        '"urg" in tags': set(),
        '"VIP" in tags': set(),
    })


def test_feedback_matches_span_feedback_by_name(store: Engine) -> None:
    check(store, {
        'feedback["thumbs"] == 0': {"chat"},
        'feedback["thumbs"] == 1': {"search"},
        'feedback["thumbs"] != 0': {"search", "tool_call", "agent", "summarise"},
        'feedback["helpfulness"] < 0.5': {"chat"},
        'feedback["helpfulness"] in [0.3, 0.9]': {"chat", "agent"},
        'feedback["helpfulness"] is None': {"search", "tool_call", "summarise"},
        'feedback["thumbs"] is not None': {"chat", "search"},
        'feedback["quality"] == "good"': {"search"},
    })


def test_reused_statement_shapes_bind_their_own_values(store: Engine) -> None:
    """SQLAlchemy caches compiled SQL by shape; the per-dialect parts must still bind fresh values."""
    assert names(store, '"vip" in tags') == {"chat", "summarise"}
    assert names(store, '"urgent" in tags') == {"chat"}
    assert names(store, 'metadata["task"] == "search"') == {"search"}
    assert names(store, 'metadata["task"] == "billing"') == {"chat", "agent"}


def test_filter_counts_spans_in_an_aggregate_query(store: Engine) -> None:
    with store.connect() as conn:
        query = select(func.count()).select_from(Span).where(compile_filter('"vip" in tags and feedback["thumbs"] == 0'))
        assert conn.scalar(query) == 1


def test_quoted_sql_in_a_value_is_only_data(store: Engine) -> None:
    check(store, {
        "name == \"x' OR '1'='1\"": set(),
        "name != \"x' OR '1'='1\"": ALL,
        '"\'; DROP TABLE spans; --" in input': set(),
    })
    assert names(store, "") == ALL


def test_fields_document_every_name_with_one_line() -> None:
    assert {"latency_ms", "kind", "metadata", "attributes", "tags", "feedback", "start_time", "input"} <= FIELDS.keys()
    assert all(doc and "\n" not in doc for doc in FIELDS.values())


BAD_FILTERS = [
    ("latncy_ms > 2000", "unknown field 'latncy_ms' at column 1; did you mean 'latency_ms'?", "latncy_ms"),
    ('kind == "LLM" and lat > 1', "unknown field 'lat' at column 19", "lat"),
    ("__import__('os')", "function calls are not allowed", "__import__('os')"),
    ("len(name) > 3", "function calls are not allowed", "len(name)"),
    ("x.__class__ == 1", "attribute access is not allowed", "x.__class__"),
    ("name.__class__ == 1", "attribute access is not allowed", "name.__class__"),
    ('name[0] == "a"', "only metadata, attributes and feedback take [...]", "name[0]"),
    ("metadata[kind] == 1", "a key must be a quoted string or an integer", "kind"),
    ('metadata["a":"b"] == 1', "a key must be a quoted string or an integer", '"a":"b"'),
    ('metadata == "x"', "metadata needs a key", "metadata"),
    ('latency_ms > "abc"', "latency_ms cannot be compared with a string", 'latency_ms > "abc"'),
    ("name == 3", "name cannot be compared with a number", "name == 3"),
    ('kind == "LLMM"', "unknown kind 'LLMM'", 'kind == "LLMM"'),
    ('kind > "LLM"', "kind can only be tested with ==, !=, in", 'kind > "LLM"'),
    ('start_time > "yesterday"', "'yesterday' is not a time", 'start_time > "yesterday"'),
    ("latency_ms == prompt_tokens", "not with another field", "prompt_tokens"),
    ('"a" == "b"', "not two constants", '"a"'),
    ("latency_ms + 1 > 2", "arithmetic and bitwise operators are not allowed", "latency_ms + 1"),
    ('kind == "LLM" & status == "OK"', "arithmetic and bitwise operators are not allowed", None),
    ("latency_ms", "a bare value is not a condition", "latency_ms"),
    ('kind is "LLM"', "`is` only tests for None", 'kind is "LLM"'),
    ("latency_ms > None", "None can only be tested with", "latency_ms > None"),
    ('kind = "LLM"', "invalid filter syntax (invalid syntax) at column 6: '= \"LLM\"'; use == to compare", '= "LLM"'),
    ("latency_ms >", "at the end of the filter 'latency_ms >'", "latency_ms >"),
    ("kind == true", "write True (capitalised)", "true"),
    ('"urgent" in tag', "did you mean 'tags'?", "tag"),
    ('tags == "x"', 'test membership: "urgent" in tags', 'tags == "x"'),
    ("1 in input", "`in` needs text on the left", "1 in input"),
    ('feedback["a"]["b"] == 1', "feedback takes one name", 'feedback["a"]["b"]'),
    ('metadata["flag"] > True', "cannot be ordered against a boolean", 'metadata["flag"] > True'),
    ('metadata["a\\"b"] == 1', "a key cannot contain a double quote", None),
    ("[x for x in name]", "this is not a condition", "[x for x in name]"),
    ("prompt_tokens > 10**30", "arithmetic and bitwise operators are not allowed", "10**30"),
    ("prompt_tokens > 1000000000000000000000", "number out of range", "prompt_tokens > 1000000000000000000000"),
    ('kind == "a\x00"', "NUL character at column 11", "\x00"),
    ('  é == 1', "unknown field 'é' at column 3", "é"),
    ("not " * 40 + "kind == 'LLM'", "filter is nested too deeply", None),
    ("(" * 300 + "kind == 'LLM'" + ")" * 300, "", None),
    ("kind == 'LLM' or " * 130 + "kind == 'LLM'", f"the limit is {MAX_LENGTH}", None),
]


@pytest.mark.parametrize(("expr", "message", "part"), BAD_FILTERS, ids=[c[0][:40] for c in BAD_FILTERS])
def test_filter_outside_the_language_is_refused_naming_the_part(expr: str, message: str, part: str | None) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert message in str(info.value)
    if part is not None:
        assert info.value.part == part
    assert info.value.part and info.value.part in expr
