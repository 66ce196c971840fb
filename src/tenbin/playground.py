"""The prompt playground: render a draft template with variables, run it on the configured LLM, save it.

    draft = playground.prepare(engine, "shop", {"prompt": "greeting", "variables": {"name": "Ana"}})
    out = playground.run(draft, temperature=0.2, tracer=tracer)   # answer, latency, tokens, trace id
    playground.save(engine, "shop", "greeting", draft, message="warmer", label="staging", author="ana")

A draft starts from a stored version (its template, declared variables, model and parameters) or from
nothing, and may be edited before it renders. The run is traced as a `playground` chain span with the
LLM span inside, both tagged `playground`; the LLM span carries the prompt's name, and its version
only when the template is the stored one unchanged, so edited drafts never count towards that
version's performance. Rendering is the registry's sandboxed renderer, so a draft that renders here
also renders when fetched through the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

import tenbin
from tenbin import config
from tenbin.errors import InvalidInput
from tenbin.evals.experiments import CHAT_PARAMS
from tenbin.llm import LLM, PromptInfo
from tenbin.prompts import registry
from tenbin.prompts.templates import Template
from tenbin.prompts.tokens import count_tokens
from tenbin.sdk.routing import routed

TAG = "playground"
MAX_TOKENS_LIMIT = 32_768
SPEC_FIELDS = ("prompt", "version", "template", "messages", "format", "variables", "model")


@dataclass
class Draft:
    """A template ready to send: where it came from, what it rendered to and how many tokens that is."""

    template: Template
    values: dict[str, Any]
    rendered: str | list[dict[str, str]]
    model: str
    tokens: dict[str, Any]
    name: str | None = None
    base_version: int | None = None
    edited: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, str]]:
        """What the model receives: the chat as rendered, or the text as one user message."""
        return self.rendered if isinstance(self.rendered, list) else [{"role": "user", "content": self.rendered}]

    @property
    def version(self) -> int | None:
        """The stored version this draft *is* (None once edited): what the LLM span records."""
        return None if self.edited else self.base_version

    def to_dict(self) -> dict[str, Any]:
        source = self.template.to_dict()
        return {"prompt": {"name": self.name, "version": self.version, "based_on": self.base_version,
                           "edited": self.edited},
                "template": {"text": source["template"], **{k: source[k] for k in ("messages", "format", "variables")}},
                "values": self.values, "rendered": self.rendered, "messages": self.messages, "model": self.model,
                "tokens": self.tokens}


def load_base(engine: Engine, project: str, prompt: str | None, version: int | None = None) -> dict[str, Any] | None:
    """The stored version a draft starts from (the newest when `version` is None), or None for a blank start."""
    if not prompt:
        if version is not None:
            raise InvalidInput(f"version {version} of which prompt? name the prompt too")
        return None
    return registry.get(engine, project, registry.check_name(prompt), version=version)


def build_template(base: Mapping[str, Any] | None, text: str | None = None, messages: Any = None,
                   format: str | None = None) -> Template:
    """The draft's template: the given text or messages, else the base's; the base's declared
    variables (types, defaults) are kept for every name the draft still uses."""
    if text is None and messages is None:
        if base is None:
            raise InvalidInput("give a template (text) or messages, or name a stored prompt to start from")
        return registry.template_of(base)
    used = Template.create(text, messages, format=format)
    names = {v.name for v in used.variables}
    declared = [v for v in (base or {}).get("variables") or [] if v.get("name") in names]
    return Template.create(text, messages, format=used.format, variables=declared) if declared else used


def _same_source(template: Template, base: Mapping[str, Any]) -> bool:
    stored = registry.template_of(base)
    return (template.text, template.messages, template.format) == (stored.text, stored.messages, stored.format)


def draft(base: Mapping[str, Any] | None, template: Template, values: Mapping[str, Any], *,
          model: str | None = None, name: str | None = None) -> Draft:
    """Render `template` with `values` (missing, extra, mistyped values and sandbox escapes refused
    by name) and count the tokens with the tokenizer of the model it will run on."""
    rendered = template.render(**values)
    model = model or (base or {}).get("model") or config.LLM_MODEL.get()
    counted = count_tokens(rendered, model)
    tokens = {"count": counted.count, "exact": counted.exact, "tokenizer": counted.tokenizer, "model": model}
    return Draft(template, dict(values), rendered, model, tokens, name=(base or {}).get("name") or name,
                 base_version=(base or {}).get("version"), edited=base is not None and not _same_source(template, base),
                 params=dict((base or {}).get("params") or {}))


def prepare(engine: Engine, project: str, spec: Mapping[str, Any]) -> Draft:
    """A draft from one request: `prompt`/`version` to start from, `template` or `messages` to
    override it, `variables` (values), `model`. Unknown keys are refused by name."""
    unknown = sorted(set(spec) - set(SPEC_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; the playground takes: {', '.join(SPEC_FIELDS)}")
    base = load_base(engine, project, spec.get("prompt"), spec.get("version"))
    template = build_template(base, spec.get("template"), spec.get("messages"), spec.get("format"))
    values = spec.get("variables") or {}
    if not isinstance(values, Mapping):
        raise InvalidInput('variables must be an object of name to value, e.g. {"question": "Where is my refund?"}')
    return draft(base, template, values, model=spec.get("model"))


def check_params(temperature: Any, max_tokens: Any) -> tuple[float, int | None]:
    """Sampling parameters a chat API accepts, or an error saying the allowed range."""
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0 <= temperature <= 2:
        raise InvalidInput(f"temperature must be a number from 0 to 2; got {temperature!r}")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
                                   or not 1 <= max_tokens <= MAX_TOKENS_LIMIT):
        raise InvalidInput(f"max_tokens must be a whole number from 1 to {MAX_TOKENS_LIMIT}, or empty; got {max_tokens!r}")
    return float(temperature), max_tokens


def sampling(prepared: Draft, temperature: Any = None, max_tokens: Any = None) -> dict[str, Any]:
    """The draft's stored parameters with `temperature` and `max_tokens` applied (None: keep the
    stored value; 0 max_tokens: no limit), checked."""
    params = dict(prepared.params)
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens or None
    params["temperature"], params["max_tokens"] = check_params(params.get("temperature", 0.0), params.get("max_tokens"))
    if params["max_tokens"] is None:
        del params["max_tokens"]
    return params


def run(prepared: Draft, *, temperature: Any = None, max_tokens: Any = None, llm: LLM | None = None,
        tracer: Any = None) -> dict[str, Any]:
    """Send the draft to the model (default: the configured one, with the draft's model name).
    With `tracer` the spans go there (the server passes the project's); else to `tenbin.init`'s."""
    params = sampling(prepared, temperature, max_tokens)
    if not any(m["content"].strip() for m in prepared.messages):
        raise InvalidInput("the prompt renders to nothing; write a template (or fill its variables) first")
    llm = llm or LLM(model=prepared.model)
    info = PromptInfo(prepared.name, prepared.version, prepared.template.as_text(), prepared.values)
    meta = {"source": TAG, "based_on_version": prepared.base_version, "edited": prepared.edited}
    route = routed(tracer) if tracer is not None else nullcontext()
    with (route, tenbin.tags(TAG), tenbin.metadata(**meta),
          tenbin.span(TAG, kind="chain", input=prepared.values or prepared.messages) as root):
        result = llm.chat(prepared.messages, prompt=info, span_name=f"{TAG}:{prepared.name}" if prepared.name else TAG,
                          **{k: v for k, v in params.items() if k in CHAT_PARAMS})
        root.set_output(result.text)
    return {"answer": result.text, "model": result.model, "latency_ms": result.latency_ms,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "finish_reason": result.finish_reason, "params": params, "trace_id": root.trace_id,
            "span_id": root.span_id}


def save(engine: Engine, project: str, name: str, prepared: Draft, *, message: str = "", label: str | None = None,
         author: str | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Store the draft as the next version of `name` with its model and `params` (default: the
    base's), then point `label` at it. The label is checked first, so a bad one stores nothing."""
    if label:
        registry.check_label(label)
    stored = registry.push(engine, project, {"name": name, **prepared.template.to_dict(), "model": prepared.model,
                                             "params": dict(prepared.params if params is None else params),
                                             "message": message, "author": author})
    if label:
        registry.move_label(engine, project, name, label, stored["version"], author=author,
                            reason=f"saved from the playground as v{stored['version']}")
    return stored
