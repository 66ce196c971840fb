"""tenbin's filter language: a small, safe subset of Python expressions over span fields.

    kind == "LLM" and latency_ms > 2000 and metadata["task"] == "billing"
    "refund" in input and not status == "error"
    feedback["thumbs"] == 0 or "urgent" in tags

The text is parsed with `ast` (it is never evaluated) and every node is checked against an
allow-list, then compiled to a SQLAlchemy expression over `spans`; constants are always bound
parameters. Semantics, identical on SQLite and PostgreSQL:
- a comparison with a missing value (None column, missing JSON key, no feedback) is false, and
  `!=`, `not in`, `not` are exact complements, so `model != "x"` includes spans without a model;
- `kind`/`status` values and text search (`"x" in input`) ignore case (ASCII only on SQLite);
- JSON values compare only with constants of their own type (`metadata["n"] == "3"` never matches 3).
Names and their meaning live in `tenbin.filter_fields`; `FIELDS` lists them for docs and UIs.
"""

from __future__ import annotations

import ast
import difflib
import operator
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from tenbin.errors import FilterError
from tenbin.filter_fields import (
    FIELDS,
    JSON_COLUMNS,
    KEYED,
    PLAIN_FIELDS,
    ColumnTarget,
    FeedbackTarget,
    JsonTarget,
    Mismatch,
    TagsTarget,
    Target,
    Value,
    is_number,
)

__all__ = ["FIELDS", "MAX_DEPTH", "MAX_LENGTH", "compile_filter"]

MAX_LENGTH = 2000
"""Longest filter accepted, in characters."""
MAX_DEPTH = 32
"""Deepest nesting of and/or/not/parentheses accepted; bounds the work one request can cause."""

EXAMPLE = 'kind == "LLM" and latency_ms > 2000'
_ORDER_OPS: dict[type[ast.cmpop], Any] = {
    ast.Eq: operator.eq,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_NOT_ALLOWED: dict[type[ast.AST], str] = {
    ast.Call: "function calls are not allowed",
    ast.Attribute: "attribute access is not allowed",
    ast.BinOp: "arithmetic and bitwise operators are not allowed (combine conditions with and/or/not)",
    ast.NamedExpr: "assignment is not allowed (compare with ==)",
}
_LITERAL_NAMES = {"true": "True", "false": "False", "null": "None", "none": "None"}


def compile_filter(expr: str) -> ColumnElement[bool]:
    """The SQL condition for a filter over `spans`; an empty filter matches every span.

    Raises FilterError (with `.part`, the offending text) for anything outside the language.
    """
    if not expr or not expr.strip():
        return true()
    if len(expr) > MAX_LENGTH:
        raise FilterError(
            f"filter is {len(expr)} characters long; the limit is {MAX_LENGTH}: split it or use `in [...]` lists",
            expr[:40],
        )
    if "\x00" in expr:
        raise FilterError(f"filter contains a NUL character at column {expr.index(chr(0)) + 1}; remove it", "\x00")
    source = expr.lstrip()
    shift = len(expr) - len(source)
    return _Compiler(source, shift).condition(_parse(source, shift), 0)


def _parse(source: str, shift: int) -> ast.expr:
    try:
        return ast.parse(source, mode="eval").body
    except SyntaxError as e:
        column = (e.offset or 0) + (shift if (e.lineno or 1) == 1 else 0)
        line = (e.text or source).rstrip("\n")
        part = line[e.offset - 1 :][:30].strip() if e.offset else ""
        hint = "use == to compare" if part.startswith("=") and not part.startswith("==") else f"e.g. {EXAMPLE}"
        where = f"column {column}: {part!r}"
        if not part:
            part = source.rstrip()[-30:]
            where = f"the end of the filter {part!r} (is something missing?)"
        raise FilterError(f"invalid filter syntax ({e.msg}) at {where}; {hint}", part) from None
    except (RecursionError, MemoryError):
        raise FilterError(f"filter is nested too deeply; the limit is {MAX_DEPTH} levels", source[:40]) from None


class _Compiler:
    """Walks the parsed filter; every method either returns SQL or raises FilterError."""

    def __init__(self, source: str, shift: int) -> None:
        self.source = source
        self.shift = shift

    def fail(self, node: ast.AST, problem: str, hint: str) -> FilterError:
        part = ast.get_source_segment(self.source, node) or ""
        shown = part if len(part) <= 60 else part[:57] + "..."
        return FilterError(f"{problem} {shown!r} at {self._where(node)}; {hint}", part)

    def _where(self, node: ast.AST) -> str:
        """1-based character column (ast offsets count UTF-8 bytes)."""
        lineno, offset = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        line = self.source.splitlines()[lineno - 1].encode()
        column = len(line[:offset].decode(errors="replace")) + 1
        return f"column {column + self.shift}" if lineno == 1 else f"line {lineno} column {column}"

    def condition(self, node: ast.expr, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise self.fail(node, "filter is nested too deeply:", f"the limit is {MAX_DEPTH} levels")
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v, depth + 1) for v in node.values]
            return and_(*parts) if isinstance(node.op, ast.And) else or_(*parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return negate(self.condition(node.operand, depth + 1))
        if isinstance(node, ast.Compare):
            left, pairs = node.left, []
            for op, right in zip(node.ops, node.comparators):
                pairs.append(self.comparison(left, op, right))
                left = right
            return and_(*pairs) if len(pairs) > 1 else pairs[0]
        raise self._refuse(node, "is not a condition")

    def _refuse(self, node: ast.expr, fallback: str) -> FilterError:
        problem = _NOT_ALLOWED.get(type(node))
        if problem:
            return self.fail(node, problem + ":", f"filters compare fields with constants, e.g. {EXAMPLE}")
        if isinstance(node, ast.Name | ast.Subscript | ast.Constant):
            return self.fail(node, "a bare value is not a condition:", f"compare it, e.g. {EXAMPLE}")
        return self.fail(node, f"this {fallback}:", f"filters compare fields with constants, e.g. {EXAMPLE}")

    def comparison(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> ColumnElement[bool]:
        whole = ast.Compare(left=left, ops=[op], comparators=[right])
        ast.copy_location(whole, left)
        whole.end_lineno, whole.end_col_offset = right.end_lineno, right.end_col_offset
        try:
            return self._compare(left, op, right)
        except Mismatch as e:
            raise self.fail(whole, e.problem + " in", e.hint) from None

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> ColumnElement[bool]:
        if isinstance(op, ast.In | ast.NotIn):
            found = self._membership(left, right)
            return negate(found) if isinstance(op, ast.NotIn) else found
        if _is_constant(left) and not _is_constant(right):
            left, right = right, left
            op = _FLIPPED.get(type(op), type(op))()
        target, value = self.target(left), self.constant(right)
        if isinstance(op, ast.Is | ast.IsNot) and value is not None:
            raise Mismatch("`is` only tests for None", "use == to compare values, e.g. kind == \"LLM\"")
        if isinstance(op, ast.Is | ast.Eq | ast.IsNot | ast.NotEq):
            negative = isinstance(op, ast.IsNot | ast.NotEq)
            if value is None:
                return not_(target.is_none()) if negative else target.is_none()
            positive = target.compare(operator.eq, value)
            return negate(positive) if negative else positive
        if value is None:
            raise Mismatch("None can only be tested with ==, !=, is, is not", "e.g. model is None")
        return target.compare(_ORDER_OPS[type(op)], value)

    def _membership(self, left: ast.expr, right: ast.expr) -> ColumnElement[bool]:
        if isinstance(right, ast.List | ast.Tuple | ast.Set):
            target = self.target(left)
            values = [self.constant(e) for e in right.elts]
            known = [v for v in values if v is not None]
            found = target.one_of(known) if known else false()
            return or_(found, target.is_none()) if None in values else found
        text = self.constant(left)
        if not isinstance(text, str):
            raise Mismatch("`in` needs text on the left or a list on the right", 'e.g. "refund" in input, kind in ["LLM", "TOOL"]')
        return self.target(right).contains_text(text)

    def target(self, node: ast.expr) -> Target:
        if isinstance(node, ast.Name):
            return self._named(node)
        if isinstance(node, ast.Subscript):
            return self._keyed(node)
        if _is_constant(node):
            raise self.fail(node, "compare a field with a constant, not two constants:", f"e.g. {EXAMPLE}")
        raise self._refuse(node, "is not a field")

    def _named(self, node: ast.Name) -> Target:
        name = node.id
        if name in PLAIN_FIELDS:
            return ColumnTarget(name, PLAIN_FIELDS[name])
        if name == "tags":
            return TagsTarget()
        if name in KEYED:
            raise self.fail(node, f"{name} needs a key:", f'e.g. {name}["key"]')
        self._reject_literal_name(node)
        close = difflib.get_close_matches(name, FIELDS, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise self.fail(node, "unknown field", f"{guess}fields are: {', '.join(FIELDS)}")

    def _reject_literal_name(self, node: ast.Name) -> None:
        """`true`, `null`, ...: the user meant a constant, so say how Python spells it."""
        if node.id.lower() in _LITERAL_NAMES:
            raise self.fail(node, "unknown name", f"write {_LITERAL_NAMES[node.id.lower()]} (capitalised)")

    def _keyed(self, node: ast.Subscript) -> Target:
        keys: list[str | int] = []
        root: ast.expr = node
        while isinstance(root, ast.Subscript):
            keys.insert(0, self._key(root.slice))
            root = root.value
        if not isinstance(root, ast.Name) or root.id not in KEYED:
            raise self.fail(node, "only metadata, attributes and feedback take [...]:", 'e.g. metadata["task"] == "billing"')
        label = ast.get_source_segment(self.source, node) or root.id
        if root.id != "feedback":
            return JsonTarget(label, JSON_COLUMNS[root.id], tuple(keys))
        if len(keys) != 1 or not isinstance(keys[0], str):
            raise self.fail(node, "feedback takes one name:", 'e.g. feedback["thumbs"] == 0')
        return FeedbackTarget(keys[0])

    def _key(self, node: ast.expr) -> str | int:
        key = node.value if isinstance(node, ast.Constant) else None
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise self.fail(node, "a key must be a quoted string or an integer:", 'e.g. metadata["task"]')
        if isinstance(key, str) and '"' in key:
            raise self.fail(node, "a key cannot contain a double quote:", "JSON paths cannot express it on SQLite")
        return key

    def constant(self, node: ast.expr) -> Value | None:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = node.operand.value if isinstance(node.operand, ast.Constant) else None
            if is_number(value):
                return -value if isinstance(node.op, ast.USub) else value  # type: ignore[operator]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | None):
            return node.value
        if isinstance(node, ast.Name):
            self._reject_literal_name(node)
        if isinstance(node, ast.Name | ast.Subscript):
            raise self.fail(node, "compare a field with a constant, not with another field:", f"e.g. {EXAMPLE}")
        problem = _NOT_ALLOWED.get(type(node), "only strings, numbers, True, False and None are allowed here:")
        raise self.fail(node, problem.rstrip(":") + ":", 'write a constant such as "LLM", 2000 or None')


def _is_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def negate(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Two-valued NOT: a condition that is NULL (missing value) counts as false before negating."""
    return not_(func.coalesce(condition, false()))
