"""The incremental embed job: vectors for the input and/or output of a project's LLM spans.

Or of its spans of another kind: an agent's LLM input is its rendered prompt (instructions, retrieved
passages, then the question), so to cluster what users ask, embed the AGENT spans' input instead.

Batches follow the stable cursor (start_us, span_id). A fresh run starts a little before where the
last run ended (LATE_US), because spans arrive when they end, not in start order; pairs that already
have a vector are skipped, so overlap costs a lookup, never a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from tenbin import jobs
from tenbin.analytics.embedders import Embedder
from tenbin.errors import InvalidInput
from tenbin.semconv import SPAN_KINDS
from tenbin.store import embeddings as store
from tenbin.store.keys import project_id as lookup_project

LATE_US = 10 * 60 * 1_000_000
MAX_CHARS = 8000
"""Longer texts are cut: every model truncates to a few hundred tokens anyway."""
FIELD_CHOICES = ("input", "output", "both")
DEFAULT_BATCH = 256
"""Spans per batch and checkpoint: the model sorts a batch's texts by length, and bigger batches pad
less (64 spans ran at 0.71× a single `encode` over all texts, 256 at 0.85×; see benchmarks)."""


def _content(message: Any) -> str | None:
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if content is None and isinstance(message.get("contents"), list):
        content = " ".join(str(c.get("text", "")) for c in message["contents"] if isinstance(c, dict))
    return content if isinstance(content, str) and content.strip() else None


def span_text(span: dict[str, Any], field: str) -> str | None:
    """What to embed: for chat spans the last user message (input) or the first output message,
    since the raw input of an instrumented chat call is a JSON request; otherwise the plain value."""
    attrs = span.get("attributes") or {}
    if field == "input":
        users = [m for m in attrs.get("llm.input_messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        text = _content(users[-1]) if users else None
        text = text or span.get("input_value")
    else:
        outputs = attrs.get("llm.output_messages") or []
        text = (_content(outputs[0]) if isinstance(outputs, list) and outputs else None) or span.get("output_value")
    return text.strip()[:MAX_CHARS] if isinstance(text, str) and text.strip() else None


def fields_for(choice: str) -> tuple[str, ...]:
    if choice not in FIELD_CHOICES:
        raise InvalidInput(f"--field must be one of {', '.join(FIELD_CHOICES)}; got {choice!r}")
    return ("input", "output") if choice == "both" else (choice,)


@dataclass
class EmbedJob:
    """A `jobs.BatchJob` over (span, field) pairs; `processed` counts LLM spans scanned."""

    engine: Engine
    project_id: int
    embedder: Embedder
    fields: tuple[str, ...]
    batch_size: int = DEFAULT_BATCH
    kind: str = "LLM"
    """Which spans: LLM calls by default; e.g. AGENT to embed the user's question, not the prompt."""
    name: str = dc_field(init=False)

    def __post_init__(self) -> None:
        store.check_model_name(self.embedder.name)
        if not 1 <= self.batch_size <= 10_000:
            raise InvalidInput(f"batch size must be between 1 and 10000; got {self.batch_size}")
        if self.kind not in SPAN_KINDS:
            raise InvalidInput(f"span kind must be one of {', '.join(SPAN_KINDS)}; got {self.kind!r}")
        suffix = "" if self.kind == "LLM" else f":{self.kind}"
        self.name = f"embed:{self.embedder.name}:{'+'.join(self.fields)}{suffix}"

    def start_cursor(self, last: dict[str, Any] | None) -> Any:
        if not last or not last["cursor"]:
            return None
        return [last["cursor"][0] - LATE_US, ""]

    def backlog(self, cursor: Any) -> int | None:
        return store.count_llm_spans_after(self.engine, self.project_id, cursor, self.kind)

    def next_batch(self, cursor: Any) -> jobs.Batch[list[tuple[str, str, str]]] | None:
        spans = store.llm_spans_after(self.engine, self.project_id, cursor, self.batch_size, self.kind)
        if not spans:
            return None
        done = store.embedded_keys(self.engine, [s["span_id"] for s in spans], self.embedder.name)
        todo = [(s["span_id"], f, text) for s in spans for f in self.fields
                if (s["span_id"], f) not in done and (text := span_text(s, f))]
        return jobs.Batch(todo, len(spans), [spans[-1]["start_us"], spans[-1]["span_id"]])

    def compute(self, batch: jobs.Batch[list[tuple[str, str, str]]]) -> np.ndarray:
        return self.embedder.embed([text for _, _, text in batch.items])

    def write(self, conn: Connection, batch: jobs.Batch[list[tuple[str, str, str]]], result: np.ndarray) -> None:
        keys = [(span_id, f) for span_id, f, _ in batch.items]
        store.insert_vectors(conn, self.project_id, self.embedder.name, keys, result)


def embed_job(engine: Engine, project: str, embedder: Embedder, field: str = "both",
              batch_size: int = DEFAULT_BATCH, kind: str = "LLM") -> EmbedJob:
    """The job for a project by name; on PostgreSQL also makes sure the model's HNSW index exists."""
    job = EmbedJob(engine, lookup_project(engine, project), embedder, fields_for(field), batch_size, kind)
    store.ensure_index(engine, embedder.name, embedder.dim)
    return job


def run_embed(engine: Engine, project: str, embedder: Embedder, field: str = "both", batch_size: int = DEFAULT_BATCH,
              progress: jobs.ProgressFn | None = None, kind: str = "LLM") -> dict[str, Any]:
    """Embed the project's not-yet-embedded spans of `kind` now; returns the job's final checkpoint."""
    return jobs.run_job(engine, embed_job(engine, project, embedder, field, batch_size, kind), progress)
