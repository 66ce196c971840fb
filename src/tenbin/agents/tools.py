"""Tools an agent can call: a name, a description, a JSON schema for arguments, and a function.

`Tool.bind` turns what a small model sent into keyword arguments (or says precisely what is wrong,
which the agent feeds back); `run_tool` runs it inside a TOOL span whose input is the arguments and
whose output is the result, or whose status is ERROR with the exception recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import tenbin
from tenbin.agents.retriever import Passage, Retriever, traced_search
from tenbin.agents.sql import ReadOnlyDatabase
from tenbin.semconv import TOOL_PARAMETERS

_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "number": (int, float),
                                              "boolean": bool, "object": dict, "array": list}


class BadArguments(ValueError):
    """The model's arguments do not fit the tool's schema; the message says what to send."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments: {"type": "object", "properties": {...}, "required": [...]}."""
    fn: Callable[..., Any] = field(repr=False)

    def signature(self) -> str:
        """One prompt line: `name(arg: type, ...) - description`, shorter than a JSON schema."""
        props = self.parameters.get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
        return f"{self.name}({args}) - {self.description}"

    def bind(self, args: Any) -> dict[str, Any]:
        """Keyword arguments from the model's `args`: a dict, or one bare value for a one-argument tool."""
        props: dict[str, Any] = self.parameters.get("properties", {})
        required: list[str] = self.parameters.get("required", [])
        if not isinstance(args, dict):
            if len(required) != 1 or args in (None, ""):
                raise BadArguments(f"{self.name} takes an object of arguments like {self.example()}")
            args = {required[0]: args}
        missing = [r for r in required if r not in args]
        if missing:
            raise BadArguments(f"{self.name} is missing {', '.join(missing)}; send args like {self.example()}")
        bound = {k: v for k, v in args.items() if k in props}
        for key, value in bound.items():
            expected = _TYPES.get(props[key].get("type", ""), object)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise BadArguments(f"{self.name}: '{key}' must be a {props[key]['type']}, got {value!r}")
        return bound

    def example(self) -> str:
        props = self.parameters.get("properties", {})
        return json.dumps({k: f"<{v.get('type', 'value')}>" for k, v in props.items()})


def run_tool(tool: Tool, args: dict[str, Any]) -> Any:
    """Call the tool in a TOOL span and return its result; an exception is recorded on the span and raised."""
    with tenbin.span(tool.name, kind="tool", input=args) as span:
        span.set_attributes({TOOL_PARAMETERS: json.dumps(tool.parameters), "tool.description": tool.description})
        result = tool.fn(**args)
        span.set_output(_recordable(result))
    return result


def _recordable(result: Any) -> Any:
    if isinstance(result, list) and all(isinstance(r, Passage) for r in result):
        return [r.as_document() for r in result]
    return result


def format_passages(passages: Sequence[Passage], max_chars: int = 400, start: int = 1) -> str:
    """Numbered passages for a prompt: `[n] (source) text…`; the number is what the model cites."""
    return "\n".join(f"[{i}] ({p.source}) {clip(p.content, max_chars)}" for i, p in enumerate(passages, start))


def clip(text: str, max_chars: int) -> str:
    """`text` on one line, cut at a word boundary to at most `max_chars`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1].rsplit(" ", 1)[0] + "…"


def search_docs_tool(retriever: Retriever, *, k: int = 3) -> Tool:
    """`search_docs(query)`: the top `k` passages (the agent numbers them for citing)."""

    def search_docs(query: str) -> list[Passage]:
        return traced_search(retriever, query, k)

    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    return Tool("search_docs", "search the product documentation", schema, search_docs)


def sql_query_tool(db: ReadOnlyDatabase, *, description: str = "") -> Tool:
    """`sql_query(sql)`: one read-only SELECT over `db`; refusals raise SQLRefused."""

    def sql_query(sql: str) -> str:
        return db.query(sql).as_text()

    schema = {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]}
    return Tool("sql_query", description or "read-only SQLite SELECT", schema, sql_query)
