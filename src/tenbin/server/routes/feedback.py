"""POST feedback on a span or a trace: thumbs, score, label or comment, from a human, an LLM or code."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tenbin.server.auth import Access, writer
from tenbin.store.feedback import add_feedback

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    kind: Literal["thumbs", "score", "label", "comment"] = "thumbs"
    name: str | None = Field(None, max_length=200, description="defaults to the kind, e.g. 'thumbs'")
    value: float | None = Field(None, description="thumbs: 1 up, 0 down; score: any number")
    label: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=20000)
    source: Literal["human", "llm", "code"] = "human"
    author: str | None = Field(None, max_length=200)


@router.post("/spans/{span_id}/feedback", status_code=201)
def span_feedback(request: Request, span_id: str, body: FeedbackIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    return add_feedback(request.app.state.engine, span_id=span_id, project=auth.project, **body.model_dump())


@router.post("/traces/{trace_id}/feedback", status_code=201)
def trace_feedback(request: Request, trace_id: str, body: FeedbackIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Feedback on the whole trace, stored against its root span."""
    return add_feedback(request.app.state.engine, trace_id=trace_id, project=auth.project, **body.model_dump())
