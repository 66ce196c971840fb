"""`tenbin.llm.LLM`: the one way tenbin calls an LLM (agents, judges, cluster reports, prompt generation).

It speaks the OpenAI-compatible HTTP API through the `openai` SDK, so the same code runs against
OpenAI, vLLM, Ollama, a llama.cpp server (`tenbin llm serve`) or the scripted test server. It adds
what every caller needs: bounded concurrency, retries with backoff (the SDK's, for transport errors,
429 and 5xx), timeouts, JSON output that tolerates a small model's chatter, token usage, errors that
name TENBIN_LLM_BASE_URL, and an LLM span (with the prompt template's name and version) per call.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import openai

import tenbin
from tenbin import config
from tenbin.errors import InvalidInput, LLMError, LLMOutputError, LLMUnavailable

Message = Mapping[str, Any]


@dataclass(frozen=True)
class PromptInfo:
    """Which template produced the messages: recorded on the LLM span so every call is attributable."""

    name: str | None = None
    version: str | int | None = None
    template: str | None = None
    variables: Mapping[str, Any] | None = None


@dataclass
class ChatResult:
    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float = 0.0
    finish_reason: str | None = None
    raw: Any = field(default=None, repr=False)


def response_format(schema: dict[str, Any], style: str) -> dict[str, Any]:
    """The `response_format` holding `schema` in the form the server takes (see TENBIN_LLM_SCHEMA_STYLE)."""
    if style == "json_object":
        return {"type": "json_object", "schema": schema}
    if style == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
    raise InvalidInput(f"TENBIN_LLM_SCHEMA_STYLE must be json_object or json_schema; got {style!r}")


class LLM:
    """An OpenAI-compatible chat model. Arguments fall back to TENBIN_LLM_* settings."""

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None, *,
                 timeout: float | None = None, max_retries: int = 2, max_concurrency: int = 4) -> None:
        self.base_url = config.LLM_BASE_URL.get(base_url).rstrip("/")
        self.model = config.LLM_MODEL.get(model)
        self.timeout = float(config.LLM_TIMEOUT.get(None if timeout is None else str(timeout)))
        self._client = openai.OpenAI(base_url=self.base_url, api_key=config.LLM_API_KEY.get(api_key) or "none",
                                     timeout=self.timeout, max_retries=max_retries)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.max_concurrency = max_concurrency

    def chat(self, messages: Sequence[Message], *, prompt: PromptInfo | None = None, json_mode: bool = False,
             json_schema: dict[str, Any] | None = None, temperature: float = 0.0, max_tokens: int | None = None,
             span_name: str = "llm", **params: Any) -> ChatResult:
        """One chat completion, traced as an LLM span when tenbin tracing is on.

        `json_schema` constrains the reply to that schema (servers compile it to a grammar): the one
        way to get a usable shape out of a very small model. TENBIN_LLM_SCHEMA_STYLE says which
        request form the server takes.
        """
        request: dict[str, Any] = {"temperature": temperature, **params}
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        if json_schema is not None:
            request["response_format"] = response_format(json_schema, config.LLM_SCHEMA_STYLE.get())
        elif json_mode:
            request["response_format"] = {"type": "json_object"}
        with tenbin.span(span_name, kind="llm") as span:
            result = self._complete(list(messages), request)
            span.record_llm(
                model=result.model, input_messages=list(messages),
                output_messages=[{"role": "assistant", "content": result.text}],
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                invocation_parameters=request,
                **_prompt_fields(prompt),
            )
            span.set_output(result.text)
        return result

    def _complete(self, messages: list[Message], request: dict[str, Any]) -> ChatResult:
        started = time.perf_counter()
        try:
            with self._slots:
                reply = self._client.chat.completions.create(model=self.model, messages=messages, **request)
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise LLMUnavailable(
                f"cannot reach the LLM server at {self.base_url} (TENBIN_LLM_BASE_URL): {exc}. "
                "Start the local model with `tenbin llm serve`, or point TENBIN_LLM_BASE_URL at an "
                "OpenAI-compatible server."
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"the LLM server at {self.base_url} answered {exc.status_code}: {exc.message}") from exc
        choice = reply.choices[0]
        usage = reply.usage
        return ChatResult(
            text=choice.message.content or "", model=reply.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            latency_ms=(time.perf_counter() - started) * 1000, finish_reason=choice.finish_reason, raw=reply,
        )

    def chat_json(self, messages: Sequence[Message], *, retries: int = 2,
                  validate: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """A JSON value from the model. Unparseable (or `validate`-rejected) output is retried with the
        error shown to the model; after `retries` more attempts, LLMOutputError carries the raw text."""
        convo = list(messages)
        problem = ""
        for _attempt in range(retries + 1):
            result = self.chat(convo, json_mode=True, **kwargs)
            try:
                value = parse_json(result.text)
                return validate(value) if validate else value
            except (ValueError, TypeError, KeyError) as exc:
                problem = str(exc)
                convo = [*messages, {"role": "assistant", "content": result.text},
                         {"role": "user", "content": f"That was not valid: {problem}. Reply with JSON only."}]
        raise LLMOutputError(f"the model did not return valid JSON after {retries + 1} attempts: {problem}")

    def chat_many(self, conversations: Sequence[Sequence[Message]], **kwargs: Any) -> list[ChatResult]:
        """Several independent chats, at most `max_concurrency` at a time, results in input order."""
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            return list(pool.map(lambda m: self.chat(m, **kwargs), conversations))


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json(text: str) -> Any:
    """The first JSON object or array in `text`: small models add prose or code fences around it."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(candidate):
        if ch in "{[":
            try:
                return decoder.raw_decode(candidate[i:])[0]
            except ValueError:
                continue
    raise ValueError(f"no JSON object in the model's reply: {text[:200]!r}")


def _prompt_fields(prompt: PromptInfo | None) -> dict[str, Any]:
    if prompt is None:
        return {}
    return {"prompt_template_name": prompt.name, "prompt_template_version": prompt.version,
            "prompt_template": prompt.template, "prompt_variables": prompt.variables}
