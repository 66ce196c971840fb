"""`@tenbin.trace`: one span per call of a sync or async function, generator or async generator.

When tenbin is off (`STATE.tracer is None`) a call costs one attribute read more than the bare
function. The span is made current while the function runs, so decorated functions called inside
become its children, as do spans of any other OpenTelemetry instrumentation.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry.trace import set_span_in_context

from tenbin.sdk import calls
from tenbin.sdk.state import STATE
from tenbin.sdk.streams import wrap_async_generator, wrap_generator

F = TypeVar("F", bound=Callable[..., Any])


@overload
def trace(fn: F) -> F: ...
@overload
def trace(
    fn: None = None,
    *,
    kind: str = "chain",
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | tuple[str, ...] = (),
) -> Callable[[F], F]: ...


def trace(
    fn: F | None = None,
    *,
    kind: str = "chain",
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | tuple[str, ...] = (),
) -> F | Callable[[F], F]:
    """Trace each call: inputs, output (or exception, re-raised unchanged), nesting.

    Usable bare (`@tenbin.trace`) or with arguments (`@tenbin.trace(kind="tool")`). `kind` is an
    OpenInference span kind (chain, llm, tool, retriever, agent, embedding, reranker, ...); an
    unknown kind is a ValueError at decoration time.
    """

    def decorate(func: F) -> F:
        spec = calls.CallSpec(func, kind, name, metadata, tuple(tags))
        if inspect.isasyncgenfunction(func):
            return wrap_async_generator(func, spec)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):
            return wrap_generator(func, spec)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):
            return _wrap_async(func, spec)  # type: ignore[return-value]
        return _wrap_sync(func, spec)  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def _begin(spec: calls.CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, object] | None:
    """The started span and the context token of this call, or None to run it untraced."""
    tracer = STATE.tracer
    if tracer is None:
        return None
    span = calls.start(tracer, spec, args, kwargs, STATE.max_chars)
    if span is None:
        return None
    return span, context_api.attach(set_span_in_context(span))


def _wrap_sync(fn: Callable[..., Any], spec: calls.CallSpec) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        begun = _begin(spec, args, kwargs)
        if begun is None:
            return fn(*args, **kwargs)
        span, token = begun
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            calls.fail(span, exc)
            raise
        finally:
            context_api.detach(token)
        calls.finish(span, spec.kind, result, STATE.max_chars)
        return result

    return wrapper


def _wrap_async(fn: Callable[..., Any], spec: calls.CallSpec) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        begun = _begin(spec, args, kwargs)
        if begun is None:
            return await fn(*args, **kwargs)
        span, token = begun
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            calls.fail(span, exc)
            raise
        finally:
            context_api.detach(token)
        calls.finish(span, spec.kind, result, STATE.max_chars)
        return result

    return wrapper
