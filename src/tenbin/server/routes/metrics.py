"""GET /projects/{project}/metrics: summary metrics per time bucket and/or group; GET
/projects/{project}/metrics/evals: evaluation results per evaluator (`store.eval_metrics`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tenbin.server.auth import Access, reader
from tenbin.server.routes.common import FilterParam, TimeParam, span_query
from tenbin.store.eval_metrics import eval_summary
from tenbin.store.metrics import summary

router = APIRouter(tags=["metrics"])


@router.get("/projects/{project}/metrics")
def metrics(request: Request, project: str, filter: FilterParam = "", start: TimeParam = None,
            end: TimeParam = None, bucket_seconds: int | None = None, group_by: str | None = None,
            auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Count, latency p50/p95, tokens, error rate and thumbs-up rate; `group_by=metadata.task` or a column."""
    auth.check_project(project)
    return summary(request.app.state.engine, span_query(project, filter, start, end), bucket_seconds, group_by)


class LabelShare(BaseModel):
    label: str
    count: int
    fraction: float = Field(..., description="share of the evaluator's results with this label")


class EvalBucket(BaseModel):
    bucket: str = Field(..., description="start of the time bucket (ISO-8601, UTC)")
    results: int
    mean_score: float | None
    labels: dict[str, int] = Field(..., description="results per label in the bucket")


class EvaluatorMetrics(BaseModel):
    name: str = Field(..., description="the evaluator (feedback name), e.g. qa_correctness")
    results: int
    sources: list[str] = Field(..., description="who judged: code, llm and/or human")
    labels: list[LabelShare] = Field(..., description="most frequent first; includes unparseable")
    scored: int = Field(..., description="results that carry a score")
    mean_score: float | None = Field(..., description="mean of the scores (1.0 is good); None without scores")
    series: list[EvalBucket] = Field(..., description="per bucket with results; empty without bucket_seconds")


class EvalMetrics(BaseModel):
    project: str
    bucket_seconds: int | None
    sample_fraction: float = Field(..., description="share of spans read; 1.0 means all (see metrics sampling)")
    evaluators: list[EvaluatorMetrics]


@router.get("/projects/{project}/metrics/evals")
def eval_metrics(request: Request, project: str, filter: FilterParam = "", start: TimeParam = None,
                 end: TimeParam = None, bucket_seconds: int | None = None,
                 auth: Access = Depends(reader)) -> EvalMetrics:
    """Per evaluator over the selected spans: results, label fractions, mean score, sources, series."""
    auth.check_project(project)
    found = eval_summary(request.app.state.engine, span_query(project, filter, start, end), bucket_seconds)
    return EvalMetrics(project=project, bucket_seconds=bucket_seconds, **found)
