"""Embeddings over REST: the embed jobs' status and backlog, starting a job, and similar spans."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tenbin import jobs
from tenbin.server.auth import Access, reader, writer
from tenbin.analytics.embedding import DEFAULT_BATCH
from tenbin.store import embeddings as store
from tenbin.store.jobs import list_checkpoints
from tenbin.store.keys import project_id

router = APIRouter(tags=["embeddings"])


class EmbedJobIn(BaseModel):
    model: Literal["minilm", "wordllama", "openai"] = "minilm"
    field: Literal["input", "output", "both"] = "both"
    batch_size: int = Field(DEFAULT_BATCH, ge=1, le=10_000)
    embedding_model: str = Field("", max_length=200, description="with model=openai: the model name at TENBIN_LLM_BASE_URL")
    kind: str = Field("LLM", max_length=20, description="span kind to embed, e.g. AGENT for the user's question")


def _status(engine: Any, project: str) -> dict[str, Any]:
    pid = project_id(engine, project)
    checkpoints = [{**c, "running": jobs.is_running(pid, c["name"])} for c in list_checkpoints(engine, pid, "embed:")]
    return {"project": project, "llm_spans": store.count_llm_spans_after(engine, pid, None),
            "vectors": store.count_vectors(engine, pid), "jobs": checkpoints}


@router.get("/projects/{project}/embeddings")
def embeddings_status(request: Request, project: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Each embed job's checkpoint (processed, backlog, status, last error) and the stored vectors."""
    auth.check_project(project)
    return _status(request.app.state.engine, project)


@router.post("/projects/{project}/embeddings/jobs", status_code=202)
def start_embed_job(request: Request, project: str, body: EmbedJobIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start embedding in the background; poll GET …/embeddings for progress."""
    from tenbin.analytics.embedders import get_embedder
    from tenbin.analytics.embedding import embed_job

    auth.check_project(project)
    engine = request.app.state.engine
    embedder = get_embedder(body.model, model=body.embedding_model)
    job = embed_job(engine, project, embedder, body.field, body.batch_size, body.kind)
    jobs.start_in_background(engine, job)
    return {"job": job.name, **_status(engine, project)}


@router.get("/spans/{span_id}/similar")
def similar(request: Request, span_id: str, field: Literal["input", "output"] = "input",
            model: str | None = Query(None, description="embedding model name; default: the span's newest"),
            limit: int = Query(10, ge=1, le=100), auth: Access = Depends(reader)) -> dict[str, Any]:
    """Spans of the same project whose input (or output) is closest by cosine similarity."""
    return store.similar_spans(request.app.state.engine, span_id, field=field, model=model, limit=limit,
                               project=auth.project)
