"""What `tenbin.init` set up, shared by the decorators, span handles and feedback.

One module-level object read on every traced call: `STATE.tracer is None` means tenbin is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tenbin.sdk.values import DEFAULT_MAX_CHARS


@dataclass
class State:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None
    batch: BatchSpanProcessor | None = None
    pending: Any = None
    """The `PendingFeedback` processor of this set-up."""
    evals_provider: TracerProvider | None = None
    """Judge calls made in this process go here (project `tenbin-evals`); see `setup.evals_tracer`."""
    endpoint: str = ""
    project: str = ""
    api_key: str = ""
    timeout: float = 10.0
    max_chars: int = DEFAULT_MAX_CHARS


STATE = State()
