"""Judge calls are traced into their own project (`tenbin-evals`), never the evaluated project.

The server runs judges in-process, so their spans skip HTTP: a dedicated TracerProvider batches them
(BatchSpanProcessor, as for any app) and `StoreExporter` encodes each batch as the OTLP request an
app would send, decodes it with the same `decode.to_rows` and hands the rows to the server's ingest
queue. The runner makes this provider current with `tenbin.sdk.routing.routed`, which also keeps
the calls out of any project the process itself traces into.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tenbin import semconv as sc
from tenbin.decode import to_rows
from tenbin.ingest import Ingestor
from tenbin.sdk.setup import EVALS_PROJECT

__all__ = ["EVALS_PROJECT", "JudgeTracing", "StoreExporter"]
log = logging.getLogger("tenbin.evals")


class StoreExporter(SpanExporter):
    """Spans → OTLP protobuf → row dicts → the ingest queue; returns once the rows are committed."""

    def __init__(self, ingestor: Ingestor, timeout_s: float = 30.0) -> None:
        self.ingestor, self.timeout_s = ingestor, timeout_s

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            rows = to_rows(encode_spans(spans)).rows
            if rows:
                self.ingestor.submit_nowait(rows).result(self.timeout_s)
        except Exception:  # noqa: BLE001 - losing a judge span must never fail the evaluation
            log.warning("tenbin: could not store %d judge spans", len(spans), exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class JudgeTracing:
    """A TracerProvider whose spans land in `project` through `exporter`. Callers `flush` after each
    run, so no span waits in the batch queue for a server that may be gone (hence no exit hook)."""

    def __init__(self, exporter: SpanExporter, project: str = EVALS_PROJECT) -> None:
        self.provider = TracerProvider(resource=Resource.create({sc.PROJECT_NAME: project}), shutdown_on_exit=False)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: Tracer = self.provider.get_tracer("tenbin.evals")
        self.project = project

    def flush(self, timeout_s: float = 30.0) -> bool:
        return self.provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()
