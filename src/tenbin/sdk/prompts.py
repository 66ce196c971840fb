"""`tenbin.get_prompt`: a registry prompt, cache-first, so a down server never breaks the app.

A fetched prompt is served from memory for `cache_ttl` seconds; after that the stale copy is still
returned at once while one background thread refreshes it. A pinned `version` never changes, so
it is never refetched. With nothing cached and the server unreachable (or the prompt unknown), the
explicit `fallback` (template text or a `Prompt`) is used; without one the error says to add it.

`Prompt.render(**vars)` puts the prompt's name, version, template and variables on the current
span, and on the LLM span that the call then starts (`ScopeProcessor` asks `stamp_prompt`): the
LLM spans started while the span that was current at render time is still open, or, rendered
outside any span, the next LLM span in the same context.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import Span

from tenbin import config
from tenbin import semconv as sc
from tenbin.client import Client
from tenbin.errors import InvalidInput, TenbinError
from tenbin.prompts.templates import Template
from tenbin.sdk.llm import llm_attributes
from tenbin.sdk.state import STATE

log = logging.getLogger("tenbin.sdk")
DEFAULT_TTL = 60.0
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Prompt:
    """One prompt version; `source` is `server`, or `fallback` when the app's own text stood in."""

    name: str
    template: Template
    version: int | None = None
    label: str | None = None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    examples: tuple[Mapping[str, Any], ...] = ()
    source: str = "server"

    @classmethod
    def from_version(cls, data: Mapping[str, Any], label: str | None = None) -> Prompt:
        return cls(data["name"], Template.from_dict(data), data["version"], label, data.get("model"),
                   data.get("params") or {}, tuple(data.get("examples") or ()))

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    def render(self, **variables: Any) -> str | list[dict[str, str]]:
        """Text or chat messages; the prompt's identity goes on the current and the next LLM span."""
        rendered = self.template.render(**variables)
        try:
            _remember(self, variables)
        except Exception:  # noqa: BLE001 - tracing must never break the app
            log.debug("tenbin: could not record the prompt on the span", exc_info=True)
        return rendered


@dataclass
class _Stamp:
    attributes: dict[str, Any]
    owner: Any
    used: bool = False


_ACTIVE: ContextVar[_Stamp | None] = ContextVar("tenbin_prompt", default=None)


def _remember(prompt: Prompt, variables: Mapping[str, Any]) -> None:
    attrs = llm_attributes(prompt_template=prompt.template.as_text(), prompt_template_name=prompt.name,
                           prompt_template_version=prompt.version, prompt_variables=dict(variables),
                           max_chars=STATE.max_chars)
    span = trace_api.get_current_span()
    recording = span.is_recording()
    if recording:
        span.set_attributes(attrs)
    _ACTIVE.set(_Stamp(attrs, span if recording else None))


def stamp_prompt(span: Span) -> None:
    """Called as each span starts: an LLM span gets the prompt rendered just before it."""
    stamp = _ACTIVE.get()
    if stamp is None or (span.attributes or {}).get(sc.SPAN_KIND) != "LLM":
        return
    if (stamp.owner is not None and not stamp.owner.is_recording()) or (stamp.owner is None and stamp.used):
        return
    stamp.used = True
    try:
        span.set_attributes(stamp.attributes)
    except Exception:  # noqa: BLE001 - tracing must never break the app
        log.debug("tenbin: could not stamp the prompt on a span", exc_info=True)


@dataclass
class _Entry:
    prompt: Prompt
    fetched: float
    refreshing: bool = False


_CACHE: dict[tuple[Any, ...], _Entry] = {}
_LOCK = threading.Lock()


def get_prompt(name: str, label: str | None = None, version: int | None = None, *,
               fallback: str | Prompt | None = None, cache_ttl: float = DEFAULT_TTL,
               project: str | None = None, timeout: float = DEFAULT_TIMEOUT, unit: str | None = None) -> Prompt:
    """The prompt `name` by label (default `production`) or pinned `version`, from the cache first.

    With `unit` (a user or session id) the server decides: the unit's sticky arm while an A/B
    experiment runs on the prompt (its exposure is logged), else production; cached per unit.

    Endpoint, project and API key come from `tenbin.init` or TENBIN_ENDPOINT / TENBIN_PROJECT /
    TENBIN_API_KEY.
    """
    if label is not None and version is not None:
        raise InvalidInput("get_prompt takes a label or a version, not both")
    if unit is not None and (label is not None or version is not None):
        raise InvalidInput("get_prompt takes a unit (the server picks the version) or a label/version, not both")
    label = None if version is not None or unit is not None else (label or "production")
    where = _where(project, timeout)
    key = (*where, name, label, version, unit)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and (version is None and time.monotonic() - entry.fetched >= cache_ttl):
            if not entry.refreshing:
                entry.refreshing = True
                threading.Thread(target=_refresh, args=(key, where), daemon=True, name="tenbin-prompt").start()
    if entry is not None:
        return entry.prompt
    try:
        prompt = _fetch(where, name, label, version, unit)
    except (TenbinError, httpx.HTTPError) as exc:
        return _fall_back(name, fallback, where[0], exc)
    with _LOCK:
        _CACHE[key] = _Entry(prompt, time.monotonic())
    return prompt


def _where(project: str | None, timeout: float) -> tuple[str, str, str, float]:
    endpoint = (STATE.endpoint if STATE.provider is not None else "") or config.ENDPOINT.get()
    name = project or STATE.project or config.PROJECT.get() or "default"
    return endpoint.rstrip("/"), name, STATE.api_key or config.API_KEY.get(), timeout


def _fetch(where: tuple[str, str, str, float], name: str, label: str | None, version: int | None,
           unit: str | None = None) -> Prompt:
    endpoint, project, api_key, timeout = where
    if not endpoint:
        raise InvalidInput("no tenbin server configured: call tenbin.init(endpoint) or set TENBIN_ENDPOINT")
    with Client(endpoint, api_key or None, timeout=timeout) as client:
        if unit is not None:
            return Prompt.from_version(client.assign_prompt(name, unit, project))
        return Prompt.from_version(client.prompt(name, project, label=label, version=version), label)


def _refresh(key: tuple[Any, ...], where: tuple[str, str, str, float]) -> None:
    """Replace a stale entry; on failure keep serving it (and try again after the next TTL)."""
    name, label, version, unit = key[-4:]
    try:
        prompt = _fetch(where, name, label, version, unit)
    except Exception as exc:  # noqa: BLE001 - a background refresh must never raise into the app
        log.warning("tenbin: could not refresh prompt %r (%s); serving the cached version", name, exc)
        prompt = None
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE[key] = _Entry(prompt or entry.prompt, time.monotonic())


def _fall_back(name: str, fallback: str | Prompt | None, endpoint: str, exc: Exception) -> Prompt:
    if fallback is None:
        if isinstance(exc, TenbinError):
            raise exc
        raise TenbinError(f"cannot fetch prompt {name!r} from {endpoint or 'any server'} ({exc}) and nothing is "
                          "cached; pass fallback='<template text>' so the app keeps working while the server is down") from exc
    log.warning("tenbin: using the fallback for prompt %r: %s", name, exc)
    if isinstance(fallback, Prompt):
        return fallback
    return Prompt(name, Template.create(fallback), source="fallback")


def clear_cache() -> None:
    """Forget every cached prompt (tests, or after changing server)."""
    with _LOCK:
        _CACHE.clear()
