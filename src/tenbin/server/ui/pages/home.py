"""`/`: the projects, or how to send the first trace when there are none."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import ui_access
from tenbin.store.queries import list_projects

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, access: Access = Depends(ui_access)) -> HTMLResponse:
    projects = [p for p in list_projects(request.app.state.engine) if access.project in (None, p["name"])]
    return render(request, "home.html", projects=projects, access=access, base_url=str(request.base_url).rstrip("/"))
