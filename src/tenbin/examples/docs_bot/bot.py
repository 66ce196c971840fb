"""`DocsBot`: answers questions about Kumo Notes (a fictional SaaS) from its docs and plans database.

The model may be tiny (SmolLM2-135M), so the bot does not rely on it to call tools: every question
is first searched (BM25 over the docs) and the best passages go into the prompt; `search_docs` and
`sql_query` stay available for the model to call. Each session keeps its last turns, and a
follow-up is searched together with the previous question ("and on Business?" alone finds little).
The bot never configures tracing: call `tenbin.init(...)` first and its spans go to tenbin.

With `prompt_from_registry`, the answer prompt is `docs-bot-answer` from tenbin's registry, fetched
per session with `tenbin.get_prompt(unit=session_id)`: production, or the session's sticky arm
while an A/B experiment runs. The built-in template is the fallback, so a down server changes
nothing but the prompt's source.
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import tenbin
from tenbin.agents import (
    Agent,
    BM25Retriever,
    ReadOnlyDatabase,
    build_database,
    search_docs_tool,
    sql_query_tool,
)
from tenbin.llm import LLM

HERE = Path(__file__).parent
DOCS_DIR = HERE / "docs"
PLANS_SQL = HERE / "plans.sql"
PROMPT_NAME = "docs-bot-answer"
PROMPT_VERSION = "1"
NOT_FOUND = "I could not find that in the Kumo Notes docs."
TABLES = ("Tables: plans(name, monthly_price_usd, annual_price_usd, max_seats, storage_gb_per_seat, "
          "max_upload_mb), plan_limits(plan_id, name, value), regions(code, name, city), addons(name, price_usd, unit)")


@dataclass(frozen=True)
class Answer:
    text: str
    sources: list[str]
    """Where the cited passages come from, e.g. `billing/refunds.md › How to request a refund`."""
    cited: bool
    """True when the answer cites (or restates) at least one retrieved passage."""
    retrieved: list[str] = field(default_factory=list)
    """Ids of every passage retrieved for this turn."""
    fallback: str | None = None
    span_id: str | None = None
    """The AGENT span, for attaching feedback (None when tracing is off)."""
    trace_id: str | None = None


class DocsBot:
    """The Kumo Notes help assistant; thread-safe, one instance serves many sessions.

    `json_mode` asks the server for JSON output (llama.cpp enforces it with a grammar, which keeps
    a tiny model's replies parseable); `answer_only` goes further and holds every reply to
    `{"answer", "sources"}` (see `Agent.answer_only`); `k` passages are retrieved per search.
    """

    def __init__(self, llm: LLM, *, docs_dir: Path | str = DOCS_DIR, plans_sql: Path | str = PLANS_SQL,
                 db_path: Path | str | None = None, k: int = 3, max_steps: int = 4, history_turns: int = 2,
                 json_mode: bool = False, answer_only: bool = False, prompt_from_registry: bool = False) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kumo-plans-")
            db_path = Path(self._tmp.name) / "plans.db"
        path = Path(db_path)
        build_database(Path(plans_sql).read_text("utf-8"), path)
        self.db = ReadOnlyDatabase(path)
        self.retriever = BM25Retriever.from_markdown(docs_dir)
        tools = [search_docs_tool(self.retriever, k=k),
                 sql_query_tool(self.db, description="read-only SQLite SELECT on plans, prices and limits")]
        self.agent = Agent(llm, tools, assistant="the Kumo Notes help assistant", prompt_name=PROMPT_NAME,
                           prompt_version=PROMPT_VERSION, max_steps=max_steps, pre_search="search_docs",
                           not_found=NOT_FOUND, extra_instructions=TABLES, json_mode=json_mode,
                           answer_only=answer_only)
        self.history_turns = history_turns
        self.prompt_from_registry = prompt_from_registry
        self._history: dict[str, deque[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def ask(self, question: str, *, session_id: str | None = None, prompt: tenbin.Prompt | None = None) -> Answer:
        """Answer one turn; with `session_id`, earlier turns of that session are the context.

        `prompt` pins the answer prompt (e.g. a candidate version under evaluation); by default
        it is `prompt_for(session_id)`."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError("ask() needs a non-empty question string")
        history = self._turns(session_id)
        search = f"{history[-1][0]} {question}" if history else question
        prompt = prompt or self.prompt_for(session_id)
        with tenbin.session(session_id) if session_id else nullcontext():
            result = self.agent.run(question, history=history, search_query=search, prompt=prompt)
        if session_id:
            with self._lock:
                self._history.setdefault(session_id, deque(maxlen=self.history_turns)).append((question, result.answer))
        return Answer(result.answer, [p.source for p in result.sources], bool(result.sources),
                      [p.id for p in result.passages], result.fallback, result.span_id, result.trace_id)

    def prompt_for(self, session_id: str | None) -> tenbin.Prompt:
        """The built-in prompt, or with `prompt_from_registry` the registry's for this session (cached)."""
        builtin = self.agent.builtin_prompt()
        if not self.prompt_from_registry:
            return builtin
        if session_id:
            return tenbin.get_prompt(PROMPT_NAME, unit=session_id, fallback=builtin)
        return tenbin.get_prompt(PROMPT_NAME, fallback=builtin)

    def _turns(self, session_id: str | None) -> list[tuple[str, str]]:
        if not session_id:
            return []
        with self._lock:
            return list(self._history.get(session_id, ()))

    def close(self) -> None:
        self.db.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
