"""Datasets: versioned sets of examples (input, expected output, metadata, source span).

An example is `{"input": str | dict, "expected": str | None, "metadata": dict, "source_span_id": str}`.
They come from a filter over spans or chosen span ids (input ← input_value; expected ←
metadata["reference"], or the span's own output as a golden baseline, or nothing: `expected_from`),
from a CSV or JSONL file, or from Python. A file with bad rows is refused whole, every bad row named
by its line, so nothing is ever half-imported.

CSV: a header row with an `input` column; `expected` (or `reference`) is the expected output; a
`metadata` column holds a JSON object; any other column is added to the metadata.
JSONL: one object per line with the same keys (`input` may be an object: a prompt's variables).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Literal, get_args

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.evals import runner
from tenbin.store import queries

KEYS = ("input", "expected", "metadata", "source_span_id")
ALIASES = {"reference": "expected"}
MAX_EXAMPLES = runner.MAX_SPANS
MAX_REPORTED = 50
ExpectedFrom = Literal["reference", "output", "none"]
EXPECTED_FROM: tuple[str, ...] = get_args(ExpectedFrom)


def normalize(raw: Any) -> dict[str, Any]:
    """One example, checked: raises InvalidInput saying what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"an example must be an object with an `input`; got {type(raw).__name__}")
    data = {ALIASES.get(k, k): v for k, v in raw.items()}
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; an example has: {', '.join(KEYS)} (or put them in metadata)")
    value = data.get("input")
    if value is None or value == "" or not isinstance(value, (str, dict)):
        raise InvalidInput("`input` is missing or empty; it must be a string or an object of prompt variables")
    expected = data.get("expected")
    if expected is not None and not isinstance(expected, str):
        expected = json.dumps(expected) if isinstance(expected, (dict, list)) else str(expected)
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InvalidInput(f"`metadata` must be an object; got {type(meta).__name__}")
    span = data.get("source_span_id")
    return {"input": value, "expected": expected or None, "metadata": meta, "source_span_id": span or None}


def check_all(rows: Iterable[tuple[int | str, Any]], what: str = "line") -> list[dict[str, Any]]:
    """Normalize every (line, raw) row; if any is bad, raise one error listing every bad line.
    A row that could not even be read arrives as an InvalidInput saying why."""
    good: list[dict[str, Any]] = []
    bad: list[tuple[int | str, str]] = []
    for line, raw in rows:
        try:
            if isinstance(raw, InvalidInput):
                raise raw
            good.append(normalize(raw))
        except InvalidInput as exc:
            bad.append((line, str(exc)))
    if bad:
        raise InvalidInput(_bad_rows_message(bad, what))
    if not good:
        raise InvalidInput("no examples: the file or list is empty")
    if len(good) > MAX_EXAMPLES:
        raise InvalidInput(f"at most {MAX_EXAMPLES} examples at once; got {len(good)}: split the file")
    return good


def _bad_rows_message(bad: list[tuple[int | str, str]], what: str) -> str:
    """Every bad row by its line; past MAX_REPORTED, the rest by line number only, so the message stays
    readable while still naming every row to fix."""
    shown = "\n".join(f"{what} {line}: {reason}" for line, reason in bad[:MAX_REPORTED])
    rest = [str(line) for line, _ in bad[MAX_REPORTED:]]
    more = f"\nalso bad, {what}s: {', '.join(rest)}" if rest else ""
    return f"{len(bad)} bad row(s), nothing imported; fix them and import again:\n{shown}{more}"


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                yield number, InvalidInput(f"not valid JSON ({exc})")


def _csv_row(row: dict[Any, Any]) -> Any:
    if None in row:
        return InvalidInput(f"has {len(row[None])} more field(s) than the header")
    if any(v is None for v in row.values()):
        return InvalidInput("has fewer fields than the header")
    out: dict[str, Any] = {"metadata": {}}
    for key, value in row.items():
        key = ALIASES.get(str(key).strip(), str(key).strip())
        if key == "metadata":
            try:
                meta = json.loads(value) if value.strip() else {}
            except ValueError:
                meta = None
            if not isinstance(meta, dict):
                return InvalidInput('the metadata column must hold a JSON object, like {"topic": "billing"}')
            out["metadata"].update(meta)
        elif key in KEYS:
            out[key] = value
        elif value != "":
            out["metadata"][key] = value
    return out


def _csv_rows(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "input" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("the CSV needs a header row with an `input` column (and optionally `expected`, `metadata`)")
    start = reader.line_num + 1
    for row in reader:
        yield start, _csv_row(row)
        start = reader.line_num + 1


def parse(text: str, fmt: str) -> list[dict[str, Any]]:
    """Examples from CSV or JSONL text, all or nothing."""
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput(f"dataset files are .csv or .jsonl; got {fmt!r}")
    return check_all(list(_csv_rows(text) if fmt == "csv" else _jsonl_rows(text)))


def parse_named(name: str, text: str) -> list[dict[str, Any]]:
    """Examples from a file's text, its format told by the name's extension (a local path or an upload)."""
    return parse(text, PurePath(name).suffix.lower().lstrip("."))


def read_file(path: str | Path) -> list[dict[str, Any]]:
    """Examples from a .csv or .jsonl file."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no file at {str(p)!r}; give a .csv or .jsonl file")
    return parse_named(p.name, p.read_text(encoding="utf-8-sig"))


def check_expected_from(expected_from: str) -> str:
    """The span field that becomes an example's expected output; refused before anything is read or stored."""
    if expected_from not in EXPECTED_FROM:
        raise InvalidInput(f"expected_from must be one of {', '.join(EXPECTED_FROM)}; got {expected_from!r}")
    return expected_from


def from_span(span: Mapping[str, Any], expected_from: str = "reference") -> dict[str, Any]:
    """A stored span as an example: its input, and as the expected output its metadata's reference,
    its own output (a golden baseline from production), or none."""
    meta = span.get("metadata") if isinstance(span.get("metadata"), dict) else {}
    expected = {"reference": meta.get("reference"), "output": span.get("output_value"),
                "none": None}[check_expected_from(expected_from)]
    return {"input": span.get("input_value") or "", "expected": None if expected is None else str(expected),
            "metadata": {"span_name": span.get("name"), "trace_id": span.get("trace_id")},
            "source_span_id": span.get("span_id")}


def examples_from_spans(engine: Engine, project: str, *, span_ids: Sequence[str] = (), filter: str = "",
                        limit: int = 100, expected_from: str = "reference") -> list[dict[str, Any]]:
    """Examples from the given spans, or from the newest `limit` spans matching `filter`."""
    check_expected_from(expected_from)
    ids = list(span_ids) or runner.select_spans(engine, project, filter, limit)
    if not ids:
        raise InvalidInput(f"no spans of project {project!r} match the filter {filter!r}; nothing to add")
    spans = [queries.get_span(engine, sid, project) for sid in dict.fromkeys(ids)]
    return check_all(((s["span_id"], from_span(s, expected_from)) for s in spans), "span")


def collect(engine: Engine, project: str, *, examples: Sequence[Any] | None = None, span_ids: Sequence[str] = (),
            filter: str | None = None, limit: int = 100, expected_from: str = "reference") -> list[dict[str, Any]]:
    """Examples from exactly one source: given examples, span ids, or a filter over the project's spans;
    `expected_from` (reference | output | none) says what a span gives as the expected output."""
    check_expected_from(expected_from)
    given = [s for s in (examples is not None, bool(span_ids), filter is not None) if s]
    if len(given) != 1:
        raise InvalidInput("give exactly one source of examples: `examples`, `span_ids`, or a `filter` over spans")
    if examples is not None:
        return check_all(enumerate(examples, start=1), "example")
    return examples_from_spans(engine, project, span_ids=span_ids, filter=filter or "", limit=limit,
                               expected_from=expected_from)
