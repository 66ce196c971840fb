"""UI safety: CSRF tokens for every state-changing form, and key login when TENBIN_AUTH=1.

CSRF uses the double-submit pattern: a random token in a SameSite=Strict, HttpOnly cookie is
rendered into each form; a POST whose form token differs from the cookie (or whose Origin is
another site) is refused. With auth on, the API key lives in an HttpOnly cookie and every page
sees only that key's project.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlparse

from fastapi import Request, Response

from tenbin.errors import Forbidden, Unauthorized
from tenbin.server.auth import OPEN, Access
from tenbin.store.keys import lookup_key

CSRF_COOKIE = "tenbin_csrf"
KEY_COOKIE = "tenbin_key"


def csrf_token(request: Request) -> str:
    """The request's CSRF token, minting one (to be set as a cookie by `remember_csrf`) if new."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")


async def check_csrf(request: Request) -> dict[str, str]:
    """Validate a POSTed form; returns its fields. Raises Forbidden on a forged request."""
    origin = request.headers.get("origin")
    if origin and urlparse(origin).netloc != request.headers.get("host"):
        raise Forbidden("cross-site request refused")
    form = {k: str(v) for k, v in (await request.form()).items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        raise Forbidden("this form has expired or was not sent by tenbin: reload the page and try again")
    return form


def ui_access(request: Request) -> Access:
    """Who is looking: everyone when auth is off, else the project of the key in the cookie."""
    if not request.app.state.auth:
        return OPEN
    key = request.cookies.get(KEY_COOKIE)
    info = lookup_key(request.app.state.engine, key) if key else None
    if info is None or "read" not in info.scopes:
        raise Unauthorized("sign in with a read key")
    request.state.author = info.name or f"key {(key or '')[:10]}"
    return Access(info.project, info.scopes)


def ui_author(request: Request) -> str:
    """Who a change made in the UI is recorded as: the signed-in key's name (set by `ui_access`), else "ui"."""
    return getattr(request.state, "author", "ui")


def require_write(access: Access, project: str, what: str) -> None:
    """Refuse a change to `project` unless the key may write there; `what` completes "... scope to"."""
    access.check_project(project)
    if "write" not in access.scopes:
        raise Forbidden(f"this key can only read; sign in with a key that has the write scope to {what}")
