"""The span attribute names tenbin reads, taken from openinference-semantic-conventions.

tenbin adds three of its own where OpenInference has no name: the prompt template's *name*, the
conversation step, and the prompt's registry id falls back to OpenInference's `prompt.id`.
"""

from __future__ import annotations

from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import (
    DocumentAttributes,
    MessageAttributes,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)

PROJECT_NAME = ResourceAttributes.PROJECT_NAME
SPAN_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
INPUT_VALUE = SpanAttributes.INPUT_VALUE
INPUT_MIME_TYPE = SpanAttributes.INPUT_MIME_TYPE
OUTPUT_VALUE = SpanAttributes.OUTPUT_VALUE
OUTPUT_MIME_TYPE = SpanAttributes.OUTPUT_MIME_TYPE
LLM_MODEL_NAME = SpanAttributes.LLM_MODEL_NAME
LLM_PROVIDER = SpanAttributes.LLM_PROVIDER
LLM_INPUT_MESSAGES = SpanAttributes.LLM_INPUT_MESSAGES
LLM_OUTPUT_MESSAGES = SpanAttributes.LLM_OUTPUT_MESSAGES
LLM_INVOCATION_PARAMETERS = SpanAttributes.LLM_INVOCATION_PARAMETERS
LLM_TOKEN_COUNT_PROMPT = SpanAttributes.LLM_TOKEN_COUNT_PROMPT
LLM_TOKEN_COUNT_COMPLETION = SpanAttributes.LLM_TOKEN_COUNT_COMPLETION
LLM_TOKEN_COUNT_TOTAL = SpanAttributes.LLM_TOKEN_COUNT_TOTAL
LLM_COST_TOTAL = SpanAttributes.LLM_COST_TOTAL
PROMPT_TEMPLATE = SpanAttributes.LLM_PROMPT_TEMPLATE
PROMPT_TEMPLATE_VARIABLES = SpanAttributes.LLM_PROMPT_TEMPLATE_VARIABLES
PROMPT_TEMPLATE_VERSION = SpanAttributes.LLM_PROMPT_TEMPLATE_VERSION
PROMPT_TEMPLATE_NAME = "llm.prompt_template.name"
PROMPT_ID = SpanAttributes.PROMPT_ID
SESSION_ID = SpanAttributes.SESSION_ID
SESSION_STEP = "session.step"
USER_ID = SpanAttributes.USER_ID
METADATA = SpanAttributes.METADATA
TAG_TAGS = SpanAttributes.TAG_TAGS
RETRIEVAL_DOCUMENTS = SpanAttributes.RETRIEVAL_DOCUMENTS
TOOL_NAME = SpanAttributes.TOOL_NAME
TOOL_PARAMETERS = SpanAttributes.TOOL_PARAMETERS

MESSAGE_ROLE = MessageAttributes.MESSAGE_ROLE
MESSAGE_CONTENT = MessageAttributes.MESSAGE_CONTENT
MESSAGE_TOOL_CALLS = MessageAttributes.MESSAGE_TOOL_CALLS
DOCUMENT_CONTENT = DocumentAttributes.DOCUMENT_CONTENT
DOCUMENT_SCORE = DocumentAttributes.DOCUMENT_SCORE
DOCUMENT_ID = DocumentAttributes.DOCUMENT_ID
TOOL_CALL_FUNCTION_NAME = ToolCallAttributes.TOOL_CALL_FUNCTION_NAME

SPAN_KINDS: tuple[str, ...] = tuple(k.value for k in OpenInferenceSpanKindValues)
"""Every OpenInference span kind; spans without one are stored as UNKNOWN."""

LIST_PREFIXES: tuple[str, ...] = (LLM_INPUT_MESSAGES, LLM_OUTPUT_MESSAGES, RETRIEVAL_DOCUMENTS)
"""Flattened-list attributes (`llm.input_messages.0.message.role`) rebuilt as lists of dicts."""
