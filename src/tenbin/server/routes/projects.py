"""GET /projects: every project the caller may see, with trace counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from tenbin.server.auth import Access, reader
from tenbin.store.queries import list_projects

router = APIRouter(tags=["projects"])


@router.get("/projects")
def projects(request: Request, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    rows = list_projects(request.app.state.engine)
    return [p for p in rows if auth.project is None or p["name"] == auth.project]
