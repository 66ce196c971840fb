"""Embedding analyses over REST: start a run (in the background) or run one again, list runs, a
run's status, drift and cluster table, its points for the scatter, a cluster's samples, and segments."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from tenbin.errors import InvalidInput
from tenbin.server.auth import Access, reader, writer
from tenbin.server.compact_json import compact_json
from tenbin.store import analyses as store

router = APIRouter(tags=["analyses"])


class AnalysisIn(BaseModel):
    baseline: str = Field(..., max_length=500, description="previous, a duration like 7d, START..END, "
                                                          "dataset:NAME[@V] or prompt:NAME@V")
    window: str = Field("", max_length=500, description="production window: all, a duration like 24h, or START..END")
    field: Literal["input", "output"] = "input"
    model: str | None = Field(None, max_length=200, description="embedding model; default: the project's most used")
    filter: str = Field("", max_length=2000)
    n_neighbors: int = Field(15, ge=2, le=200)
    min_cluster_size: int | None = Field(None, ge=2, description="default max(15, √n)")
    min_samples: int = Field(5, ge=1)
    seed: int | None = Field(42, description="null: faster, not reproducible")
    min_support: int = Field(10, ge=1)
    samples: int = Field(5, ge=1, le=50)


def _request(project: str, body: AnalysisIn) -> Any:
    from tenbin.analytics.analysis import AnalysisRequest
    from tenbin.analytics.clustering import HdbscanParams
    from tenbin.analytics.projection import UmapParams

    return AnalysisRequest(project, body.baseline, body.window, body.field, body.model, body.filter,
                           UmapParams(n_neighbors=body.n_neighbors, seed=body.seed),
                           HdbscanParams(body.min_cluster_size, body.min_samples), body.min_support, body.samples)


def _run(request: Request, analysis_id: int, auth: Access) -> dict[str, Any]:
    """The run, if the caller's key may see its project."""
    return store.get_analysis(request.app.state.engine, analysis_id, auth.project)


@router.post("/projects/{project}/analyses", status_code=202)
def start_analysis(request: Request, project: str, body: AnalysisIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Check the request and start the run in the background; poll GET /analyses/{id} for its status."""
    from tenbin.analytics.analysis import start_in_background

    auth.check_project(project)
    return start_in_background(request.app.state.engine, _request(project, body))


@router.post("/analyses/{analysis_id}/rerun", status_code=202)
def rerun_analysis(request: Request, analysis_id: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Start a new run with this run's stored parameters (same resolved windows, model, settings and
    seed), linked by `params.rerun_of`; 400 while it is still running."""
    from tenbin.analytics.analysis import rerun_in_background

    return rerun_in_background(request.app.state.engine, analysis_id, auth.project)


@router.get("/projects/{project}/analyses")
def list_analyses(request: Request, project: str, limit: int = Query(50, ge=1, le=1000),
                  auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return {"items": store.list_analyses(request.app.state.engine, project, limit)}


@router.get("/analyses/{analysis_id}")
def get_analysis(request: Request, analysis_id: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    """Status and progress, parameters, global drift, and the cluster table (worst problem first)."""
    run = _run(request, analysis_id, auth)
    return {**run, "clusters": store.clusters(request.app.state.engine, analysis_id)}


@router.get("/analyses/{analysis_id}/points")
def analysis_points(request: Request, analysis_id: int,
                    cluster: int | None = Query(None, description="only this cluster's points (-1: noise)"),
                    auth: Access = Depends(reader)) -> Response:
    """A done run's points, column-wise (the embeddings page reads the same format): one array per
    attribute, entry i of each is point i (ordered by side, then span id); categories are codes into
    a lookup list, -1 for none. Gzipped when the client accepts it.

    - `span_id`; `side` → `sides` (production, baseline); `cluster` (-1 noise) and `clusters`
      (`id`, `label`, `rank`, worst problem first)
    - `x`, `y` (2D) and `x3`, `y3`, `z3` (3D) display coordinates, rounded to 0.001
    - `start_s`: seconds after `start_origin` (ISO UTC); `latency_ms` (0.1 ms)
    - `thumbs` → `thumbs_names` (none, up, down: the span's plus its trace's votes, down when at
      least half are down); `version` → `versions` (prompt `name@version`)
    - `meta`: per categorical metadata key, `{"values": [...], "codes": [...]}`
    - `preview`: the analysed text, one line, at most 80 characters: data, escape it to show it
    - `n`, `field`, `analysis_id`, `cluster_filter`

    Python: `Client.analysis_points(id, dataframe=True)` decodes it into one row per point."""
    from tenbin.analytics import point_columns

    run = _run(request, analysis_id, auth)
    return compact_json(request, point_columns.read(request.app.state.engine, analysis_id, run["project"], cluster))


@router.get("/analyses/{analysis_id}/clusters/{cluster}/samples")
def cluster_samples(request: Request, analysis_id: int, cluster: int, limit: int = Query(5, ge=1, le=50),
                    auth: Access = Depends(reader)) -> dict[str, Any]:
    """The cluster's spans nearest its centre, with their text."""
    _run(request, analysis_id, auth)
    return {"analysis_id": analysis_id, "cluster": cluster,
            "items": store.samples(request.app.state.engine, analysis_id, cluster, limit)}


@router.get("/analyses/{analysis_id}/segments")
def analysis_segments(request: Request, analysis_id: int,
                      by: str | None = Query(None, description="metadata.<key>, prompt, prompt_version, status, "
                                                               "latency_ms, prompt_tokens or total_tokens"),
                      segment: str | None = Query(None, description="<dimension>:<value>: the clusters inside it"),
                      auth: Access = Depends(reader)) -> dict[str, Any]:
    """`by`: the metrics per segment; `segment`: the clusters restricted to that segment's spans."""
    from tenbin.analytics.cluster_segments import clusters_in_segment, segments
    _run(request, analysis_id, auth)
    engine = request.app.state.engine
    if segment:
        return clusters_in_segment(engine, analysis_id, segment)
    if by:
        return segments(engine, analysis_id, by)
    raise InvalidInput("give by=<dimension> (e.g. metadata.task) or segment=<dimension>:<value>")
