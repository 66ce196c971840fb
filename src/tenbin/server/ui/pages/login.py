"""Sign in with an API key when TENBIN_AUTH=1 (the key is kept in an HttpOnly cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenbin.server.ui.render import render
from tenbin.server.ui.security import KEY_COOKIE, check_csrf
from tenbin.store.keys import lookup_key

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths: `//evil.example` or `https://…` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await check_csrf(request)
    info = lookup_key(request.app.state.engine, form.get("key", "").strip())
    if info is None or "read" not in info.scopes:
        return render(request, "login.html", status_code=401, next=_safe_next(form.get("next")),
                      error="That key is unknown or cannot read. Create one with `tenbin keys create --project NAME`.")
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(KEY_COOKIE, form["key"].strip(), httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(KEY_COOKIE)
    return response
