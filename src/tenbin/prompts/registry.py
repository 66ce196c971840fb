"""The prompt registry over a store: push immutable versions, move labels (audited), diff, roll back.

    push(engine, "shop", {"name": "greeting", "template": "Hello {{ name }}", "message": "first"})
    move_label(engine, "shop", "greeting", "production", 1, author="ana")
    get(engine, "shop", "greeting", label="production")

A version is checked before it is stored (the template parses, is safe, and declares what it uses),
so what the SDK fetches always renders. `latest` is a label every prompt has: its newest version.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.prompts.templates import Template
from tenbin.store import prompts as store

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}\Z")
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
LATEST = "latest"
FIELDS = ("name", "template", "messages", "format", "variables", "model", "params", "examples", "message", "author")
DIFF_FIELDS = ("format", "variables", "model", "params", "examples")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(f"prompt name {name!r} must be 1-200 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return name


def check_label(label: Any) -> str:
    if not isinstance(label, str) or not LABEL.match(label):
        raise InvalidInput(f"label {label!r} must be 1-100 letters, digits, '_', '.' or '-', starting with a letter or digit")
    if label == LATEST:
        raise InvalidInput("'latest' always means the newest version and cannot be moved; use another label name")
    return label


def version_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields of a new version, validated; unknown keys are refused by name."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; a prompt version has: {', '.join(FIELDS)}")
    template = Template.create(data.get("template"), data.get("messages"), format=data.get("format"),
                               variables=data.get("variables"))
    _check_type(data, "model", str)
    _check_type(data, "params", dict)
    _check_type(data, "message", str)
    _check_type(data, "author", str)
    examples = data.get("examples")
    if examples is not None and not (isinstance(examples, list) and all(isinstance(e, dict) for e in examples)):
        raise InvalidInput('examples must be a list of objects like {"input": "...", "output": "..."}')
    return {**template.to_dict(), "model": data.get("model"), "params": data.get("params") or {},
            "examples": examples or [], "message": data.get("message") or "", "author": data.get("author")}


def _check_type(data: Mapping[str, Any], key: str, kind: type) -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise InvalidInput(f"{key} must be a {'string' if kind is str else 'mapping'}; got {type(value).__name__}")


def push(engine: Engine, project: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Store `data` as the next version of prompt `data["name"]`; returns the stored version."""
    name = check_name(data.get("name"))
    return store.push_version(engine, project, name, version_fields(data))


def get(engine: Engine, project: str, name: str, *, label: str | None = None,
        version: int | None = None) -> dict[str, Any]:
    """One version: by number, by label, or the newest when neither (or `label="latest"`)."""
    if label is not None and version is not None:
        raise InvalidInput("ask for a label or a version, not both")
    return store.get_version(engine, project, name, version=version, label=None if label == LATEST else label)


def template_of(version: Mapping[str, Any]) -> Template:
    """The `Template` of a stored (or fetched) version."""
    return Template.from_dict(version)


def move_label(engine: Engine, project: str, name: str, label: str, version: int, *,
               author: str | None = None, reason: str = "") -> dict[str, Any]:
    """Point `label` at `version`; the move (who, when, from, to) is in the audit log."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInput(f"version must be a positive whole number; got {version!r}")
    return store.move_label(engine, project, name, check_label(label), version, author=author, reason=reason)


def rollback(engine: Engine, project: str, name: str, label: str = "production", *,
             author: str | None = None) -> dict[str, Any]:
    """Move `label` back to where it pointed before its last move."""
    last = next((m for m in store.label_moves(engine, project, name) if m["label"] == label), None)
    if last is None or last["from_version"] is None:
        raise InvalidInput(f"label {label!r} of prompt {name!r} has no earlier version to roll back to; "
                           "move it to a version explicitly instead")
    return move_label(engine, project, name, label, last["from_version"], author=author,
                      reason=f"rollback from version {last['to_version']}")


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A unified diff of the two templates as text, and the other fields that changed."""
    a, b = template_of(old).as_text() + "\n", template_of(new).as_text() + "\n"
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile=f"{old['name']} v{old['version']}", tofile=f"{new['name']} v{new['version']}")
    changed = [{"field": f, "from": old.get(f), "to": new.get(f)} for f in DIFF_FIELDS
               if _canonical(old.get(f)) != _canonical(new.get(f))]
    return {"name": old["name"], "from_version": old["version"], "to_version": new["version"],
            "template_diff": "".join(lines), "fields": changed}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def diff(engine: Engine, project: str, name: str, from_version: int, to_version: int) -> dict[str, Any]:
    return diff_versions(get(engine, project, name, version=from_version), get(engine, project, name, version=to_version))


list_prompts = store.list_prompts
list_versions = store.list_versions
audit_log = store.label_moves
