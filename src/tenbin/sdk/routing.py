"""Send tenbin's own spans (e.g. LLM-judge calls) somewhere other than the app's project.

`tenbin.init` is process-global, so an evaluator running inside a traced app would otherwise record
its judge calls as children of the app's spans, in the app's project. Inside `routed(tracer)`,
`tenbin.span` uses `tracer` instead (None: no span at all), starts new traces rather than joining
the app's current one, and other OpenTelemetry instrumentations (e.g. an OpenAI instrumentor) are
suppressed, so nothing of the block lands in the user's data. The route lives in the OpenTelemetry
context, so it follows the block's thread and whatever copies that context, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context

from tenbin.sdk.state import STATE

_ROUTE = context_api.create_key("tenbin-route")
_NOWHERE = object()
_SUPPRESS = context_api._SUPPRESS_INSTRUMENTATION_KEY  # noqa: SLF001 - the key instrumentations check


@contextmanager
def routed(tracer: Any | None) -> Iterator[None]:
    """In this block, `tenbin.span` traces into `tracer` (None: not at all), in fresh traces."""
    ctx = context_api.set_value(_ROUTE, _NOWHERE if tracer is None else tracer, Context())
    token = context_api.attach(context_api.set_value(_SUPPRESS, True, ctx))
    try:
        yield
    finally:
        context_api.detach(token)


def active_tracer() -> Any | None:
    """The tracer `tenbin.span` uses here: the routed one, else the one `tenbin.init` set up."""
    route = context_api.get_value(_ROUTE)
    if route is None:
        return STATE.tracer
    return None if route is _NOWHERE else route
