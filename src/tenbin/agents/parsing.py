"""Reading a small model's reply as an action: call a tool, or answer.

The agent asks for `{"tool": NAME, "args": {...}}` or `{"answer": TEXT, "sources": [...]}`, but a
135M-parameter model wraps JSON in code fences and prose, uses single quotes, drops braces, borrows
other frameworks' shapes (`{"action": ..., "action_input": ...}`, `{"name": ..., "arguments": ...}`)
or just answers in plain text. `json_repair` (a maintained library built for LLM output) mends the
JSON; this module maps the shapes onto two actions. A reply that *tries* to call a tool but cannot
be read raises `MalformedReply`, whose message is fed back to the model so it can try again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import json_repair

ANSWER_KEYS = ("answer", "final_answer", "response", "reply", "output")
TOOL_KEYS = ("tool", "action", "tool_name", "name", "function")
ARGS_KEYS = ("args", "arguments", "action_input", "tool_input", "parameters", "params", "input")
SOURCE_KEYS = ("sources", "source", "citations", "cite")
FINISH_ACTIONS = {"final answer", "final_answer", "answer", "finish", "respond"}
_PREFIX = re.compile(r"^\s*(?:final answer|answer|assistant)\s*:\s*", re.I)
_FENCED = re.compile(r"^\s*```[a-z]*\s*(.*?)\s*```\s*$", re.S | re.I)
_TOOLISH = re.compile(r"""["']?(?:tool|action|function)["']?\s*[:=]""", re.I)


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: Any = field(default_factory=dict)
    """A dict as the model gave it, or a bare string when it passed one value."""


@dataclass(frozen=True)
class FinalAnswer:
    text: str
    sources: tuple[str, ...] = ()


Action = ToolCall | FinalAnswer


class MalformedReply(ValueError):
    """The reply looks like a tool call but cannot be read; the message tells the model what to send."""


def parse_action(text: str) -> Action:
    """The action in a model reply; plain text is an answer, a broken tool call is MalformedReply."""
    stripped = _FENCED.sub(r"\1", text).strip()
    if not stripped:
        raise MalformedReply('the reply was empty; send {"answer": "..."} or {"tool": "...", "args": {...}}')
    obj = _first_object(stripped) if "{" in stripped else None
    looks_like_call = stripped.startswith("{") or _TOOLISH.search(stripped) is not None
    if obj is not None:
        try:
            return action_from_object(obj, stripped)
        except MalformedReply:
            if looks_like_call:
                raise
    elif looks_like_call:
        raise MalformedReply(f"could not read the tool call in {stripped[:120]!r}; send valid JSON")
    return FinalAnswer(_PREFIX.sub("", stripped))


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`, mended by json_repair; None when there is none."""
    try:
        value = json_repair.loads(text)
    except Exception:  # noqa: BLE001 - json_repair is best-effort; unreadable means "no object"
        return None
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) and value else None


def action_from_object(obj: dict[str, Any], raw: str = "") -> Action:
    """Map the known JSON shapes onto an action."""
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in ANSWER_KEYS:
        if isinstance(lowered.get(key), (str, int, float)):
            return FinalAnswer(str(lowered[key]).strip(), _sources(lowered))
    name, args = _tool_and_args(lowered)
    if name is None:
        raise MalformedReply(
            f"the JSON {raw[:120]!r} has neither an 'answer' nor a 'tool'; "
            'send {"answer": "..."} or {"tool": "...", "args": {...}}'
        )
    if name.strip().lower() in FINISH_ACTIONS:
        return FinalAnswer(str(args if not isinstance(args, dict) else _first_text(args)).strip(), _sources(lowered))
    return ToolCall(name.strip(), args)


def _tool_and_args(obj: dict[str, Any]) -> tuple[str | None, Any]:
    """(tool name, arguments) from any of the shapes; arguments default to the object's other keys."""
    for key in TOOL_KEYS:
        value = obj.get(key)
        if isinstance(value, dict):
            return _tool_and_args({str(k).lower(): v for k, v in value.items()})
        if isinstance(value, str) and value.strip():
            args = next((obj[a] for a in ARGS_KEYS if a in obj), None)
            if args is None:
                args = {k: v for k, v in obj.items() if k != key}
            return value, _decode_args(args)
    return None, None


def _decode_args(args: Any) -> Any:
    """OpenAI-style arguments arrive as a JSON string; decode it when it is one."""
    if isinstance(args, str) and args.strip().startswith("{"):
        try:
            return json.loads(args)
        except ValueError:
            mended = _first_object(args)
            return mended if mended is not None else args
    return args


def _first_text(args: dict[str, Any]) -> str:
    return next((str(v) for v in args.values() if isinstance(v, (str, int, float))), "")


def _sources(obj: dict[str, Any]) -> tuple[str, ...]:
    """Cited sources as strings: a list, a single value, or a comma-separated string."""
    value = next((obj[k] for k in SOURCE_KEYS if k in obj), None)
    if value is None:
        return ()
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
    return tuple(s for s in (str(i).strip().strip("[]") for i in items if i is not None) if s)
