"""tenbin.init(): one private TracerProvider → BatchSpanProcessor → OTLP/HTTP exporter to the server.

The provider is private so tenbin never takes over an app's own OpenTelemetry set-up (opt in with
`set_global=True`). Until `init` runs with an endpoint, `STATE.tracer` is None and every decorator
is a plain call: the SDK costs nothing in an app that has no tenbin server.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from tenbin import config
from tenbin import semconv as sc
from tenbin.sdk.context import ScopeProcessor
from tenbin.sdk.feedback import PendingFeedback
from tenbin.sdk.state import STATE
from tenbin.sdk.values import DEFAULT_MAX_CHARS

EVALS_PROJECT = "tenbin-evals"
"""Where tenbin's own judge calls are traced, from an app (`evals_tracer`) or the server (`evals.tracing`)."""

log = logging.getLogger("tenbin.sdk")


_LOCK = threading.Lock()


def init(
    endpoint: str | None = None,
    project: str | None = None,
    api_key: str | None = None,
    *,
    timeout: float = 10.0,
    max_value_chars: int = DEFAULT_MAX_CHARS,
    set_global: bool = False,
    exporter: SpanExporter | None = None,
) -> bool:
    """Start sending spans to `{endpoint}/v1/traces`; returns False (and stays off) without an endpoint.

    Arguments fall back to TENBIN_ENDPOINT, TENBIN_PROJECT and TENBIN_API_KEY. Calling `init` again
    flushes and replaces the previous set-up. `exporter` replaces the OTLP exporter (benchmarks).
    """
    base = config.ENDPOINT.get(endpoint).rstrip("/")
    key = config.API_KEY.get(api_key)
    name = config.PROJECT.get(project) or "default"
    with _LOCK:
        _close()
        if not base and exporter is None:
            log.info("tenbin: no endpoint (argument or TENBIN_ENDPOINT); tracing is off")
            return False
        provider = TracerProvider(resource=Resource.create({sc.PROJECT_NAME: name}))
        batch = BatchSpanProcessor(exporter or _otlp_exporter(base, key, timeout))
        pending = PendingFeedback()
        for processor in (batch, ScopeProcessor(), pending):
            provider.add_span_processor(processor)
        if set_global:
            trace_api.set_tracer_provider(provider)
        STATE.provider, STATE.batch, STATE.pending = provider, batch, pending
        STATE.tracer = provider.get_tracer("tenbin")
        STATE.endpoint, STATE.project, STATE.api_key = base, name, key
        STATE.timeout, STATE.max_chars = timeout, max_value_chars
        return True


def _otlp_exporter(base: str, api_key: str, timeout: float) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    return OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers, timeout=timeout)


def evals_tracer() -> Tracer | None:
    """A tracer for tenbin's own judge calls made in this process (`tenbin.evals.evaluate`, function-task
    experiments): they go to the server's `tenbin-evals` project, never the app's. None while tenbin is off.
    Built on first use, since most apps never judge; `init` and `shutdown` close it with the app's."""
    with _LOCK:
        if STATE.tracer is None or not STATE.endpoint:
            return None
        if STATE.evals_provider is None:
            provider = TracerProvider(resource=Resource.create({sc.PROJECT_NAME: EVALS_PROJECT}))
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(STATE.endpoint, STATE.api_key, STATE.timeout)))
            STATE.evals_provider = provider
        return STATE.evals_provider.get_tracer("tenbin.evals")


def flush(timeout_s: float | None = None) -> bool:
    """Export every finished span now; True when that finished in time.

    A server that is down is not an error here: OpenTelemetry logs the failed export and drops it.
    """
    providers = [p for p in (STATE.provider, STATE.evals_provider) if p is not None]
    millis = int(1000 * (timeout_s if timeout_s is not None else STATE.timeout * 3))
    try:
        return all([p.force_flush(millis) for p in providers])
    except Exception:  # noqa: BLE001 - flushing must never break the app
        log.debug("tenbin: flush failed", exc_info=True)
        return False


def shutdown() -> None:
    """Flush and stop; afterwards tenbin is off until the next `init`."""
    with _LOCK:
        _close()


def _close() -> None:
    providers = [p for p in (STATE.provider, STATE.evals_provider) if p is not None]
    STATE.tracer = STATE.provider = STATE.batch = STATE.pending = STATE.evals_provider = None
    for provider in providers:
        try:
            provider.shutdown()
        except Exception:  # noqa: BLE001
            log.debug("tenbin: shutdown failed", exc_info=True)
