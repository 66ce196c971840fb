"""`/projects/{project}/sessions`: conversations, most recently active first; and one
conversation as a transcript of its turns, each linking to its trace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenbin.server.auth import Access
from tenbin.server.ui.render import render
from tenbin.server.ui.security import ui_access
from tenbin.store.queries import get_session
from tenbin.store.segments import list_sessions

router = APIRouter()


@router.get("/projects/{project}/sessions", response_class=HTMLResponse)
def sessions(request: Request, project: str, cursor: str | None = None, limit: int = 50,
             access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    page = list_sessions(request.app.state.engine, project, limit=limit, cursor=cursor)
    return render(request, "sessions.html", project=project, nav="sessions", access=access,
                  sessions=page.items, next_cursor=page.next_cursor, limit=limit, paged=bool(cursor))


def thumbs_of(feedback: dict[str, Any]) -> tuple[int, int]:
    """(ups, downs) from a turn's feedback summary ({name: {"count", "mean"}}) for thumbs."""
    thumbs = feedback.get("thumbs")
    if not thumbs or thumbs["mean"] is None:
        return 0, 0
    ups = round(thumbs["count"] * thumbs["mean"])
    return ups, thumbs["count"] - ups


@router.get("/projects/{project}/sessions/{session_id}", response_class=HTMLResponse)
def session(request: Request, project: str, session_id: str, access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    found = get_session(request.app.state.engine, project, session_id)
    for turn in found["turns"]:
        turn["thumbs_up"], turn["thumbs_down"] = thumbs_of(turn["feedback"])
        turn["other_feedback"] = {k: v for k, v in turn["feedback"].items() if k != "thumbs"}
    total_ms = sum(t["latency_ms"] for t in found["turns"])
    return render(request, "session.html", project=project, nav="sessions", access=access,
                  session=found, total_ms=total_ms)
