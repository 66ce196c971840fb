"""The tenbin SDK, which runs inside the user's app: set-up, decorators, context, LLM calls, feedback.

Everything here builds on opentelemetry-sdk (TracerProvider → BatchSpanProcessor → OTLP/HTTP
exporter): the app's hot path only enqueues finished spans, and tenbin never raises into it.
The public names are re-exported by `tenbin/__init__.py`.
"""
