"""SDK overhead: a `@tenbin.trace` call vs a bare opentelemetry-sdk span, measured in the same run.

Both paths use a BatchSpanProcessor in front of the same exporter that discards, so the numbers
are the per-call cost in the app's thread (what users feel), not network time. The traced
function takes two arguments and returns a dict, so tenbin captures input and output as JSON;
the bare span records nothing, and a third path records the same attributes with plain OTel by
hand. Rounds alternate between the paths and the median round counts.

    .venv/bin/python benchmarks/bench_sdk.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tenbin

CALLS = 20_000
ROUNDS = 7
TARGET = 1.2


class DropExporter(SpanExporter):
    """Discards spans: the benchmark measures the app side only."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def work(question: str, k: int) -> dict[str, object]:
    return {"answer": question, "k": k}


def bare_otel() -> Callable[[], None]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    tracer = provider.get_tracer("bench")

    def loop() -> None:
        for _ in range(CALLS):
            with tracer.start_as_current_span("work"):
                work("How do I get a refund?", 3)

    return loop


def by_hand() -> Callable[[], None]:
    """What an app would write to record the same data with plain OpenTelemetry."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    tracer = provider.get_tracer("bench")

    def loop() -> None:
        for _ in range(CALLS):
            question, k = "How do I get a refund?", 3
            attrs = {"openinference.span.kind": "CHAIN", "input.value": json.dumps({"question": question, "k": k}),
                     "input.mime_type": "application/json"}
            with tracer.start_as_current_span("work", attributes=attrs) as span:
                result = work(question, k)
                span.set_attributes({"output.value": json.dumps(result), "output.mime_type": "application/json"})

    return loop


def traced() -> Callable[[], None]:
    tenbin.init(exporter=DropExporter())
    fn = tenbin.trace(work)

    def loop() -> None:
        for _ in range(CALLS):
            fn("How do I get a refund?", 3)

    return loop


def untraced() -> Callable[[], None]:
    tenbin.shutdown()
    fn = tenbin.trace(work)

    def loop() -> None:
        for _ in range(CALLS):
            fn("How do I get a refund?", 3)

    return loop


def ns_per_call(loop: Callable[[], None]) -> float:
    start = time.perf_counter_ns()
    loop()
    return (time.perf_counter_ns() - start) / CALLS


def main() -> None:
    bare, hand, ours = bare_otel(), by_hand(), traced()
    bare(), hand(), ours()  # warm up
    bare_ns, hand_ns, ours_ns = [], [], []
    for _ in range(ROUNDS):
        bare_ns.append(ns_per_call(bare))
        hand_ns.append(ns_per_call(hand))
        ours_ns.append(ns_per_call(ours))
    off = untraced()
    plain_ns = statistics.median(ns_per_call(lambda: [work("How do I get a refund?", 3) for _ in range(CALLS)])
                                 for _ in range(3))
    off_ns = statistics.median(ns_per_call(off) for _ in range(3))
    b, h, o = (statistics.median(x) for x in (bare_ns, hand_ns, ours_ns))
    print(f"calls/round={CALLS} rounds={ROUNDS} (median round)")
    print(f"bare otel span, no attributes:           {b:8.0f} ns/call")
    print(f"otel span + same attributes by hand:     {h:8.0f} ns/call")
    print(f"@tenbin.trace (input+output captured):   {o:8.0f} ns/call")
    print(f"ratio tenbin/bare: {o / b:.2f}x (target <= {TARGET}x) {'OK' if o / b <= TARGET else 'OVER'}")
    print(f"ratio tenbin/by-hand: {o / h:.2f}x")
    print(f"tenbin off (no init): {off_ns:.0f} ns/call vs plain function {plain_ns:.0f} ns/call")


if __name__ == "__main__":
    main()
