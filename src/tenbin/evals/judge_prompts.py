"""Judge templates in the prompt registry: each judge's wording is a prompt of the project.

    prompts = judge_prompts.Local(engine, "shop")          # or Remote(client, "shop") over REST
    judges = judge_prompts.bind(registry.resolve(["hallucination"], llm), prompts)

The first time a judge runs for a project, its built-in template is pushed as version 1 of the
prompt `tenbin-judge-<judge>` (author "tenbin"), so a team edits, diffs, labels and rolls it back
like any prompt. A judge uses the version labelled `production` if there is one, else the newest;
its results then say `hallucination@v3`, the registry version (built-ins say `hallucination@2`); a
re-run of a stored run holds each judge to the version it used (`Pinned`).
An edited template may use the judge's own fields and `labels`/`json_rule`; one asking for anything
else is refused, naming the variable, before any model call. Only runs for a project read the
registry: `tenbin.evals.evaluate` on a hand-built input and calibration without a project use the
built-in (or an in-process `templates.override`, which wins everywhere).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from tenbin.client import Client
from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import judges, templates
from tenbin.evals.base import Evaluator
from tenbin.prompts import registry

PREFIX = "tenbin-judge-"
_PUSH_LOCK = threading.Lock()


class Prompts(Protocol):
    """A project's prompt registry, in this process or over REST."""

    project: str

    def get(self, name: str, label: str | None) -> dict[str, Any]: ...

    def push(self, version: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Local:
    engine: Engine
    project: str

    def get(self, name: str, label: str | None) -> dict[str, Any]:
        return registry.get(self.engine, self.project, name, label=label)

    def push(self, version: Mapping[str, Any]) -> dict[str, Any]:
        return registry.push(self.engine, self.project, version)


@dataclass(frozen=True)
class Remote:
    client: Client
    project: str

    def get(self, name: str, label: str | None) -> dict[str, Any]:
        return self.client.prompt(name, self.project, label=label)

    def push(self, version: Mapping[str, Any]) -> dict[str, Any]:
        return self.client.push_prompt(dict(version), self.project)


@dataclass(frozen=True)
class Pinned(Local):
    """The project's registry with some judges held to the template version an earlier run used (a
    re-run). A pinned version that is gone is an error, never a quiet switch to another version."""

    versions: Mapping[str, int] = field(default_factory=dict)
    """Judge name → version of its `tenbin-judge-<judge>` prompt."""

    def get(self, name: str, label: str | None) -> dict[str, Any]:
        judge = name.removeprefix(PREFIX)
        if not name.startswith(PREFIX) or judge not in self.versions:
            return super().get(name, label)
        try:
            return registry.get(self.engine, self.project, name, version=self.versions[judge])
        except NotFound as exc:
            raise InvalidInput(f"judge {judge!r} ran with version {self.versions[judge]} of its template {name}, "
                               f"which is gone ({exc})") from exc


def pinned(engine: Engine, project: str, described: Sequence[Mapping[str, Any]]) -> Pinned:
    """The registry with each judge of a stored run (`{"name", "version": "v3", "source": "llm"}`)
    pinned to the template version it used; built-in versions ("2") are not registry versions."""
    versions = {e["name"]: int(e["version"][1:]) for e in described
                if e.get("source") == "llm" and re.fullmatch(r"v\d+", str(e.get("version") or ""))}
    return Pinned(engine, project, versions)


def prompt_name(judge: str) -> str:
    return PREFIX + judge


def default_version(judge: str) -> dict[str, Any]:
    """The built-in template as a registry version, its variables declared as strings."""
    builtin = templates.BUILTIN[judge]
    return {"name": prompt_name(judge), "author": "tenbin", "format": builtin.format,
            "message": f"tenbin's built-in {judge} judge template (version {builtin.version})",
            "messages": [dict(m) for m in builtin.messages],
            "variables": [{"name": n, "type": "string"} for n in sorted(builtin.uses())]}


def existing(prompts: Prompts, judge: str) -> dict[str, Any] | None:
    """The version the judge uses: `production`, else the newest; None before its first run."""
    for label in ("production", None):
        try:
            return prompts.get(prompt_name(judge), label)
        except NotFound:
            continue
    return None


def stored(prompts: Prompts, judge: str) -> dict[str, Any]:
    """The version the judge uses, the built-in pushed as version 1 on its first run."""
    found = existing(prompts, judge)
    if found is not None:
        return found
    with _PUSH_LOCK:  # two first uses in one process push one version, not two
        return existing(prompts, judge) or prompts.push(default_version(judge))


def from_version(judge: str, version: Mapping[str, Any]) -> templates.JudgeTemplate:
    """A registry version as a judge template; a text template is one user message."""
    messages = version.get("messages") or [{"role": "user", "content": version.get("template") or ""}]
    return templates.JudgeTemplate(judge, f"v{version['version']}", tuple(dict(m) for m in messages),
                                   version.get("format") or "jinja", prompt=prompt_name(judge),
                                   prompt_version=version["version"])


def source(prompts: Prompts) -> templates.Source:
    return lambda judge: from_version(judge, stored(prompts, judge))


def bind(evaluators: Sequence[Evaluator], prompts: Prompts | None) -> list[Evaluator]:
    """`evaluators` with every LLM judge reading its template from `prompts` (None: unchanged)."""
    if prompts is None:
        return list(evaluators)
    src = source(prompts)
    return [judges.with_template(e, src) if isinstance(e, judges.LLMJudge) else e for e in evaluators]


def current(prompts: Prompts, judge: str) -> templates.JudgeTemplate:
    """What the judge would use now, without pushing anything (for listings and checks)."""
    found = existing(prompts, judge)
    return templates.get(judge) if found is None else templates.get(judge, lambda j: from_version(j, found))


def check(evaluators: Sequence[Evaluator], prompts: Prompts) -> None:
    """Raise if a judge's current template cannot render, without storing anything (saving a rule)."""
    for e in evaluators:
        if isinstance(e, judges.LLMJudge):
            current(prompts, e.name).check(e.spec.provides)
