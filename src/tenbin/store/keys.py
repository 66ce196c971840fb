"""Projects and API keys. Keys are random, shown once, and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.models import ApiKey, Project, utcnow
from tenbin.store.writes import ensure_projects

SCOPES = ("read", "write")


@dataclass(frozen=True)
class KeyInfo:
    project_id: int
    project: str
    scopes: frozenset[str]
    name: str = ""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(engine: Engine, project: str, scopes: str = "read,write", name: str = "") -> str:
    """Create a key for `project` (creating the project if new); return the plaintext key once."""
    wanted = {s.strip() for s in scopes.split(",") if s.strip()}
    if not wanted or wanted - set(SCOPES):
        raise InvalidInput(f"scopes must be a comma-separated subset of {', '.join(SCOPES)}; got {scopes!r}")
    key = f"tb_{secrets.token_urlsafe(30)}"
    with write_transaction(engine) as conn:
        project_id = ensure_projects(conn, {project})[project]
        conn.execute(
            ApiKey.__table__.insert(),
            {
                "project_id": project_id,
                "name": name,
                "prefix": key[:10],
                "key_hash": hash_key(key),
                "scopes": ",".join(sorted(wanted)),
                "created_at": utcnow(),
            },
        )
    return key


def lookup_key(engine: Engine, key: str) -> KeyInfo | None:
    stmt = (
        select(ApiKey.project_id, Project.name, ApiKey.scopes, ApiKey.name.label("key_name"))
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.key_hash == hash_key(key))
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    return KeyInfo(row.project_id, row.name, frozenset(row.scopes.split(",")), row.key_name or "")


def project_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        pid = conn.execute(select(Project.id).where(Project.name == name)).scalar()
    if pid is None:
        raise NotFound(f"no project named {name!r}; projects appear when their first span arrives")
    return pid
