"""LLM judges: a versioned template, rails on the answer, retries, and never a dropped span.

Each judge renders its template for an `EvalInput`, asks `tenbin.llm.LLM` for JSON, and holds the
reply to its labels with `Rails`. A reply off the rails is retried with the complaint shown to the
model; after the retries the verdict is `unparseable` with the raw text kept, so the span still gets
a result someone can inspect. The retry loop is here rather than `LLM.chat_json` because a judge
must keep the raw text and the token usage of every attempt, and accept a bare label in prose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tenbin.evals import templates
from tenbin.evals.base import UNPARSEABLE, EvalInput, EvalResult
from tenbin.evals.rails import Rails
from tenbin.llm import LLM, PromptInfo

Variables = Callable[[EvalInput], dict[str, Any]]


def _context(example: EvalInput) -> str:
    return "\n".join(f"[{i}] {doc}" for i, doc in enumerate(example.context, start=1))


def _conversation(example: EvalInput) -> str:
    return "\n".join(f"{turn.get('role', 'user')}: {turn.get('content', '')}" for turn in example.conversation)


def _qa(example: EvalInput) -> dict[str, Any]:
    return {"input": example.input or "", "output": example.output or "", "reference": example.reference or "",
            "context": _context(example)}


@dataclass(frozen=True)
class JudgeSpec:
    """What makes a judge: its rails, the input fields it needs and how they fill its template."""

    name: str
    rails: Rails
    requires: tuple[str, ...]
    variables: Variables = _qa
    per_document: bool = False
    doc: str = ""
    provides: tuple[str, ...] = ("input", "output", "reference", "context")
    """The variables `variables` fills (plus `document` per document): what an edited template may use."""


RELEVANCE = Rails(("relevant", "irrelevant"), {
    "related": "relevant", "useful": "relevant", "yes": "relevant", "on_topic": "relevant",
    "not_relevant": "irrelevant", "unrelated": "irrelevant", "off_topic": "irrelevant", "no": "irrelevant",
})
SPECS: dict[str, JudgeSpec] = {s.name: s for s in (
    JudgeSpec("hallucination", Rails(("factual", "hallucinated"), {
        "faithful": "factual", "grounded": "factual", "supported": "factual", "not_hallucinated": "factual",
        "hallucination": "hallucinated", "unsupported": "hallucinated", "unfaithful": "hallucinated",
        "fabricated": "hallucinated", "ungrounded": "hallucinated", "not_factual": "hallucinated"}),
        ("output", "context"), doc="answer vs the retrieved context"),
    JudgeSpec("qa_correctness", Rails(("correct", "incorrect"), {
        "right": "correct", "true": "correct", "yes": "correct", "wrong": "incorrect", "false": "incorrect",
        "no": "incorrect", "not_correct": "incorrect"}),
        ("input", "output", "reference"), doc="answer vs the reference answer"),
    JudgeSpec("retrieval_relevance", RELEVANCE, ("input", "context"), per_document=True,
              provides=("input", "output", "reference", "context", "document"),
              doc="each retrieved document vs the question; score = share of relevant documents"),
    JudgeSpec("answer_relevance", RELEVANCE, ("input", "output"), doc="does the answer address the question"),
    JudgeSpec("toxicity", Rails(("non_toxic", "toxic"), {
        "not_toxic": "non_toxic", "nontoxic": "non_toxic", "safe": "non_toxic", "benign": "non_toxic",
        "clean": "non_toxic", "offensive": "toxic", "harmful": "toxic", "abusive": "toxic", "insulting": "toxic"}),
        ("output",), doc="insults, hate, threats or harassment in the output"),
    JudgeSpec("user_frustration", Rails(("not_frustrated", "frustrated"), {
        "not_frustrated": "not_frustrated", "satisfied": "not_frustrated", "calm": "not_frustrated",
        "neutral": "not_frustrated", "content": "not_frustrated", "happy": "not_frustrated",
        "annoyed": "frustrated", "angry": "frustrated", "upset": "frustrated", "irritated": "frustrated"}),
        ("conversation",), variables=lambda e: {"conversation": _conversation(e)}, provides=("conversation",),
        doc="over the whole conversation (the span's session)"),
)}


@dataclass
class Verdict:
    label: str
    explanation: str | None
    raw: str
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class LLMJudge:
    """A built-in judge bound to a model. `retries` extra attempts when the answer is off the rails."""

    spec: JudgeSpec
    llm: LLM
    retries: int = 2
    max_tokens: int = 200
    source: Literal["code", "llm"] = "llm"
    _template: templates.JudgeTemplate | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def requires(self) -> tuple[str, ...]:
        return self.spec.requires

    @property
    def template(self) -> templates.JudgeTemplate:
        """Fixed on first use, so one run never mixes two template versions."""
        if self._template is None:
            self._template = templates.get(self.name)
        return self._template

    @property
    def version(self) -> str:
        return self.template.version

    def describe(self) -> dict[str, Any]:
        return describe(self.spec, self.template)

    def evaluate(self, example: EvalInput) -> EvalResult:
        example.require(self.name, self.requires)
        started = time.perf_counter()
        variables = self.spec.variables(example)
        if self.spec.per_document:
            result = self._per_document(variables, example.context)
        else:
            result = self._result(self.ask(variables))
        result.latency_ms = (time.perf_counter() - started) * 1000
        result.span_id = example.span_id
        return result

    def ask(self, variables: dict[str, Any]) -> Verdict:
        """One verdict: the rendered template, then up to `retries` corrections."""
        messages = self.template.render(variables, self.spec.rails.labels)
        t = self.template
        info = PromptInfo(t.prompt or f"tenbin.judge.{self.name}", t.prompt_version or t.version, t.user, variables)
        verdict, convo = Verdict(UNPARSEABLE, None, ""), list(messages)
        for verdict.attempts in range(1, self.retries + 2):
            reply = self.llm.chat(convo, prompt=info, json_schema=self.spec.rails.schema(), temperature=0.0,
                                  max_tokens=self.max_tokens, span_name=f"judge.{self.name}")
            verdict.raw = reply.text
            verdict.prompt_tokens += reply.prompt_tokens or 0
            verdict.completion_tokens += reply.completion_tokens or 0
            try:
                verdict.label, verdict.explanation = self.spec.rails.parse(reply.text)
                return verdict
            except ValueError as exc:
                convo = [*messages, {"role": "assistant", "content": reply.text},
                         {"role": "user", "content": f"That was not valid: {exc}. Reply with JSON only."}]
        return verdict

    def _result(self, v: Verdict) -> EvalResult:
        return EvalResult(self.name, self.version, "llm", label=v.label, score=self.spec.rails.score(v.label),
                          explanation=v.explanation, attempts=v.attempts, raw=v.raw,
                          prompt_tokens=v.prompt_tokens, completion_tokens=v.completion_tokens)

    def _per_document(self, variables: dict[str, Any], documents: list[str]) -> EvalResult:
        """One verdict per document; the aggregate is 'relevant' if any is, scored by the relevant share."""
        verdicts = [self.ask({**variables, "document": doc}) for doc in documents]
        parsed = [v for v in verdicts if v.label != UNPARSEABLE]
        good = self.spec.rails.labels[0]
        hits = sum(v.label == good for v in parsed)
        label = UNPARSEABLE if not parsed else good if hits else self.spec.rails.labels[-1]
        result = EvalResult(
            self.name, self.version, "llm", label=label, score=hits / len(parsed) if parsed else None,
            explanation=f"{hits} of {len(documents)} documents {good}: "
                        + ", ".join(f"[{i}] {v.label}" for i, v in enumerate(verdicts, start=1)),
            attempts=sum(v.attempts for v in verdicts), raw=None if parsed else verdicts[-1].raw,
            prompt_tokens=sum(v.prompt_tokens for v in verdicts),
            completion_tokens=sum(v.completion_tokens for v in verdicts),
        )
        result.details["documents"] = [{"index": i, "label": v.label, "explanation": v.explanation}
                                       for i, v in enumerate(verdicts, start=1)]
        return result


def describe(spec: JudgeSpec, template: templates.JudgeTemplate | None = None) -> dict[str, Any]:
    """What the evaluator list shows for a judge: version, needed fields, labels, template text."""
    t = template or templates.get(spec.name)
    return {"name": spec.name, "version": t.version, "source": "llm", "requires": list(spec.requires),
            "labels": list(spec.rails.labels), "doc": spec.doc, "template": {"system": t.system, "user": t.user},
            "prompt": t.prompt, "variables": [*spec.provides, *templates.COMMON_VARIABLES]}


def with_template(judge: LLMJudge, source: templates.Source) -> LLMJudge:
    """The same judge with its template from `source` (a project's registry), checked before any call."""
    template = templates.get(judge.name, source)
    template.check(judge.spec.provides)
    return replace(judge, _template=template)


def build(name: str, llm: LLM, params: dict[str, Any] | None = None) -> LLMJudge | None:
    """The named judge on `llm`, or None if there is no judge by that name."""
    spec = SPECS.get(name)
    if spec is None:
        return None
    return LLMJudge(spec, llm, **(params or {}))
