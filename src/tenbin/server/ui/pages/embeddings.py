"""`/projects/{project}/embeddings`: embedding analysis runs — the list with a form to start one,
and one run: a scatter of its points (plotly, WebGL when large, 2D/3D, coloured by cluster,
feedback, side, prompt version or a metadata key), the cluster table worst problem first, a
cluster's panel (metrics, samples, LLM report with a Generate button, alerts), drift over time
and segments.

The form and the report button call the same functions as REST (`analysis.start_in_background`,
`reports.generate`). The scatter's points come from `…/points.json` under the page's own URL (a
signed-in browser holds its key in an HttpOnly cookie that the REST API does not read), in the
format the REST points route serves, built by the same function.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin import config
from tenbin.analytics import analysis as runs
from tenbin.analytics import cluster_segments, reports
from tenbin.analytics.windows import BASELINE_HELP
from tenbin.errors import InvalidInput, LLMError, NotFound
from tenbin.server.auth import Access
from tenbin.server.compact_json import compact_json
from tenbin.server.routes.evals import judge_tracing
from tenbin.server.ui import cluster_panel, embedding_scatter
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access
from tenbin.store import analyses as store
from tenbin.store.datasets import list_datasets
from tenbin.store.embeddings import count_vectors
from tenbin.store.keys import project_id
from tenbin.store.prompts import list_prompts

router = APIRouter()
BASE = "/projects/{project}/embeddings"
RUN = BASE + "/{analysis_id}"
ACTIVE = ("queued", "running")
BASELINE_KINDS = (("previous", "the window before"), ("window", "a time window"), ("dataset", "a dataset"),
                  ("prompt", "a prompt version"))
COLORINGS = (("cluster", "Cluster"), ("thumbs", "Feedback (thumbs)"), ("side", "Production vs baseline"),
             ("version", "Prompt version"))
SEGMENT_DIMENSIONS = (("prompt", "prompt version"), ("status", "status"), ("latency_ms", "latency buckets"),
                      ("prompt_tokens", "prompt-token buckets"), ("total_tokens", "total-token buckets"))


def _url(project: str, analysis_id: int | None = None) -> str:
    base = f"/projects/{quote(project, safe='')}/embeddings"
    return base if analysis_id is None else f"{base}/{analysis_id}"


def baseline_spec(kind: str, value: str) -> str:
    """The baseline as `tenbin analyze --baseline` writes it, from the form's kind and value."""
    value = value.strip()
    if kind == "previous":
        return value or "previous"
    if kind not in ("window", "dataset", "prompt"):
        raise InvalidInput(f"unknown baseline kind {kind!r}; choose previous, window, dataset or prompt")
    if not value:
        examples = {"window": "7d or 2026-01-01..2026-01-08", "dataset": "a dataset name, e.g. golden@2",
                    "prompt": "NAME@VERSION, e.g. support@1"}
        raise InvalidInput(f"give the baseline {kind}: {examples[kind]}")
    return value if kind == "window" else f"{kind}:{value}"


def request_from_form(project: str, form: dict[str, str]) -> runs.AnalysisRequest:
    return runs.AnalysisRequest(
        project=project, baseline=baseline_spec(form.get("baseline_kind", "previous"), form.get("baseline", "")),
        window=form.get("window", "").strip(), field=form.get("field", "input"),
        model=form.get("model", "").strip() or None, filter=form.get("filter", "").strip())


def _choices(engine: Engine, project: str) -> dict[str, Any]:
    """What the form offers: embedded models per field, datasets, prompt versions."""
    try:
        vectors = count_vectors(engine, project_id(engine, project))
    except NotFound:
        vectors = {}
    return {"vectors": sorted(vectors.items()), "models": sorted({k.rsplit("/", 1)[0] for k in vectors}),
            "datasets": [d["name"] for d in list_datasets(engine, project)],
            "prompt_versions": [f"{p['name']}@{v}" for p in list_prompts(engine, project)
                                for v in range(p["latest_version"], max(0, p["latest_version"] - 10), -1)]}


def list_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    try:
        items = store.list_analyses(engine, project)
    except NotFound:
        items = []
    return {"project": project, "nav": "embeddings", "access": access, "analyses": items,
            "active": any(a["status"] in ACTIVE for a in items), "error": None,
            "form": {"baseline_kind": "previous", "window": "24h", "field": "input"},
            "baseline_kinds": BASELINE_KINDS, "baseline_help": BASELINE_HELP, "can_write": "write" in access.scopes,
            **_choices(engine, project)}


@router.get(BASE, response_class=HTMLResponse)
def embeddings_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "embeddings.html", **list_context(request.app.state.engine, access, project))


@router.post(BASE)
async def start(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    """Start an analysis in the background (as POST /api/v1/projects/{p}/analyses does), then show it."""
    form = await check_csrf(request)
    require_write(access, project, "start analyses")
    engine = request.app.state.engine
    try:
        started = await run_in_threadpool(runs.start_in_background, engine, request_from_form(project, form))
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(list_context, engine, access, project)
        context.update(error=str(exc), form=form)
        return render(request, "embeddings.html", status_code=exc.status_code, **context)
    return RedirectResponse(_url(project, started["id"]), status_code=303)


def _colorings(analysis: dict[str, Any]) -> list[tuple[str, str]]:
    keys = ((analysis["summary"] or {}).get("metadata_keys") or [])[:embedding_scatter.MAX_META_KEYS]
    return [*COLORINGS, *((f"meta:{k}", f"metadata: {k}") for k in keys)]


def _dimensions(analysis: dict[str, Any]) -> list[tuple[str, str]]:
    keys = (analysis["summary"] or {}).get("metadata_keys") or []
    return [*((f"metadata.{k}", f"metadata: {k}") for k in keys), *SEGMENT_DIMENSIONS]


def segments_context(engine: Engine, analysis: dict[str, Any], by: str, segment: str) -> dict[str, Any] | None:
    """The segments table for `by` and the clusters inside `segment`; a bad choice is shown, not raised."""
    if not by and not segment:
        return None
    by = by or segment.partition(":")[0]
    out: dict[str, Any] = {"by": by, "segment": segment, "rows": [], "inside": None, "error": None}
    try:
        found = cluster_segments.segments(engine, analysis["id"], by)
        out["rows"] = [{**cluster_panel.table_row(
            {"cluster": None, "label": r["segment"], "rank": None, "problem_score": r["problem_score"],
             "size": r["metrics"]["size"], "metrics": r["metrics"], "report": None}, analysis["summary"]),
            "segment": r["segment"], "filter": r["filter"]} for r in found["segments"]]
        if segment:
            inside = cluster_segments.clusters_in_segment(engine, analysis["id"], segment)
            out["inside"] = {**inside, "clusters": [cluster_panel.table_row({**c, "report": None}, analysis["summary"])
                                                    for c in inside["clusters"]]}
    except InvalidInput as exc:
        out["error"] = str(exc)
    return out


def run_context(engine: Engine, access: Access, project: str, analysis_id: int, cluster: int | None = None,
                by: str = "", segment: str = "") -> dict[str, Any]:
    """Everything the run page renders (the points come separately, as JSON)."""
    found = store.get_analysis(engine, analysis_id, project)
    clusters = store.clusters(engine, analysis_id) if found["status"] == "done" else []
    alerts = cluster_panel.run_alerts(engine, project, analysis_id)
    rows = [cluster_panel.table_row(c, found["summary"]) for c in clusters]
    return {"project": project, "nav": "embeddings", "access": access, "analysis": found, "clusters": rows,
            "active": found["status"] in ACTIVE, "colorings": _colorings(found),
            "panel": cluster_panel.panel(engine, found, clusters, cluster, alerts) if cluster is not None else None,
            "run_alerts": [a for a in alerts if a.get("cluster") is None], "alert_count": len(alerts),
            "can_write": "write" in access.scopes, "llm_url": config.LLM_BASE_URL.get(), "report_error": None,
            "points_url": _url(project, analysis_id) + "/points.json", "run_url": _url(project, analysis_id),
            "dimensions": _dimensions(found),
            "segments": segments_context(engine, found, by, segment) if found["status"] == "done" else None}


@router.get(RUN, response_class=HTMLResponse)
def run_page(request: Request, project: str, analysis_id: int, cluster: int | None = None, by: str = "",
             segment: str = "", access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    context = run_context(request.app.state.engine, access, project, analysis_id, cluster, by.strip(), segment.strip())
    return render(request, "embeddings_run.html", **context)


@router.get(RUN + "/clusters/{cluster}", response_class=HTMLResponse)
def cluster_page(request: Request, project: str, analysis_id: int, cluster: int, fragment: bool = False,
                 access: Access = Depends(ui_access)) -> HTMLResponse:
    """The run page with this cluster's panel open (the link alerts use); with `fragment=1` the panel
    alone, which the page's script swaps in when a row or a point is clicked."""
    access.check_project(project)
    context = run_context(request.app.state.engine, access, project, analysis_id, cluster)
    return render(request, "embeddings_cluster.html" if fragment else "embeddings_run.html", **context)


@router.post(RUN + "/clusters/{cluster}/report")
async def generate_report(request: Request, project: str, analysis_id: int, cluster: int,
                          access: Access = Depends(ui_access)) -> Response:
    """Write (or rewrite) the cluster's report with the configured LLM, as POST …/report does over REST."""
    await check_csrf(request)
    require_write(access, project, "generate cluster reports")
    engine = request.app.state.engine
    tracing = judge_tracing(request.app)
    try:
        await run_in_threadpool(reports.generate, engine, analysis_id, cluster, tracer=tracing.tracer, project=project)
    except LLMError as exc:
        context = await run_in_threadpool(run_context, engine, access, project, analysis_id, cluster)
        context["report_error"] = str(exc)
        return render(request, "embeddings_run.html", status_code=exc.status_code, **context)
    finally:
        await run_in_threadpool(tracing.flush)
    return RedirectResponse(f"{_url(project, analysis_id)}/clusters/{cluster}#cluster-panel", status_code=303)


@router.get(RUN + "/points.json")
def points_json(request: Request, project: str, analysis_id: int, access: Access = Depends(ui_access)) -> Response:
    """The run's points in the format GET /api/v1/analyses/{id}/points serves (`point_columns`),
    plus the drift-over-time series; gzipped when the browser accepts it."""
    access.check_project(project)
    return compact_json(request, embedding_scatter.payload(request.app.state.engine, analysis_id, project), 300)
