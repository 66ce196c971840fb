"""The SDK side of online eval rules, over REST (the rules run in the server, on its model).

    ev.create_online_rule("answers", ["json_valid", "answer_relevance"], project="shop",
                          filter='kind == "LLM"', sampling_rate=0.1, max_per_minute=30)
    ev.list_online_rules("shop")              # each with backlog, evaluated, state, last_error, next_attempt
    ev.enable_online_rule("answers", False, project="shop")
    ev.run_online_rules("shop")               # one pass now, ignoring back-off
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from tenbin.evals import registry
from tenbin.evals.sdk_datasets import _call


def _path(project: str, name: str | None = None) -> str:
    base = f"/projects/{quote(project, safe='')}/online-evals"
    return base if name is None else f"{base}/{quote(name, safe='')}"


def create_online_rule(name: str, evaluators: Sequence[registry.Spec], *, project: str = "default", filter: str = "",
                       sampling_rate: float = 1.0, max_per_minute: int | None = None, enabled: bool = True,
                       backfill: bool = False, endpoint: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """A rule scoring spans that start from now on (`backfill`: the stored ones too); checked first."""
    body = {"name": name, "evaluators": list(evaluators), "filter": filter, "sampling_rate": sampling_rate,
            "max_per_minute": max_per_minute, "enabled": enabled, "backfill": backfill}
    return _call("POST", _path(project), endpoint, api_key, json=body)


def list_online_rules(project: str = "default", *, endpoint: str | None = None,
                      api_key: str | None = None) -> list[dict[str, Any]]:
    return _call("GET", _path(project), endpoint, api_key)


def get_online_rule(name: str, *, project: str = "default", endpoint: str | None = None,
                    api_key: str | None = None) -> dict[str, Any]:
    return _call("GET", _path(project, name), endpoint, api_key)


def update_online_rule(name: str, *, project: str = "default", endpoint: str | None = None,
                       api_key: str | None = None, **changes: Any) -> dict[str, Any]:
    """Change filter, sampling_rate, evaluators, max_per_minute (None: no limit) or enabled."""
    return _call("PATCH", _path(project, name), endpoint, api_key, json=changes)


def enable_online_rule(name: str, enabled: bool = True, *, project: str = "default", endpoint: str | None = None,
                       api_key: str | None = None) -> dict[str, Any]:
    return update_online_rule(name, project=project, endpoint=endpoint, api_key=api_key, enabled=enabled)


def delete_online_rule(name: str, *, project: str = "default", endpoint: str | None = None,
                       api_key: str | None = None) -> dict[str, Any]:
    return _call("DELETE", _path(project, name), endpoint, api_key)


def run_online_rules(project: str = "default", rule: str | None = None, *, endpoint: str | None = None,
                     api_key: str | None = None) -> list[dict[str, Any]]:
    """One pass now (every enabled rule, or `rule` even if disabled): per rule its outcome and counts."""
    return _call("POST", _path(project) + "/run", endpoint, api_key, json={"rule": rule})
