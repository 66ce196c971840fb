"""tenbin: traces, feedback, evals, prompt management and embedding analytics for LLM apps.

    import tenbin
    tenbin.init("http://127.0.0.1:6206", project="shop")

    @tenbin.trace(kind="llm")
    def answer(question: str) -> str: ...
"""

from tenbin.client import Client
from tenbin.sdk.context import metadata, session, tags
from tenbin.sdk.feedback import feedback
from tenbin.sdk.handle import SpanHandle, current_span_id, current_trace_id, span
from tenbin.sdk.llm import record_llm
from tenbin.sdk.prompts import Prompt, get_prompt
from tenbin.sdk.setup import flush, init, shutdown
from tenbin.sdk.tracing import trace

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Prompt",
    "SpanHandle",
    "current_span_id",
    "current_trace_id",
    "feedback",
    "flush",
    "get_prompt",
    "init",
    "metadata",
    "record_llm",
    "session",
    "shutdown",
    "span",
    "tags",
    "trace",
]
