"""The embeddings page's read of an analysis run's points: one lean query for 10⁵ points.

`store.analyses.points` returns each point with its span's own thumbs; a scatter coloured by
feedback needs the thumbs a user gave the *trace* too (trace feedback is stored on the root
span, while the analysed point is the LLM span inside it), the span's start time (the drift-over-
time chart) and a short text preview (the hover), without reading whole span bodies. The
column-wise format built from these rows is `analytics.point_columns`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, case, func, select

from tenbin.errors import InvalidInput
from tenbin.store.analyses import get_analysis
from tenbin.store.analysis_inputs import span_feedback_join
from tenbin.store.models import Feedback, Span, Trace
from tenbin.store.models.analyses import AnalysisPoint

PREVIEW_READ = 200
"""Characters of the analysed field read per point (the page shortens it further)."""


def _thumbs(analysis_id: int) -> Any:
    """Per span of the run: thumbs votes and downs, its own plus its trace's (on the root span)."""
    in_run = select(AnalysisPoint.span_id).where(AnalysisPoint.analysis_id == analysis_id)
    return (select(Span.span_id, func.count().label("votes"),
                   func.sum(case((Feedback.value == 0, 1), else_=0)).label("downs"))
            .select_from(Span).join(Trace, Trace.trace_id == Span.trace_id)
            .join(Feedback, span_feedback_join())
            .where(Span.span_id.in_(in_run), Feedback.kind == "thumbs")
            .group_by(Span.span_id).subquery())


def scatter_points(engine: Engine, analysis_id: int, field: str = "input", chars: int = PREVIEW_READ,
                   cluster: int | None = None) -> list[dict[str, Any]]:
    """Every point of the run (or of one `cluster`), ordered by side then span id: coordinates,
    cluster, side, span id, start time, latency, prompt name/version, metadata, thumbs
    `votes`/`downs` (0 without any) and `preview`, the first `chars` characters of the analysed
    field's raw value."""
    if field not in ("input", "output"):
        raise InvalidInput(f"field must be input or output; got {field!r}")
    get_analysis(engine, analysis_id)
    text = Span.input_value if field == "input" else Span.output_value
    thumbs = _thumbs(analysis_id)
    stmt = (select(AnalysisPoint.span_id, AnalysisPoint.side, AnalysisPoint.cluster, AnalysisPoint.x, AnalysisPoint.y,
                   AnalysisPoint.x3, AnalysisPoint.y3, AnalysisPoint.z3, Span.start_us, Span.latency_ms,
                   Span.prompt_name, Span.prompt_version, Span.meta.label("metadata"),
                   func.substr(text, 1, chars).label("preview"),
                   func.coalesce(thumbs.c.votes, 0).label("votes"), func.coalesce(thumbs.c.downs, 0).label("downs"))
            .join(Span, Span.span_id == AnalysisPoint.span_id)
            .outerjoin(thumbs, thumbs.c.span_id == AnalysisPoint.span_id)
            .where(AnalysisPoint.analysis_id == analysis_id)
            .order_by(AnalysisPoint.side, AnalysisPoint.span_id))
    if cluster is not None:
        stmt = stmt.where(AnalysisPoint.cluster == cluster)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        keys = list(result.keys())
        return [dict(zip(keys, r, strict=True)) for r in result]
