"""Who is calling: with TENBIN_AUTH=1 every request carries a key, limited to its project and scopes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from tenbin.errors import Forbidden, Unauthorized
from tenbin.store.keys import lookup_key


@dataclass(frozen=True)
class Access:
    """What a request may touch; `project` None means every project (auth is off)."""

    project: str | None
    scopes: frozenset[str]

    def check_project(self, name: str) -> None:
        if self.project is not None and name != self.project:
            raise Forbidden(f"this API key belongs to project {self.project!r}, not {name!r}")

    def check_scope(self, scope: str, why: str) -> None:
        """For a route whose scope depends on its body (a read that also keeps something)."""
        if scope not in self.scopes:
            raise Forbidden(f"this API key has scopes {', '.join(sorted(self.scopes))}; {why} needs {scope!r}")


OPEN = Access(None, frozenset({"read", "write"}))


def _key_from(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.headers.get("api_key")


def access(request: Request, scope: str) -> Access:
    if not request.app.state.auth:
        return OPEN
    key = _key_from(request)
    if not key:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' (create one with `tenbin keys create`)")
    info = lookup_key(request.app.state.engine, key)
    if info is None:
        raise Unauthorized("unknown API key: check TENBIN_API_KEY or create one with `tenbin keys create`")
    if scope not in info.scopes:
        raise Forbidden(f"this API key has scopes {', '.join(sorted(info.scopes))}; this request needs {scope!r}")
    return Access(info.project, info.scopes)


def reader(request: Request) -> Access:
    return access(request, "read")


def writer(request: Request) -> Access:
    return access(request, "write")
