"""A scripted OpenAI-compatible server: deterministic answers over real HTTP, no model weights.

Tests of tenbin's LLM layer, the OpenInference instrumentation tests and `make demo` need an LLM
that answers the same way every run and costs nothing. This app speaks the OpenAI wire format
(`/v1/chat/completions` with streaming and JSON mode, `/v1/models`, `/v1/embeddings`), so the real
`openai` client and its instrumentors work against it unchanged. A *script* decides the answer:
a function from the request's messages (as dicts) to the answer text.

Token counts use a simple tokenizer (runs of word characters, and each punctuation mark, are one
token): prompt tokens are the tokens of every message's text, completion tokens those of the answer.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from tenbin.loopback import LoopbackServer

Script = Callable[[list[dict[str, Any]]], str]
DEFAULT_MODEL = "scripted-1"
DEFAULT_EMBEDDING_MODEL = "scripted-embed-1"
EMBEDDING_DIM = 64
_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\S+\s*|\s+")
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("refund", "money back"), "To get a refund, open Billing → Refunds and pick the order."),
    (("password", "log in", "login"), "Reset your password with 'Forgot password' on the sign-in page."),
    (("price", "pricing", "cost"), "The Team plan costs 20 dollars per user per month."),
    (("hello", "hi", "hey"), "Hello! How can I help you today?"),
)
_HINTS = {
    "/v1/chat/completions": 'send JSON like {"model": "%s", "messages": [{"role": "user", "content": "Hi"}]}',
    "/v1/embeddings": 'send JSON like {"model": "%s", "input": "some text"} (input: a string or a list of strings)',
}


def count_tokens(text: str) -> int:
    """Tokens of `text` under the scripted tokenizer: word runs and single punctuation marks."""
    return len(_TOKEN.findall(text))


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of `{"type": "text"}` parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def default_script(messages: list[dict[str, Any]]) -> str:
    """Answer the last user message by keyword rules, falling back to an echo of the question."""
    question = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    lowered = question.lower()
    for keywords, answer in _RULES:
        if any(re.search(rf"\b{re.escape(k)}\b", lowered) for k in keywords):
            return answer
    return f"I have no scripted answer for: {question.strip() or '(no user message)'}"


def embed(text: str) -> list[float]:
    """A deterministic unit vector: hashed, signed bag of lower-cased tokens in EMBEDDING_DIM bins."""
    vector = [0.0] * EMBEDDING_DIM
    for token in _TOKEN.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        vector[h % EMBEDDING_DIM] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class _ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text", "json_object", "json_schema"]


class _StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields of a chat completion request this server reads; others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[_Message] = Field(min_length=1)
    stream: bool = False
    stream_options: _StreamOptions | None = None
    response_format: _ResponseFormat | None = None


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"


def error_response(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape, so clients raise their usual typed exceptions."""
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def _as_json_object(answer: str) -> str:
    """JSON mode: a script answer that is already a JSON object passes; anything else is wrapped."""
    try:
        if isinstance(json.loads(answer), dict):
            return answer
    except json.JSONDecodeError:
        pass
    return json.dumps({"answer": answer})


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


def _chunks(base: dict[str, Any], answer: str, usage: dict[str, int], with_usage: bool) -> Iterator[str]:
    """The answer as SSE chunks: role, word pieces, finish reason, optional usage, then [DONE]."""
    extra: dict[str, Any] = {"usage": None} if with_usage else {}
    deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in _PIECE.findall(answer)]
    for delta in deltas:
        yield _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra})
    yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **extra})
    if with_usage:
        yield _sse({**base, "choices": [], "usage": usage})
    yield "data: [DONE]\n\n"


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


class _Scripted:
    """The endpoints' logic for one app: which models it serves, how it answers, what it received."""

    def __init__(self, script: Script | None, model: str, embedding_model: str) -> None:
        self.answer_for = script or default_script
        self.model = model
        self.embedding_model = embedding_model
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def bad_request(self, path: str, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 becomes OpenAI's 400, naming the bad field and showing a valid body."""
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"] if p != "body") or None
        message = first["msg"]
        if first["type"] == "json_invalid":
            param, message = None, f"not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
        served = self.embedding_model if path == "/v1/embeddings" else self.model
        hint = _HINTS.get(path, "see the OpenAI API reference for model %s") % served
        code = "missing_required_parameter" if first["type"] == "missing" else "invalid_value"
        return error_response(400, f"{param or 'body'}: {message}; {hint}", code, param)

    @staticmethod
    def unknown_model(requested: str, served: str) -> JSONResponse:
        message = f"The model {requested!r} does not exist here; this scripted server serves {served!r}."
        return error_response(404, message, "model_not_found", "model")

    def models(self) -> dict[str, Any]:
        card = {"object": "model", "created": 0, "owned_by": "tenbin"}
        data = [{"id": m, **card} for m in (self.model, self.embedding_model)]
        return {"object": "list", "data": data}

    def chat(self, req: ChatRequest) -> dict[str, Any] | JSONResponse | StreamingResponse:
        if req.model != self.model:
            return self.unknown_model(req.model, self.model)
        self.requests.append(req.model_dump(exclude_none=True))
        messages = [m.model_dump(exclude_none=True) for m in req.messages]
        answer = self.answer_for(messages)
        if req.response_format and req.response_format.type != "text":
            answer = _as_json_object(answer)
        usage = _usage(sum(count_tokens(message_text(m)) for m in messages), count_tokens(answer))
        base = {"id": f"chatcmpl-scripted-{next(self._ids)}", "created": int(time.time()), "model": self.model}
        if req.stream:
            with_usage = bool(req.stream_options and req.stream_options.include_usage)
            chunks = _chunks({**base, "object": "chat.completion.chunk"}, answer, usage, with_usage)
            return StreamingResponse(chunks, media_type="text/event-stream")
        choice = {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
        return {**base, "object": "chat.completion", "choices": [{**choice, "logprobs": None}], "usage": usage}

    def embeddings(self, req: EmbeddingRequest) -> dict[str, Any] | JSONResponse:
        if req.model != self.embedding_model:
            return self.unknown_model(req.model, self.embedding_model)
        texts = [req.input] if isinstance(req.input, str) else req.input
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(embed(t), req.encoding_format)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(count_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": self.embedding_model, "usage": usage}


def create_scripted_app(
    script: Script | None = None,
    model: str = DEFAULT_MODEL,
    *,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
) -> FastAPI:
    """The OpenAI-compatible app; `app.state.requests` keeps every valid chat request body, in order."""
    scripted = _Scripted(script, model, embedding_model)
    app = FastAPI(title="tenbin scripted LLM")
    app.state.requests = scripted.requests

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return scripted.bad_request(request.url.path, exc)

    app.get("/v1/models")(scripted.models)
    app.post("/v1/chat/completions", response_model=None)(scripted.chat)
    app.post("/v1/embeddings", response_model=None)(scripted.embeddings)
    return app


class ScriptedLLM(LoopbackServer):
    """The scripted server on a loopback port; point an OpenAI client at `.base_url` (ends in /v1)."""

    def __init__(
        self,
        script: Script | None = None,
        model: str = DEFAULT_MODEL,
        *,
        embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    ) -> None:
        super().__init__(create_scripted_app(script, model, embedding_model=embedding_model))
        self.model = model
        self.embedding_model = embedding_model
        self.base_url = f"{self.url}/v1"

    def __enter__(self) -> "ScriptedLLM":
        super().__enter__()
        return self

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every valid chat request body the server received, oldest first."""
        return list(self.app.state.requests)
