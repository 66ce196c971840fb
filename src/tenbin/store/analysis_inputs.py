"""What an embedding analysis reads: vectors of one model and field with the facts of their spans.

A *side* (production or baseline) is a set of spans chosen by time window and filter, by prompt
name and version, or by explicit span ids (a dataset's source spans). For each span that has a
vector we return the vector and, column-wise, the facts the cluster metrics need: latency, tokens,
status, prompt name/version, metadata, and its feedback. A span's feedback is its own plus its
trace's (trace-level feedback is stored on the root span): a user's thumbs-down on a chat turn
judges the LLM call inside it.

Vectors come out as one float32 matrix. On PostgreSQL they are read in pgvector's binary form
(`vector_send`: int16 dim, int16 unused, big-endian float4s), cheaper than parsing the text
form, which matters at 10⁵ vectors.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Engine, LargeBinary, and_, case, func, or_, select

from tenbin.errors import InvalidInput
from tenbin.store.eval_metrics import RESULT_KINDS
from tenbin.store.models import Feedback, Span, SpanEmbedding, Trace
from tenbin.store.models.analyses import AnalysisPoint
from tenbin.store.queries import SpanQuery, span_conditions

FACT_COLUMNS = ("span_id", "trace_id", "start_us", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens",
                "status", "prompt_name", "prompt_version", "metadata")
"""Span facts per point; `thumbs_n`, `thumbs_down` and `scores` (name → mean) are added from feedback."""
_ID_CHUNK = 2000


def _fact_cols() -> list[Any]:
    return [Span.span_id, Span.trace_id, Span.start_us, Span.latency_ms, Span.prompt_tokens, Span.completion_tokens,
            Span.total_tokens, Span.status, Span.prompt_name, Span.prompt_version, Span.meta.label("metadata")]


def _vector_col(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.vector_send(SpanEmbedding.vector, type_=LargeBinary).label("vector")
    return SpanEmbedding.vector.label("vector")


def _decode(blobs: list[bytes], dialect: str) -> np.ndarray:
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    if dialect == "postgresql":
        dim = int.from_bytes(blobs[0][:2], "big")
        raw = b"".join(b[4:] for b in blobs)
        return np.frombuffer(raw, dtype=">f4").reshape(len(blobs), dim).astype(np.float32)
    dim = len(blobs[0]) // 4
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim).copy()


def _empty() -> dict[str, Any]:
    return {**{c: [] for c in FACT_COLUMNS}, "thumbs_n": [], "thumbs_down": [], "scores": []}


def span_feedback_join() -> ColumnElement[bool]:
    """Feedback that judges a span: on the span itself, or on its trace (stored on the root span).
    Needs `Trace` joined on the span's trace."""
    return and_(Feedback.trace_id == Span.trace_id,
                or_(Feedback.span_id == Span.span_id, Feedback.span_id == Trace.root_span_id))


def _feedback(conn: Any, conds: list[Any]) -> dict[str, dict[str, Any]]:
    """Per span: thumbs count, thumbs-down count and mean of each score, own plus trace-level. An
    evaluator's label counts as its score (a judge's `incorrect` stores 0, `correct` 1); an
    `unparseable` verdict has no value and is left out."""
    stmt = (select(Span.span_id, Feedback.kind, Feedback.name, func.count().label("n"),
                   func.sum(case((Feedback.value == 0, 1), else_=0)).label("downs"), func.avg(Feedback.value).label("mean"))
            .select_from(Span).join(Trace, Trace.trace_id == Span.trace_id)
            .join(Feedback, span_feedback_join())
            .where(*conds, Feedback.kind.in_(("thumbs", *RESULT_KINDS)))
            .group_by(Span.span_id, Feedback.kind, Feedback.name))
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"thumbs_n": 0, "thumbs_down": 0, "scores": {}})
    for r in conn.execute(stmt):
        entry = out[r.span_id]
        if r.kind == "thumbs":
            entry["thumbs_n"] += int(r.n)
            entry["thumbs_down"] += int(r.downs or 0)
        elif r.mean is not None:
            entry["scores"][r.name] = float(r.mean)
    return out


def _read(conn: Any, conds: list[Any], model: str | None, field: str | None) -> tuple[dict[str, Any], list[bytes]]:
    cols = _fact_cols()
    stmt = select(*cols)
    if model is not None:
        stmt = select(*cols, _vector_col(conn.dialect.name)).join(SpanEmbedding, and_(
            SpanEmbedding.span_id == Span.span_id, SpanEmbedding.model == model, SpanEmbedding.field == field))
    facts, blobs = _empty(), []
    rows = conn.execute(stmt.where(*conds).order_by(Span.span_id)).all()
    feedback = _feedback(conn, conds) if rows else {}
    for r in rows:
        for c in FACT_COLUMNS:
            facts[c].append(getattr(r, c))
        fb = feedback.get(r.span_id)
        facts["thumbs_n"].append(fb["thumbs_n"] if fb else 0)
        facts["thumbs_down"].append(fb["thumbs_down"] if fb else 0)
        facts["scores"].append(fb["scores"] if fb else {})
        if model is not None:
            blobs.append(r.vector)
    return facts, blobs


def _merge(parts: list[tuple[dict[str, Any], list[bytes]]]) -> tuple[dict[str, Any], list[bytes]]:
    facts, blobs = _empty(), []
    for f, b in parts:
        for key, values in f.items():
            facts[key] += values
        blobs += b
    return facts, blobs


def _conds(conn: Any, project: str, start_us: int | None, end_us: int | None, filter: str,
           prompt: tuple[str, str] | None) -> list[Any]:
    conds = span_conditions(conn, SpanQuery(project, filter, start_us, end_us))
    if prompt is not None:
        conds += [Span.prompt_name == prompt[0], Span.prompt_version == prompt[1]]
    return conds


def _check_field(field: str) -> None:
    if field not in ("input", "output"):
        raise InvalidInput(f"field must be input or output; got {field!r}")


def load_side(engine: Engine, project: str, model: str, field: str, *, start_us: int | None = None,
              end_us: int | None = None, filter: str = "", prompt: tuple[str, str] | None = None,
              span_ids: list[str] | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """Facts (column lists, sorted by span id) and the vector matrix of the chosen spans that have a
    `field` vector of `model`. `prompt` = (name, version) keeps one prompt version; `span_ids` keeps
    exactly those spans (a dataset's source spans)."""
    _check_field(field)
    with engine.connect() as conn:
        conds = _conds(conn, project, start_us, end_us, filter, prompt)
        if span_ids is None:
            facts, blobs = _read(conn, conds, model, field)
        else:
            ids = sorted(set(span_ids))
            facts, blobs = _merge([_read(conn, [*conds, Span.span_id.in_(ids[i:i + _ID_CHUNK])], model, field)
                                   for i in range(0, len(ids), _ID_CHUNK)])
        return facts, _decode(blobs, conn.dialect.name)


def count_side(engine: Engine, project: str, model: str, field: str, *, start_us: int | None = None,
               end_us: int | None = None, filter: str = "", prompt: tuple[str, str] | None = None,
               span_ids: list[str] | None = None) -> int:
    """How many spans `load_side` would return: checked before a run starts, so an empty side is
    an immediate error rather than a failed run."""
    _check_field(field)
    with engine.connect() as conn:
        conds = _conds(conn, project, start_us, end_us, filter, prompt)
        stmt = select(func.count()).select_from(Span).join(SpanEmbedding, and_(
            SpanEmbedding.span_id == Span.span_id, SpanEmbedding.model == model, SpanEmbedding.field == field))
        if span_ids is None:
            return int(conn.execute(stmt.where(*conds)).scalar_one())
        ids = sorted(set(span_ids))
        return sum(int(conn.execute(stmt.where(*conds, Span.span_id.in_(ids[i:i + _ID_CHUNK]))).scalar_one())
                   for i in range(0, len(ids), _ID_CHUNK))


def point_facts(engine: Engine, analysis_id: int) -> tuple[dict[str, Any], list[str], list[int]]:
    """Facts of a stored run's points with each point's side and cluster, in the same order (a span
    on both sides appears twice). Feedback is read as it is now, so it includes votes given since."""
    in_run: ColumnElement[bool] = Span.span_id.in_(
        select(AnalysisPoint.span_id).where(AnalysisPoint.analysis_id == analysis_id))
    with engine.connect() as conn:
        facts, _ = _read(conn, [in_run], None, None)
        placed = conn.execute(select(AnalysisPoint.span_id, AnalysisPoint.side, AnalysisPoint.cluster)
                              .where(AnalysisPoint.analysis_id == analysis_id)).all()
    index = {s: i for i, s in enumerate(facts["span_id"])}
    order, sides, clusters = [], [], []
    for span_id, side, cluster in placed:
        if span_id in index:
            order.append(index[span_id])
            sides.append(side)
            clusters.append(cluster)
    return {k: [v[i] for i in order] for k, v in facts.items()}, sides, clusters


def span_text_rows(engine: Engine, span_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Input/output values and attributes (chat messages) of these spans, for labels and samples."""
    out: dict[str, dict[str, Any]] = {}
    ids = sorted(set(span_ids))
    with engine.connect() as conn:
        for i in range(0, len(ids), _ID_CHUNK):
            stmt = select(Span.span_id, Span.input_value, Span.output_value, Span.attributes).where(
                Span.span_id.in_(ids[i:i + _ID_CHUNK]))
            out.update({r.span_id: dict(r._mapping) for r in conn.execute(stmt)})
    return out
