"""Span embeddings: one row per (span, field, model) in `span_embeddings`, and similar-span search.

Why one table for every model: vectors of different models and dimensions must coexist, and the
analysis reads "all vectors of model M" — one table keeps that a plain indexed scan and keeps the
schema fixed. The PostgreSQL column is an unsized pgvector `vector`; HNSW needs a fixed size, so each
model gets its own *partial expression index* `((vector::vector(dim)) vector_cosine_ops) WHERE model
= 'M'`, created when its first vector is stored, and the similar-spans query orders by exactly that
expression with the model as a literal so the planner can match the partial index. On SQLite the
vector is a little-endian float32 blob and search is exact brute force with numpy over the project's
vectors of that model and field (fine to ~10⁵ rows; the PostgreSQL path is the one for scale).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import is_postgres
from tenbin.store.jobs import now_us
from tenbin.store.models import Project, Span, SpanEmbedding

FIELDS = ("input", "output")
HNSW_MAX_DIM = 2000
"""pgvector's HNSW limit for `vector`; larger models are searched exactly (sequential scan)."""
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:/@+-]{1,200}$")
_SPAN_COLS = (Span.span_id, Span.trace_id, Span.name, Span.start_us, Span.latency_ms, Span.status,
              Span.input_value, Span.output_value)


def check_model_name(model: str) -> str:
    """Model names end up as SQL literals in index predicates, so only a safe alphabet is allowed."""
    if not _MODEL_NAME.match(model):
        raise InvalidInput(f"embedding model name {model!r} may only use letters, digits and . _ : / @ + -")
    return model


def _after(cursor: list[Any] | None) -> Any:
    if not cursor:
        return True
    start_us, span_id = cursor
    return or_(Span.start_us > start_us, and_(Span.start_us == start_us, Span.span_id > span_id))


def llm_spans_after(engine: Engine, project_id: int, cursor: list[Any] | None, limit: int,
                    kind: str = "LLM") -> list[dict[str, Any]]:
    """The next spans of `kind` (LLM unless told) after `cursor` = [start_us, span_id], in that stable order."""
    query = (select(Span.span_id, Span.start_us, Span.input_value, Span.output_value, Span.attributes)
             .where(Span.project_id == project_id, Span.kind == kind, _after(cursor))
             .order_by(Span.start_us, Span.span_id).limit(limit))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def count_llm_spans_after(engine: Engine, project_id: int, cursor: list[Any] | None, kind: str = "LLM") -> int:
    query = select(func.count()).where(Span.project_id == project_id, Span.kind == kind, _after(cursor))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def embedded_keys(engine: Engine, span_ids: list[str], model: str) -> set[tuple[str, str]]:
    """Which (span_id, field) of these spans already have a vector of `model`."""
    if not span_ids:
        return set()
    query = select(SpanEmbedding.span_id, SpanEmbedding.field).where(
        SpanEmbedding.model == model, SpanEmbedding.span_id.in_(span_ids))
    with engine.connect() as conn:
        return {(r.span_id, r.field) for r in conn.execute(query)}


def insert_vectors(conn: Connection, project_id: int, model: str, keys: list[tuple[str, str]],
                   vectors: np.ndarray) -> None:
    """Store one vector per (span_id, field); rows that already exist are left alone (idempotent)."""
    if not keys:
        return
    pg = conn.dialect.name == "postgresql"
    vectors = np.asarray(vectors, dtype="<f4")
    created, dim = now_us(), int(vectors.shape[1])
    rows = [{"span_id": s, "field": f, "model": model, "project_id": project_id, "dim": dim,
             "vector": v if pg else v.tobytes(), "created_us": created} for (s, f), v in zip(keys, vectors)]
    insert = pg_insert if pg else sqlite_insert
    conn.execute(insert(SpanEmbedding).on_conflict_do_nothing(), rows)


def _index_name(model: str) -> str:
    return "ix_span_emb_hnsw_" + hashlib.sha1(model.encode()).hexdigest()[:12]


def ensure_index(engine: Engine, model: str, dim: int) -> bool:
    """On PostgreSQL, create the model's HNSW index if missing; True if the model has one."""
    if not is_postgres(engine) or dim > HNSW_MAX_DIM:
        return False
    check_model_name(model)
    with engine.begin() as conn:
        conn.execute(text(
            f"CREATE INDEX IF NOT EXISTS {_index_name(model)} ON span_embeddings USING hnsw "
            f"((vector::vector({int(dim)})) vector_cosine_ops) WHERE model = '{model}'"))
    return True


def count_vectors(engine: Engine, project_id: int, model: str | None = None) -> dict[str, int]:
    """Stored vectors per "model/field" for a project."""
    query = (select(SpanEmbedding.model, SpanEmbedding.field, func.count())
             .where(SpanEmbedding.project_id == project_id).group_by(SpanEmbedding.model, SpanEmbedding.field))
    if model:
        query = query.where(SpanEmbedding.model == model)
    with engine.connect() as conn:
        return {f"{m}/{f}": int(n) for m, f, n in conn.execute(query)}


def _query_row(conn: Connection, span_id: str, field: str, model: str | None, project: str | None) -> Any:
    query = (select(SpanEmbedding.model, SpanEmbedding.project_id, SpanEmbedding.dim, SpanEmbedding.vector)
             .join(Project, Project.id == SpanEmbedding.project_id)
             .where(SpanEmbedding.span_id == span_id, SpanEmbedding.field == field)
             .order_by(SpanEmbedding.created_us.desc()).limit(1))
    if model:
        query = query.where(SpanEmbedding.model == model)
    if project:
        query = query.where(Project.name == project)
    return conn.execute(query).first()


def similar_spans(engine: Engine, span_id: str, *, field: str = "input", model: str | None = None,
                  limit: int = 10, project: str | None = None) -> dict[str, Any]:
    """The spans whose `field` vector is closest (cosine) to this span's, best first."""
    if field not in FIELDS:
        raise InvalidInput(f"field must be one of {', '.join(FIELDS)}; got {field!r}")
    if not 1 <= limit <= 100:
        raise InvalidInput(f"limit must be between 1 and 100; got {limit}")
    with engine.connect() as conn:
        row = _query_row(conn, span_id, field, model, project)
    if row is None:
        raise NotFound(f"span {span_id} has no {field} embedding{' of ' + model if model else ''} yet; "
                       "embed its project first with `tenbin embed --project <name>`")
    search = _search_pg if is_postgres(engine) else _search_sqlite
    scored = search(engine, row, span_id, field, limit)
    return {"span_id": span_id, "field": field, "model": row.model, "items": _with_spans(engine, scored)}


def _search_sqlite(engine: Engine, row: Any, span_id: str, field: str, limit: int) -> list[tuple[str, float]]:
    query = select(SpanEmbedding.span_id, SpanEmbedding.vector).where(
        SpanEmbedding.project_id == row.project_id, SpanEmbedding.model == row.model,
        SpanEmbedding.field == field, SpanEmbedding.span_id != span_id)
    with engine.connect() as conn:
        found = conn.execute(query).all()
    if not found:
        return []
    matrix = np.frombuffer(b"".join(r.vector for r in found), dtype="<f4").reshape(len(found), row.dim)
    scores = matrix @ np.frombuffer(row.vector, dtype="<f4")
    top = np.argsort(-scores, kind="stable")[:limit]
    return [(found[i].span_id, float(scores[i])) for i in top]


def pg_similar_sql(model: str, dim: int, explain: bool = False) -> Any:
    """Nearest vectors of one model; its expression and literal model match the model's HNSW index."""
    expr = f"(vector::vector({int(dim)}))"
    return text(
        f"{'EXPLAIN ' if explain else ''}SELECT span_id, 1 - ({expr} <=> :q) AS score FROM span_embeddings "
        f"WHERE model = '{check_model_name(model)}' AND field = :field AND project_id = :pid AND span_id <> :sid "
        f"ORDER BY {expr} <=> :q LIMIT :k"
    ).bindparams(bindparam("q", type_=VECTOR(int(dim))))


def _search_pg(engine: Engine, row: Any, span_id: str, field: str, limit: int) -> list[tuple[str, float]]:
    sql = pg_similar_sql(row.model, row.dim)
    with engine.begin() as conn:
        # The project and field are filtered after the index scan; iterative scans keep going until
        # `limit` rows pass the filter instead of returning too few.
        conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, 2 * limit)}"))
        found = conn.execute(sql, {"q": row.vector, "field": field, "pid": row.project_id,
                                   "sid": span_id, "k": limit}).all()
    return sorted(((r.span_id, float(r.score)) for r in found), key=lambda x: -x[1])


def _with_spans(engine: Engine, scored: list[tuple[str, float]]) -> list[dict[str, Any]]:
    ids = [s for s, _ in scored]
    with engine.connect() as conn:
        spans = {r.span_id: dict(r._mapping) for r in conn.execute(select(*_SPAN_COLS).where(Span.span_id.in_(ids)))}
    return [{**spans[s], "score": round(score, 6)} for s, score in scored if s in spans]
