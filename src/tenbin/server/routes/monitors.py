"""Monitors and alerts over REST: create/list/change/delete monitors, check one now, its history of
evaluations, and the project's alerts (list, acknowledge). What a check computes is documented in
`tenbin.analytics.monitor_checks`; alerting and webhooks in `tenbin.analytics.monitors`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from tenbin import config
from tenbin.analytics import monitors
from tenbin.server.auth import Access, reader, writer

router = APIRouter(tags=["monitors"])


class MonitorIn(BaseModel):
    name: str = Field(..., max_length=200)
    kind: str = Field(..., description="thumbs_down_rate, latency_p95, drift or eval_rate")
    threshold: float = Field(..., description="see the README table: a rate or share, milliseconds, a ratio or a "
                                              "drift value")
    comparison: str | None = Field(None, description="absolute (default) or relative: vs the previous window, "
                                                     "or for a cluster vs the whole analysis")
    window_s: int | None = Field(None, description="window length in seconds (default 3600)")
    min_samples: int | None = Field(None, description="fewer samples than this never fire (default 20)")
    filter: str | None = Field(None, description='narrows the spans, e.g. metadata["task"] == "billing"')
    prompt: str | None = Field(None, description="NAME or NAME@VERSION: only spans of this prompt (version)")
    cluster: int | str | None = Field(None, description="a cluster number (pinned to its analysis) or 'each'")
    analysis_id: int | None = Field(None, description="pin to this analysis instead of the newest finished one")
    group_by: str | None = Field(None, description="check each segment on its own, e.g. metadata.task "
                                                  "(thumbs_down_rate, latency_p95 and eval_rate time windows)")
    evaluator: str | None = Field(None, description="eval_rate: the evaluator whose results count, e.g. qa_correctness")
    label: str | None = Field(None, description="eval_rate: the label whose share fires, e.g. incorrect")
    webhook_url: str | None = Field(None, description="http(s) URL the alert JSON is POSTed to")
    interval_s: int | None = Field(None, description="seconds between scheduled checks (default 300)")
    enabled: bool | None = None


class MonitorPatch(BaseModel):
    """Only the fields given change; null clears prompt, cluster, analysis_id, group_by, evaluator, label or
    webhook_url."""

    model_config = {"extra": "forbid"}
    name: str | None = Field(None, max_length=200)
    kind: str | None = None
    threshold: float | None = None
    comparison: str | None = None
    window_s: int | None = None
    min_samples: int | None = None
    filter: str | None = None
    prompt: str | None = None
    cluster: int | str | None = None
    analysis_id: int | None = None
    group_by: str | None = None
    evaluator: str | None = None
    label: str | None = None
    webhook_url: str | None = None
    interval_s: int | None = None
    enabled: bool | None = None


class AlertSettingsIn(BaseModel):
    webhook_url: str | None = Field(None, description="default webhook of the project's monitors; null clears it")


class AcknowledgeIn(BaseModel):
    by: str | None = Field(None, max_length=200, description="who acknowledges (shown on the alert)")


def _engine(request: Request) -> Any:
    return request.app.state.engine


@router.post("/projects/{project}/monitors", status_code=201)
def create(request: Request, project: str, body: MonitorIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Create a monitor; it is checked every `interval_s` by the server (or now with POST …/check)."""
    auth.check_project(project)
    return monitors.create(_engine(request), project, body.model_dump(exclude_none=True))


@router.get("/projects/{project}/monitors")
def list_monitors(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    auth.check_project(project)
    return monitors.list_monitors(_engine(request), project)


@router.get("/monitors/{monitor_id}")
def get(request: Request, monitor_id: int, evaluations: int = Query(20, ge=0, le=1000),
        auth: Access = Depends(reader)) -> dict[str, Any]:
    """The monitor and its newest evaluations (value, reference, threshold, window, n, status)."""
    monitor = monitors.get_monitor(_engine(request), monitor_id, auth.project)
    return {**monitor, "evaluations": monitors.evaluations(_engine(request), monitor_id, evaluations)}


@router.patch("/monitors/{monitor_id}")
def change(request: Request, monitor_id: int, body: MonitorPatch, auth: Access = Depends(writer)) -> dict[str, Any]:
    return monitors.update(_engine(request), monitor_id, body.model_dump(exclude_unset=True), auth.project)


@router.delete("/monitors/{monitor_id}")
def delete(request: Request, monitor_id: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Remove the monitor with its evaluations and alerts."""
    monitors.delete(_engine(request), monitor_id, auth.project)
    return {"deleted": monitor_id}


@router.post("/monitors/{monitor_id}/check")
def check(request: Request, monitor_id: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Check now: the stored evaluation, `alert_id` when it raised an alert, the webhook `delivery`."""
    return monitors.check(_engine(request), monitor_id, project=auth.project)


@router.get("/monitors/{monitor_id}/evaluations")
def evaluations(request: Request, monitor_id: int, limit: int = Query(50, ge=1, le=1000), auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    monitors.get_monitor(_engine(request), monitor_id, auth.project)
    return monitors.evaluations(_engine(request), monitor_id, limit)


@router.get("/projects/{project}/alerts")
def list_alerts(request: Request, project: str, status: Literal["open", "acknowledged"] | None = None,
                monitor_id: int | None = None, analysis_id: int | None = None, limit: int = 100,
                auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Alerts newest first: numbers, cluster and report, webhook delivery, acknowledgement."""
    auth.check_project(project)
    return monitors.list_alerts(_engine(request), project, status=status, monitor_id=monitor_id,
                                analysis_id=analysis_id, limit=limit)


@router.post("/projects/{project}/alerts/{alert_id}/acknowledge")
def acknowledge(request: Request, project: str, alert_id: int, body: AcknowledgeIn | None = None,
                auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return monitors.acknowledge(_engine(request), alert_id, project, body.by if body else None)


@router.get("/projects/{project}/alert-settings")
def alert_settings(request: Request, project: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    """The project's default webhook (monitors without their own POST their alerts there)."""
    auth.check_project(project)
    return {"project": project, "webhook_url": monitors.project_webhook(_engine(request), project)}


@router.put("/projects/{project}/alert-settings")
def set_alert_settings(request: Request, project: str, body: AlertSettingsIn,
                       auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    return {"project": project, "webhook_url": monitors.set_project_webhook(_engine(request), project, body.webhook_url)}


def schedule(app: FastAPI, interval_s: float | None = None) -> None:
    """Check due monitors every TENBIN_MONITOR_INTERVAL seconds on the app's scheduler (0: never);
    each monitor is then checked when its own `interval_s` has passed."""
    interval = float(config.MONITOR_INTERVAL.get(None if interval_s is None else str(interval_s)))
    if interval > 0:
        app.state.scheduler.register("monitors", interval, lambda: monitors.run_monitors(
            app.state.engine, stop=app.state.scheduler.stopping))
