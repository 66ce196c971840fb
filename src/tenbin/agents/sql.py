"""Read-only SQL over a SQLite database, safe to hand to a model.

Three locks, each enough on its own for writes: the file is opened `mode=ro`, `PRAGMA query_only`
is on, and an authorizer (SQLite's own per-action callback, consulted while each statement is
compiled) denies everything but reading tables and calling functions — so PRAGMA, ATTACH, writes
and schema changes are refused before they run, whatever the SQL text looks like. Only one
statement per call runs (Python's sqlite3 refuses a tail), results are capped at `max_rows`, and a
progress handler stops runaway queries (e.g. an endless recursive CTE).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_ACTION_NAMES = {getattr(sqlite3, f"SQLITE_{n}"): n for n in (
    "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW "
    "CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER "
    "DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW INSERT PRAGMA TRANSACTION UPDATE ATTACH DETACH ALTER_TABLE REINDEX "
    "ANALYZE CREATE_VTABLE DROP_VTABLE SAVEPOINT"
).split() if hasattr(sqlite3, f"SQLITE_{n}")}
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_FIRST_WORD = re.compile(r"^\s*([A-Za-z]+)")
_MAX_VM_STEPS = 200  # progress-handler calls of 1,000 VM instructions each
EXAMPLE = "SELECT name, monthly_price_usd FROM plans"


class SQLRefused(ValueError):
    """A statement the read-only tool will not run; the message says what is allowed."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool

    def as_text(self) -> str:
        """Rows as a compact pipe table, short enough for a small model's context."""
        lines = [" | ".join(self.columns), *(" | ".join(str(v) for v in row) for row in self.rows)]
        if self.truncated:
            lines.append(f"(only the first {len(self.rows)} rows)")
        return "\n".join(lines) if self.rows else "(no rows)"


def build_database(script: str, path: Path | str) -> Path:
    """Create (or replace) a SQLite file from a SQL script; the one place that writes."""
    target = Path(path)
    target.unlink(missing_ok=True)
    with sqlite3.connect(target) as conn:
        conn.executescript(script)
    conn.close()
    return target


class ReadOnlyDatabase:
    """One read-only connection, shared by threads under a lock."""

    def __init__(self, path: Path | str, *, max_rows: int = 50) -> None:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"no SQLite database at {file}; build one with build_database(script, path)")
        self.path, self.max_rows = file, max_rows
        self._conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._conn.execute("PRAGMA query_only = ON")
        self._denied: list[str] = []
        self._conn.set_authorizer(self._authorize)
        self._conn.set_progress_handler(self._progress, 1000)
        self._steps = 0
        self._lock = threading.Lock()

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        if action in _ALLOWED:
            return sqlite3.SQLITE_OK
        self._denied.append(" ".join(x for x in (_ACTION_NAMES.get(action, str(action)), arg1) if x))
        return sqlite3.SQLITE_DENY

    def _progress(self) -> int:
        self._steps += 1
        return 1 if self._steps > _MAX_VM_STEPS else 0

    def query(self, sql: str) -> QueryResult:
        """Run one SELECT (or WITH … SELECT); anything else is SQLRefused and changes nothing."""
        statement = check_select(sql)
        with self._lock:
            self._denied.clear()
            self._steps = 0
            try:
                cursor = self._conn.execute(statement)
                rows = cursor.fetchmany(self.max_rows + 1)
            except sqlite3.ProgrammingError as exc:
                raise SQLRefused(f"{exc} Send a single SELECT statement, e.g. {EXAMPLE}") from exc
            except sqlite3.DatabaseError as exc:
                raise _refusal(exc, list(self._denied), self._steps > _MAX_VM_STEPS) from exc
        columns = [d[0] for d in cursor.description or ()]
        return QueryResult(columns, rows[: self.max_rows], len(rows) > self.max_rows)

    def schema(self) -> str:
        """The CREATE TABLE statements, for the model to know what it can query."""
        with self._lock:
            self._conn.set_authorizer(None)
            try:
                rows = self._conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table'").fetchall()
            finally:
                self._conn.set_authorizer(self._authorize)
        return "\n".join(r[0] for r in rows if r[0])

    def close(self) -> None:
        self._conn.close()


def check_select(sql: str) -> str:
    """The statement without a trailing `;`, if it is one SELECT/WITH statement; else SQLRefused."""
    if not isinstance(sql, str) or not sql.strip():
        raise SQLRefused(f"the query is empty; send one SELECT statement, e.g. {EXAMPLE}")
    statement = sql.strip().rstrip(";").strip()
    bare = _COMMENT.sub(" ", statement)
    first = _FIRST_WORD.match(bare)
    keyword = first.group(1).upper() if first else bare[:20]
    if keyword not in ("SELECT", "WITH"):
        raise SQLRefused(f"only read-only SELECT queries are allowed, not {keyword!r}; e.g. {EXAMPLE}")
    if ";" in bare and sqlite3.complete_statement(bare.split(";", 1)[0] + ";") and bare.split(";", 1)[1].strip():
        raise SQLRefused("only one statement per query is allowed; remove everything after the first ';'")
    return statement


def _refusal(exc: sqlite3.DatabaseError, denied: list[str], runaway: bool) -> Exception:
    if runaway:
        return SQLRefused("the query ran too long and was stopped; add a WHERE clause or a LIMIT")
    if denied:
        return SQLRefused(f"not allowed in read-only queries: {', '.join(denied)}; only SELECT may run")
    return SQLRefused(f"SQLite error: {exc}. Check table and column names; e.g. {EXAMPLE}")
