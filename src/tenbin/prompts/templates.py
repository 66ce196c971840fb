"""Prompt templates: text or chat messages with declared variables, rendered in Jinja2's sandbox.

Two source formats: `jinja` (`{{ name }}`, loops, filters) and `fstring`, OpenInference's
`{name}` style. An f-string template is never run through Python's `str.format` (which allows
`{x.__class__}`): a small parser substitutes bare `{identifier}` fields, reads `{{`/`}}` as literal
braces and refuses anything else. Jinja templates render with `StrictUndefined`, so a missing
variable names itself, and in the sandbox, so `{{ ''.__class__.__mro__ }}` is refused.

This module is a leaf: it imports nothing of tenbin's but `errors` (the SDK, the registry and the
LLM judges all render templates).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from tenbin.errors import InvalidInput

Format = Literal["jinja", "fstring"]
FORMATS: tuple[str, ...] = ("jinja", "fstring")
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "array": (list, tuple), "object": (dict,), "any": (object,),
}
ROLES = ("system", "user", "assistant", "tool", "developer")
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MISSING: Any = object()


@dataclass(frozen=True)
class Variable:
    """One declared variable: a JSON-schema-like `type` and an optional default (then not required)."""

    name: str
    type: str = "any"
    default: Any = _MISSING
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if not self.required:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out


def parse_variables(spec: Any) -> list[Variable]:
    """Variables from `["a", "b"]`, `[{"name": "a", "type": "string", "default": ""}]` or
    `{"a": {"type": "string"}, "b": "number"}`; anything else is an InvalidInput saying the shape."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        spec = [{"name": k, **(v if isinstance(v, Mapping) else {"type": v} if v else {})} for k, v in spec.items()]
    if not isinstance(spec, (list, tuple)):
        raise InvalidInput('variables must be a list like ["question", {"name": "tone", "default": "kind"}] '
                           f"or a mapping of name to type; got {type(spec).__name__}")
    out = [_variable(item) for item in spec]
    names = [v.name for v in out]
    if len(set(names)) != len(names):
        raise InvalidInput(f"variables are declared twice: {sorted({n for n in names if names.count(n) > 1})}")
    return out


def _variable(item: Any) -> Variable:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise InvalidInput(f"each variable needs a name, e.g. {{'name': 'question', 'type': 'string'}}; got {item!r}")
    unknown = set(item) - {"name", "type", "default", "description"}
    if unknown:
        raise InvalidInput(f"variable {item['name']!r} has unknown keys {sorted(unknown)}; use name, type, default, description")
    name, kind = item["name"], item.get("type") or "any"
    if not _IDENT.match(name):
        raise InvalidInput(f"variable name {name!r} must be an identifier (letters, digits, _; not starting with a digit)")
    if kind not in TYPES:
        raise InvalidInput(f"variable {name!r} has type {kind!r}; types are: {', '.join(TYPES)}")
    return Variable(name, kind, item.get("default", _MISSING), str(item.get("description") or ""))


def detect_format(*sources: str) -> Format:
    """`jinja` if any source uses `{{`, `{%` or `{#`; else `fstring` if it has `{name}` fields."""
    if any(re.search(r"\{[{%#]", s) for s in sources):
        return "jinja"
    if any(re.search(r"\{[A-Za-z_][A-Za-z0-9_]*\}", s) for s in sources):
        return "fstring"
    return "jinja"


def fstring_parts(source: str) -> list[tuple[str, str | None]]:
    """Split an f-string template into (literal, field-or-None) pieces; bad fields are refused."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for m in _FIELD.finditer(source):
        literal = source[pos:m.start()]
        token, inner = m.group(0), m.group(1)
        pos = m.end()
        if token in ("{{", "}}"):
            parts.append((literal + token[0], None))
        elif inner is not None and _IDENT.match(inner.strip()):
            parts.append((literal, inner.strip()))
        elif inner is not None:
            raise InvalidInput(f"f-string field {{{inner}}} is not allowed: only plain names like {{question}} are "
                               "substituted (no attributes, indexes, conversions or format specs); write {{ and }} "
                               "for literal braces")
        else:
            raise InvalidInput(f"unmatched {token!r} at character {m.start()} in the template; write {token * 2} for a literal brace")
    parts.append((source[pos:], None))
    return parts


def jinja_literal(text: str) -> str:
    """`text` as Jinja source that renders to exactly `text`: a raw block when it has braces
    (readable), brace-by-brace string expressions if it also contains `endraw`."""
    if "{" not in text and "}" not in text:
        return text
    if "endraw" not in text:
        return "{% raw %}" + text + "{% endraw %}"
    return re.sub(r"[{}]", lambda m: "{{ '%s' }}" % m.group(0), text)


def fstring_to_jinja(source: str) -> str:
    return "".join(jinja_literal(lit) + ("{{ %s }}" % name if name else "") for lit, name in fstring_parts(source))


def _jinja_names(source: str) -> set[str]:
    """Variables a Jinja source reads (not Jinja's own globals such as `range`); refuses, before
    any render, a template that reaches for `_private` attributes, the start of every sandbox escape."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"the template does not parse (line {exc.lineno}): {exc.message}") from exc
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            raise InvalidInput(f"the template was refused: it reads the attribute {key!r} (line {node.lineno}); "
                               "templates may only use their variables, not Python internals")
    return set(meta.find_undeclared_variables(tree)) - set(_ENV.globals)


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidInput('messages must be a non-empty list like [{"role": "system", "content": "..."}]')
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or not isinstance(m.get("content"), str):
            raise InvalidInput(f"message {i} needs a role and a string content; got {m!r}")
        if m.get("role") not in ROLES:
            raise InvalidInput(f"message {i} has role {m.get('role')!r}; roles are: {', '.join(ROLES)}")
        out.append({"role": str(m["role"]), "content": m["content"]})
    return out


@dataclass(frozen=True)
class Template:
    """A text template (`text`) or a chat template (`messages`, each content a template).

    Variables used but not declared are added as required `any`; a declared variable the template
    never uses is refused, because it is almost always a typo on one side.
    """

    text: str | None = None
    messages: tuple[Mapping[str, str], ...] | None = None
    format: Format = "jinja"
    variables: tuple[Variable, ...] = field(default_factory=tuple)

    @classmethod
    def create(cls, text: str | None = None, messages: Any = None, *, format: str | None = None,
               variables: Any = None) -> Template:
        """Validate and build: exactly one of text/messages; the format detected when not given."""
        if (text is None) == (messages is None):
            raise InvalidInput("a template needs exactly one of `template` (text) or `messages` (chat)")
        if text is not None and not isinstance(text, str):
            raise InvalidInput(f"template must be a string; got {type(text).__name__}")
        msgs = tuple(_check_messages(messages)) if messages is not None else None
        sources = [text] if text is not None else [m["content"] for m in msgs or ()]
        fmt = format or detect_format(*sources)
        if fmt not in FORMATS:
            raise InvalidInput(f"template format {fmt!r} is unknown; use one of: {', '.join(FORMATS)}")
        declared = parse_variables(variables)
        used = _used_names(sources, fmt)  # type: ignore[arg-type]
        unused = sorted({v.name for v in declared} - used)
        if unused:
            raise InvalidInput(f"variables {unused} are declared but the template never uses them; "
                               f"it uses: {', '.join(sorted(used)) or 'none'}")
        names = {v.name for v in declared}
        inferred = tuple(Variable(n) for n in sorted(used - names))
        return cls(text, msgs, fmt, tuple(declared) + inferred)  # type: ignore[arg-type]

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def sources(self) -> list[str]:
        return [self.text] if self.text is not None else [m["content"] for m in self.messages or ()]

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The variables to render with: defaults filled, missing/extra/mistyped refused by name."""
        known = {v.name: v for v in self.variables}
        extra = sorted(set(given) - known.keys())
        if extra:
            raise InvalidInput(f"unknown variable(s) {extra}; this template takes: {', '.join(known) or 'none'}")
        missing = sorted(n for n, v in known.items() if v.required and n not in given)
        if missing:
            raise InvalidInput(f"missing variable(s) {missing}; this template takes: {', '.join(known)}")
        out = {n: given[n] if n in given else v.default for n, v in known.items()}
        for name, value in out.items():
            kind = known[name].type
            if not isinstance(value, TYPES[kind]) or (kind in ("number", "integer") and isinstance(value, bool)):
                raise InvalidInput(f"variable {name!r} must be of type {kind}; got {type(value).__name__}")
        return out

    def render(self, **variables: Any) -> str | list[dict[str, str]]:
        """Text for a text template, a list of {role, content} for a chat template."""
        values = self.values(variables)
        if self.messages is None:
            return _render_source(self.text or "", self.format, values)
        return [{"role": m["role"], "content": _render_source(m["content"], self.format, values)}
                for m in self.messages]

    def to_jinja(self) -> Template:
        """The same template in Jinja syntax (so it composes with Jinja fragments)."""
        if self.format == "jinja":
            return self
        msgs = None if self.messages is None else tuple(
            {"role": m["role"], "content": fstring_to_jinja(m["content"])} for m in self.messages)
        text = None if self.text is None else fstring_to_jinja(self.text)
        return Template(text, msgs, "jinja", self.variables)

    def as_text(self) -> str:
        """The source as one text (chat messages as `[role]` blocks): what diffs compare."""
        if self.messages is None:
            return self.text or ""
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.text, "messages": None if self.messages is None else [dict(m) for m in self.messages],
                "format": self.format, "variables": [v.to_dict() for v in self.variables]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Template:
        return cls.create(data.get("template"), data.get("messages"), format=data.get("format"),
                          variables=data.get("variables"))


def _used_names(sources: Iterable[str], fmt: Format) -> set[str]:
    if fmt == "fstring":
        return {name for s in sources for _, name in fstring_parts(s) if name}
    return set().union(*(_jinja_names(s) for s in sources))


def _render_source(source: str, fmt: str, values: Mapping[str, Any]) -> str:
    if fmt == "fstring":
        return "".join(lit + (str(values[name]) if name else "") for lit, name in fstring_parts(source))
    try:
        return _ENV.from_string(source).render(values)
    except SecurityError as exc:
        raise InvalidInput(f"the template was refused by the sandbox: {str(exc).rstrip('.')}; templates may only read their "
                           "variables, not Python internals") from exc
    except UndefinedError as exc:
        raise InvalidInput(f"the template uses an undefined value: {exc}; pass it as a variable") from exc
    except TemplateError as exc:
        raise InvalidInput(f"the template does not render: {exc}") from exc
