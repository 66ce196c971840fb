"""LLM spans about distinct topics, written through tenbin's own store, for the embedding tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from sqlalchemy import Engine

from tenbin.analytics.embedders import Embedder
from tenbin.store.engine import write_transaction
from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.writes import ensure_projects, insert_spans

T0 = 1_790_000_000_000_000
TOPICS: dict[str, list[tuple[str, str]]] = {
    "refund": [("How do I get my money back for an order?", "Open Billing, then Refunds, and pick the order."),
               ("Can I get a refund on last month's invoice?", "Yes: refunds for invoices go through Billing."),
               ("I was charged twice, please refund me", "We refunded the duplicate charge to your card.")],
    "pasta": [("How long should I boil spaghetti?", "Boil spaghetti for nine to eleven minutes in salted water."),
              ("What sauce goes well with penne pasta?", "A tomato and basil sauce suits penne."),
              ("How do I cook fresh pasta dough noodles?", "Fresh pasta cooks in two to three minutes.")],
    "football": [("Who won the football match last night?", "The home team won the match two to one."),
                 ("How many players are on a soccer team?", "Eleven players per side, including the goalkeeper."),
                 ("When does the football league season start?", "The league season kicks off in August.")],
}
_ids = itertools.count(1)


def llm_row(question: str, answer: str, start_us: int, chat: bool = False) -> dict[str, Any]:
    n = next(_ids)
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(span_id=f"{n:016x}", trace_id=f"{n:032x}", name="llm", kind="LLM", status="OK",
               start_us=start_us, end_us=start_us + 1000, latency_ms=1.0)
    if chat:
        row["input_value"] = '{"model": "m", "messages": ["…"]}'
        row["attributes"] = {"llm.input_messages": [{"role": "system", "content": "Be brief."},
                                                    {"role": "user", "content": question}],
                             "llm.output_messages": [{"role": "assistant", "content": answer}]}
    else:
        row.update(input_value=question, output_value=answer)
    return row


def store_rows(engine: Engine, rows: list[dict[str, Any]], project: str = "p") -> None:
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])


def topic_spans(engine: Engine, project: str = "p") -> dict[str, list[str]]:
    """Store every topic's questions as LLM spans (plus one non-LLM span); span ids by topic."""
    rows, by_topic = [], {}
    for t, (topic, pairs) in enumerate(TOPICS.items()):
        topic_rows = [llm_row(q, a, T0 + (t * 10 + i) * 1_000_000, chat=(i == 2)) for i, (q, a) in enumerate(pairs)]
        by_topic[topic] = [r["span_id"] for r in topic_rows]
        rows += topic_rows
    tool = llm_row("not an llm span", "x", T0)
    rows.append({**tool, "kind": "TOOL"})
    store_rows(engine, rows, project)
    return by_topic


class Recording:
    """A real embedder that also remembers every text it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += list(texts)
        return self.inner.embed(texts)
