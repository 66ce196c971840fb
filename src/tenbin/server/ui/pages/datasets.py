"""`/projects/{project}/datasets`: datasets (with a create form), one dataset (versions, examples,
its experiments, an "Add to dataset" form taking span ids, a filter or a CSV/JSONL upload, a compare
picker), one
experiment's results (its "Run again" button posts to pages/reruns.py), and two experiments side by
side with aggregate deltas."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from tenbin.errors import Forbidden, InvalidInput, NotFound
from tenbin.evals import compare as comparing
from tenbin.evals import datasets
from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, ui_access
from tenbin.store import datasets as store

router = APIRouter()
BASE = "/projects/{project}/datasets"
EXPERIMENTS = "/projects/{project}/experiments"
MAX_UPLOAD = 20 * 1024 * 1024


def _iso(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()


def dataset_url(project: str, name: str, added: int | None = None) -> str:
    """The dataset's page; `added` makes it confirm how many examples just went in."""
    url = f"/projects/{quote(project, safe='')}/datasets/{quote(name, safe='')}"
    return url if added is None else f"{url}?added={added}"


async def read_upload(request: Request) -> tuple[str, str] | None:
    """The uploaded file's name and text, or None when the form's file field was left empty. Starlette
    spools the upload to a temporary file first; at most MAX_UPLOAD bytes of it are read into memory."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"{upload.filename} is over {MAX_UPLOAD // 2**20} MB; split it or use `tenbin datasets import`")
    try:
        return upload.filename, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{upload.filename} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                           "save it as UTF-8 CSV or JSONL") from exc


def _examples_from_form(engine: Engine, project: str, form: dict[str, str],
                        file: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Span ids (whitespace or comma separated), a filter, or an uploaded file (name, text); exactly one.
    Spans give the expected output the form's `expected_from` names (a file has its own)."""
    ids = [s for s in re.split(r"[\s,]+", form.get("span_ids", "")) if s]
    flt = form.get("filter", "").strip()
    given = [what for what, value in (("span ids", ids), ("a filter", flt), ("a file", file)) if value]
    if len(given) > 1:
        raise InvalidInput(f"give one source of examples, not {' and '.join(given)}")
    if not given:
        raise InvalidInput("give span ids (copy them from a trace page), a filter such as kind == \"LLM\", "
                           "or a CSV/JSONL file")
    if file:
        return datasets.parse_named(*file)
    limit = form.get("limit", "").strip() or "100"
    if not limit.isdigit():
        raise InvalidInput(f"limit must be a whole number of spans; got {limit!r}")
    return datasets.collect(engine, project, span_ids=ids, filter=flt or None, limit=int(limit),
                            expected_from=form.get("expected_from") or "reference")


def _writable(access: Access, project: str) -> None:
    access.check_project(project)
    if "write" not in access.scopes:
        raise Forbidden("this key can only read; sign in with a key that has the write scope to change datasets")


def list_context(engine: Engine, access: Access, project: str) -> dict[str, Any]:
    items = [{**d, "updated": _iso(d["updated_us"])} for d in store.list_datasets(engine, project)]
    return {"project": project, "nav": "datasets", "access": access, "datasets": items, "error": None, "form": {},
            "can_write": "write" in access.scopes}


@router.get(BASE, response_class=HTMLResponse)
def datasets_page(request: Request, project: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "datasets.html", **list_context(request.app.state.engine, access, project))


@router.post(BASE)
async def create(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    form = await check_csrf(request)
    _writable(access, project)
    engine, name = request.app.state.engine, form.get("name", "").strip()
    try:
        if not name:
            raise InvalidInput("name the dataset")
        examples = await run_in_threadpool(_examples_from_form, engine, project, form, await read_upload(request))
        await run_in_threadpool(store.create_dataset, engine, project, name, examples,
                                description=form.get("description", "").strip())
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(list_context, engine, access, project)
        context.update(error=str(exc), form=form)
        return render(request, "datasets.html", status_code=400, **context)
    return RedirectResponse(dataset_url(project, name, len(examples)), status_code=303)


def detail_context(engine: Engine, access: Access, project: str, name: str, version: int | None,
                   added: int | None = None) -> dict[str, Any]:
    data = store.get_dataset(engine, project, name, version)
    runs = [{**r, "created": _iso(r["created_us"])} for r in store.list_experiments(engine, project, name)]
    versions = [{**v, "created": _iso(v["created_us"])} for v in data["versions"]]
    return {"project": project, "nav": "datasets", "access": access, "name": name, "data": data, "versions": versions,
            "experiments": runs, "error": None, "form": {}, "can_write": "write" in access.scopes, "added": added}


@router.get(BASE + "/{name}", response_class=HTMLResponse)
def dataset_page(request: Request, project: str, name: str, version: int | None = None, added: int | None = None,
                 access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    context = detail_context(request.app.state.engine, access, project, name, version, added)
    return render(request, "dataset.html", **context)


@router.post(BASE + "/{name}/examples")
async def add_examples(request: Request, project: str, name: str, access: Access = Depends(ui_access)) -> Response:
    """Add to dataset: the spans become examples of a new version."""
    form = await check_csrf(request)
    _writable(access, project)
    engine = request.app.state.engine
    try:
        examples = await run_in_threadpool(_examples_from_form, engine, project, form, await read_upload(request))
        await run_in_threadpool(store.change_examples, engine, project, name, add=examples,
                                message=form.get("message", "").strip() or "added from the UI")
    except (InvalidInput, NotFound) as exc:
        context = await run_in_threadpool(detail_context, engine, access, project, name, None)
        context.update(error=str(exc), form=form)
        return render(request, "dataset.html", status_code=400, **context)
    return RedirectResponse(dataset_url(project, name, len(examples)), status_code=303)


@router.get(EXPERIMENTS + "/compare", response_class=HTMLResponse)
def compare_page(request: Request, project: str, a: int, b: int, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    engine = request.app.state.engine
    diff = comparing.compare(store.get_experiment(engine, project, a), store.get_experiment(engine, project, b))
    return render(request, "experiment_compare.html", project=project, nav="datasets", access=access, diff=diff)


def experiment_context(engine: Engine, access: Access, project: str, experiment_id: int) -> dict[str, Any]:
    exp = store.get_experiment(engine, project, experiment_id)
    names = sorted({s["evaluator"] for r in exp["results"] for s in r["scores"] or []})
    rows = [{**r, "by": {s["evaluator"]: s for s in r["scores"] or []}} for r in exp["results"]]
    return {"project": project, "nav": "datasets", "access": access, "exp": exp, "names": names, "rows": rows,
            "created": _iso(exp["created_us"]), "can_write": "write" in access.scopes, "rerun_error": None}


@router.get(EXPERIMENTS + "/{experiment_id:int}", response_class=HTMLResponse)
def experiment_page(request: Request, project: str, experiment_id: int, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    return render(request, "experiment.html", **experiment_context(request.app.state.engine, access, project, experiment_id))
