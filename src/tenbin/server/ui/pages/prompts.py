"""`/projects/{project}/prompts`: the prompt registry — prompts, one prompt's versions with labels
and audit log, a diff between two versions, and a CSRF-checked form that moves a label."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from tenbin.analytics.reports import PROMPT_NAME as REPORT_PROMPT
from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import judge_prompts
from tenbin.prompts import experiments, registry
from tenbin.server.auth import Access
from tenbin.server.ui import prompt_panels as panels
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access, ui_author

router = APIRouter()


def _iso(us: int | None) -> str | None:
    """Registry times are microseconds; the UI's `time` filter reads ISO-8601."""
    return None if us is None else datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()


BASE = "/projects/{project}/prompts"


def _role(name: str) -> str | None:
    """What tenbin itself uses a prompt for (its judges' and cluster reports' templates), if anything."""
    if name.startswith(judge_prompts.PREFIX):
        return f"template of the {name.removeprefix(judge_prompts.PREFIX)} judge"
    return "template of the LLM cluster reports" if name == REPORT_PROMPT else None


@router.get(BASE, response_class=HTMLResponse)
def prompts(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    items = [{**p, "updated": _iso(p["updated_us"]), "role": _role(p["name"])}
             for p in registry.list_prompts(request.app.state.engine, project)]
    return render(request, "prompts.html", project=project, nav="prompts", access=access, prompts=items)


def detail_context(engine: Engine, access: Access, project: str, name: str, version: int | None,
                   compare: tuple[int | None, int | None, str | None] = (None, None, None)) -> dict[str, Any]:
    """The prompt page: versions, labels, audit log, performance of two versions, experiments."""
    versions = [{**v, "created": _iso(v["created_us"])} for v in registry.list_versions(engine, project, name)]
    selected = versions[0] if version is None else next((v for v in versions if v["version"] == version), None)
    if selected is None:
        raise NotFound(f"prompt {name!r} has no version {version}; versions are 1 to {versions[0]['version']}")
    labels = {label: v["version"] for v in versions for label in v["labels"]}
    return {"project": project, "nav": "prompts", "access": access, "name": name, "versions": versions,
            "selected": selected, "labels": labels, "audit": [{**m, "moved": _iso(m["moved_us"])} for m in registry.audit_log(engine, project, name, 50)],
            "can_write": "write" in access.scopes, "label_error": None, "form": {},
            "perf": panels.performance_panel(engine, project, name, versions, labels, *compare),
            "experiments": panels.experiments_panel(engine, project, name, versions, labels), "experiment_error": None}


@router.get(BASE + "/{name}", response_class=HTMLResponse)
def prompt_page(request: Request, project: str, name: str, version: int | None = None, a: int | None = None,
                b: int | None = None, span: str | None = Query(None, alias="range"),
                access: Access = Depends(ui_access)) -> HTMLResponse:
    """`a`, `b`: the two versions whose performance is compared over `range` (24h, 7d, 30d, 90d)."""
    access.check_project(project)
    context = detail_context(request.app.state.engine, access, project, name, version, (a, b, span))
    return render(request, "prompt.html", **context)


@router.get(BASE + "/{name}/diff", response_class=HTMLResponse)
def diff_page(request: Request, project: str, name: str, from_version: int, to_version: int,
              access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    result = registry.diff(request.app.state.engine, project, name, from_version, to_version)
    lines = [{"text": line.rstrip("\n"), "kind": _line_kind(line)} for line in result["template_diff"].splitlines(True)]
    return render(request, "prompt_diff.html", project=project, nav="prompts", access=access, name=name,
                  diff=result, lines=lines)


def _line_kind(line: str) -> str:
    if line.startswith(("---", "+++")):
        return "file"
    return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")


def _version_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"pick a version number to move the label to; got {text!r}") from None


async def _refused(request: Request, access: Access, project: str, name: str, form: dict[str, str], *,
                   status: int, **error: str) -> HTMLResponse:
    """The prompt page again, with the refused form as it was sent and the error next to it."""
    context = await run_in_threadpool(detail_context, request.app.state.engine, access, project, name, None)
    context.update(form=form, **error)
    return render(request, "prompt.html", status_code=status, **context)


@router.post(BASE + "/{name}/labels")
async def move_label(request: Request, project: str, name: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    require_write(access, project, "move labels")
    engine, label = request.app.state.engine, form.get("label", "").strip()
    try:
        await run_in_threadpool(registry.move_label, engine, project, name, label,
                                _version_number(form.get("version", "")), author=ui_author(request),
                                reason=form.get("reason", "").strip())
    except (InvalidInput, NotFound) as exc:
        return await _refused(request, access, project, name, form, label_error=str(exc), status=exc.status_code)
    target = f"/projects/{quote(project, safe='')}/prompts/{quote(name, safe='')}#labels"
    return RedirectResponse(target, status_code=303)


@router.post(BASE + "/{name}/experiments")
async def new_experiment(request: Request, project: str, name: str, access: Access = Depends(ui_access)) -> Response:
    """Start an A/B experiment between versions of this prompt; then its live results page."""
    form = await check_csrf(request)
    require_write(access, project, "start experiments")
    engine = request.app.state.engine
    try:
        versions = await run_in_threadpool(registry.list_versions, engine, project, name)
        data = panels.experiment_request(form, name, versions, ui_author(request))
        created = await run_in_threadpool(experiments.create, engine, project, data)
    except (InvalidInput, NotFound) as exc:
        return await _refused(request, access, project, name, form, experiment_error=str(exc), status=exc.status_code)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/prompt-experiments/{created['id']}", status_code=303)
