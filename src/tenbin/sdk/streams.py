"""Tracing generators and async generators: one span over the whole iteration.

The span starts at the first `next()` and ends when the generator is exhausted, closed or fails.
It is made current only while the generator's own code runs (each step), never across a `yield`:
the consumer's code between items is not inside the span, and an async generator resumed in another
task would otherwise detach a context it never attached. `send()` and `throw()` pass through.
The output is the yielded items (string chunks joined, as when an LLM streams tokens), capped.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.trace import set_span_in_context

from tenbin.sdk import calls
from tenbin.sdk.state import STATE

MAX_ITEMS = 1000
"""Yielded items kept for the span's output; the rest are counted, not stored."""


class Collector:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.dropped = 0

    def add(self, item: Any) -> None:
        if len(self.items) < MAX_ITEMS:
            self.items.append(item)
        else:
            self.dropped += 1

    def output(self) -> Any:
        if self.items and all(isinstance(i, str) for i in self.items):
            return "".join(self.items)
        return self.items + ([f"<{self.dropped} more items>"] if self.dropped else [])


def _open(spec: calls.CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Context | None]:
    tracer = STATE.tracer
    span = None if tracer is None else calls.start(tracer, spec, args, kwargs, STATE.max_chars)
    return span, (None if span is None else set_span_in_context(span))


def _attach(ctx: Context | None) -> object | None:
    return None if ctx is None else context_api.attach(ctx)


def _detach(token: object | None) -> None:
    if token is not None:
        context_api.detach(token)  # type: ignore[arg-type]


def _close(span: Any, spec: calls.CallSpec, items: Collector) -> None:
    if span is not None:
        calls.finish(span, spec.kind, items.output(), STATE.max_chars)


def _error(span: Any, exc: BaseException) -> None:
    if span is not None:
        calls.fail(span, exc)


def wrap_generator(fn: Callable[..., Generator[Any, Any, Any]], spec: calls.CallSpec) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span, ctx = _open(spec, args, kwargs)
        inner, items = fn(*args, **kwargs), Collector()
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = _attach(ctx)
                try:
                    item = inner.send(sent) if thrown is None else inner.throw(thrown)
                except StopIteration as stop:
                    _close(span, spec, items)
                    return stop.value
                finally:
                    _detach(token)
                items.add(item)
                sent, thrown = None, None
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc
        except GeneratorExit:
            inner.close()
            _close(span, spec, items)
            raise
        except BaseException as exc:
            _error(span, exc)
            raise

    return wrapper


def wrap_async_generator(fn: Callable[..., AsyncGenerator[Any, Any]], spec: calls.CallSpec) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span, ctx = _open(spec, args, kwargs)
        inner, items = fn(*args, **kwargs), Collector()
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = _attach(ctx)
                try:
                    item = await (inner.asend(sent) if thrown is None else inner.athrow(thrown))
                except StopAsyncIteration:
                    _close(span, spec, items)
                    return
                finally:
                    _detach(token)
                items.add(item)
                sent, thrown = None, None
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc
        except GeneratorExit:
            await inner.aclose()
            _close(span, spec, items)
            raise
        except BaseException as exc:
            _error(span, exc)
            raise

    return wrapper
