"""The judges' prompt templates, as data: each has a name and a version, and can be replaced.

A judge's verdicts are only comparable while its template stays the same, so every result records
`judge@version`. Where a judge runs for a project (stored spans, experiments, online rules) its
template is the project's registry prompt `tenbin-judge-<name>` (see `judge_prompts`), versioned
and labelled like any prompt. `override()` swaps a template in this process and wins over both.
Templates render through the registry's `Template` (Jinja2 sandbox or f-string, undefined
variables are errors), so a template that names a field the judge does not provide fails loudly
instead of asking the model about an empty string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tenbin.errors import InvalidInput, NotFound
from tenbin.prompts.templates import Template

_JSON_RULE = ('Reply with JSON only, like {"label": "%s", "explanation": "one short sentence"}, '
              "where the label is exactly one of: %s.")
COMMON_VARIABLES = ("labels", "json_rule")
"""Given to every judge template besides the judge's own fields."""


@dataclass(frozen=True)
class JudgeTemplate:
    """Chat messages for one judge; `{{ labels }}` lists its allowed labels, `{{ json_rule }}` the reply format.

    `prompt` names the registry prompt it came from ("tenbin-judge-hallucination"; `prompt_version` 3,
    then `version` is "v3"); None for the built-in (versions "1", "2", …) or an override."""

    name: str
    version: str
    messages: tuple[Mapping[str, str], ...]
    format: str = "jinja"
    prompt: str | None = None
    prompt_version: int | None = None

    @cached_property
    def template(self) -> Template:
        try:
            return Template.create(messages=list(self.messages), format=self.format)
        except InvalidInput as exc:
            raise InvalidInput(f"template {self.name}@{self.version} does not render: {exc}") from exc

    @property
    def system(self) -> str:
        return "\n\n".join(m["content"] for m in self.messages if m["role"] == "system")

    @property
    def user(self) -> str:
        return "\n\n".join(m["content"] for m in self.messages if m["role"] != "system")

    def uses(self) -> set[str]:
        return {v.name for v in self.template.variables}

    def check(self, provides: tuple[str, ...] | set[str]) -> None:
        """Refuse a template asking for a variable the judge cannot fill, naming it, before any model call."""
        given = {*provides, *COMMON_VARIABLES}
        missing = sorted(self.uses() - given)
        if missing:
            raise InvalidInput(f"template {self.name}@{self.version} does not render: it uses {missing}, which the "
                               f"{self.name} judge does not provide; it provides: {', '.join(sorted(given))}")

    def render(self, variables: Mapping[str, Any], labels: tuple[str, ...]) -> list[dict[str, str]]:
        values = {**variables, "labels": ", ".join(labels), "json_rule": _JSON_RULE % (labels[0], ", ".join(labels))}
        self.check(set(values))
        try:
            rendered = self.template.render(**{k: values[k] for k in self.uses()})
        except InvalidInput as exc:
            raise InvalidInput(f"template {self.name}@{self.version} does not render: {exc}") from exc
        return list(rendered)  # type: ignore[arg-type]  # a chat template renders to messages


_SYSTEM = ('You are a careful evaluator. You judge one thing and reply with one JSON object: a "label" that is '
           'exactly one of the allowed words, and a one-sentence "explanation".')


def _choices(*cases: tuple[str, str, str]) -> str:
    """The answer format shown by example, one reply per label: small models copy a concrete reply
    where they echoed a placeholder such as `<one of: ...>` (version 1 of every template). On
    SmolLM2-135M this took unparseable verdicts from 12-16 of 22 calibration cases to none, but the
    model then gives one label to every case (kappa 0): the format is fixed, the judging is not."""
    lines = ["Allowed labels: {{ labels }}."]
    for when, label, why in cases:
        lines += [f"{when}, reply:", f'{{"label": "{label}", "explanation": "{why}"}}']
    return "\n".join(lines)


def _builtin(name: str, version: str, user: str) -> JudgeTemplate:
    return JudgeTemplate(name, version, ({"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}))


BUILTIN: dict[str, JudgeTemplate] = {t.name: t for t in (
    _builtin("hallucination", "2",
             "Is the ANSWER supported by the CONTEXT? 'factual' if every claim in the answer is stated in or "
             "follows from the context; 'hallucinated' if it adds or changes facts.\n\n"
             "QUESTION: {{ input }}\n\nCONTEXT:\n{{ context }}\n\nANSWER: {{ output }}\n\n"
             + _choices(("If the context supports every claim of the answer", "factual",
                         "The context states what the answer says."),
                        ("If the answer adds or changes a fact", "hallucinated",
                         "The answer says something the context does not."))),
    _builtin("qa_correctness", "2",
             "Does the ANSWER give the same facts as the REFERENCE answer to the QUESTION? Wording may differ. "
             "'correct' if it does; 'incorrect' if it contradicts, omits the key fact or answers something else.\n\n"
             "QUESTION: {{ input }}\n\nREFERENCE: {{ reference }}\n\nANSWER: {{ output }}\n\n"
             + _choices(("If the answer gives the reference's key facts", "correct",
                         "The answer gives the same facts as the reference."),
                        ("If it contradicts or misses them", "incorrect",
                         "The answer misses or contradicts the reference."))),
    _builtin("retrieval_relevance", "2",
             "Does the DOCUMENT contain information that helps answer the QUESTION? 'relevant' if it does, "
             "'irrelevant' if it does not.\n\nQUESTION: {{ input }}\n\nDOCUMENT: {{ document }}\n\n"
             + _choices(("If the document helps answer the question", "relevant",
                         "The document has facts the question needs."),
                        ("If it does not", "irrelevant", "The document is about something else."))),
    _builtin("answer_relevance", "2",
             "Does the ANSWER address the QUESTION that was asked (right or wrong)? 'relevant' if it responds "
             "to the question; 'irrelevant' if it talks about something else or dodges it.\n\n"
             "QUESTION: {{ input }}\n\nANSWER: {{ output }}\n\n"
             + _choices(("If the answer responds to the question", "relevant",
                         "The answer is about what was asked."),
                        ("If it talks about something else or dodges it", "irrelevant",
                         "The answer does not respond to the question."))),
    _builtin("toxicity", "2",
             "Is the TEXT toxic: insulting, hateful, threatening, harassing or demeaning someone? Blunt or "
             "negative but respectful text is 'non_toxic'.\n\nTEXT: {{ output }}\n\n"
             + _choices(("If the text is respectful, even when blunt", "non_toxic",
                         "The text insults no one."),
                        ("If it insults, threatens or demeans someone", "toxic",
                         "The text insults the reader."))),
    _builtin("user_frustration", "2",
             "Read the CONVERSATION between a user and an assistant. Is the user frustrated by the end "
             "(repeating themselves, complaining, angry, giving up)?\n\nCONVERSATION:\n{{ conversation }}\n\n"
             + _choices(("If the user is calm or satisfied at the end", "not_frustrated",
                         "The user ends the conversation calmly."),
                        ("If the user repeats, complains, is angry or gives up", "frustrated",
                         "The user complains and repeats the question."))),
)}

_OVERRIDES: dict[str, JudgeTemplate] = {}
Source = Callable[[str], JudgeTemplate]
"""Where a judge's template comes from when it runs for a project: the project's registry prompt."""


def get(name: str, source: Source | None = None) -> JudgeTemplate:
    """The template a judge uses: an override, else `source`'s (the project's registry), else the built-in."""
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    if name not in BUILTIN:
        raise NotFound(f"no judge template named {name!r}; known: {', '.join(sorted(BUILTIN))}")
    return source(name) if source is not None else BUILTIN[name]


def override(name: str, *, user: str, version: str, system: str | None = None) -> JudgeTemplate:
    """Use `user` (and `system`) as judge `name`'s template in this process, under a new `version`."""
    base = get(name)
    if version == base.version and user != base.user:
        raise InvalidInput(f"template {name}@{version} already exists with other text; give the edit a new version")
    system = system if system is not None else base.system
    _OVERRIDES[name] = JudgeTemplate(name, version, ({"role": "system", "content": system},
                                                     {"role": "user", "content": user}))
    return _OVERRIDES[name]


def reset(name: str | None = None) -> None:
    """Drop overrides (of one judge, or all): back to the built-in templates."""
    if name is None:
        _OVERRIDES.clear()
    else:
        _OVERRIDES.pop(name, None)
