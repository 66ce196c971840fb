"""The agent loop: the model picks a tool or answers, in JSON, for at most `max_steps` turns.

Built for a 135M-parameter model as much as for a large one, so it never depends on the model
behaving: replies are read tolerantly (`parsing.py`); a tool call that cannot be read, names an
unknown tool or sends bad arguments is shown its error and retried `max_retries` times; a tool that
raises becomes an observation (and an ERROR on its TOOL span); and when retries or steps run out the
agent answers plainly from the best passage it has. Optionally a retrieval runs *before* the first
model call (`pre_search`), so the answer is grounded even when the model never calls a tool.

The prompt is a `tenbin.Prompt` (e.g. from `tenbin.get_prompt`, so it can change in the registry
without a deploy) rendered with the agent's variables (`VARIABLES`); a chat template's last message
is the user's turn and earlier turns go before it. Without one, the agent's built-in template is
used (`builtin_prompt()`, also the fallback to give `get_prompt`). Rendering records the prompt's
name, version, template and variables on the AGENT span and on each LLM span.

Spans: AGENT (the run) → CHAIN per step → LLM (from `tenbin.llm`) / TOOL → RETRIEVER. An
unreachable model (LLMUnavailable) propagates, leaving the AGENT span in ERROR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import tenbin
from tenbin.agents.citations import cited_passages
from tenbin.agents.parsing import FinalAnswer, MalformedReply, ToolCall, parse_action
from tenbin.agents.retriever import Passage
from tenbin.agents.tools import BadArguments, Tool, clip, format_passages, run_tool
from tenbin.errors import InvalidInput
from tenbin.llm import LLM, PromptInfo
from tenbin.prompts.templates import Template
from tenbin.sdk.prompts import Prompt

SYSTEM_TEMPLATE = (
    "You are {assistant}. Answer in 1-3 sentences using the passages, citing them like [1]. "
    "If they do not answer the question, say you could not find it.\n"
    'To call a tool reply only {{"tool": "<name>", "args": {{...}}}}. '
    'To answer reply only {{"answer": "<text>", "sources": [1]}}.\n'
    "Tools:\n{tools}"
)
USER_TEMPLATE = "Passages:\n{passages}\n\nQuestion: {question}"
NOT_FOUND = "I could not find that in the documentation."
ANSWER_SCHEMA = {"type": "object", "required": ["answer", "sources"],
                 "properties": {"answer": {"type": "string"}, "sources": {"type": "array", "items": {"type": "integer"}}}}
"""The reply shape `answer_only` enforces: an answer citing passage numbers."""
VARIABLES = ("assistant", "tools", "instructions", "passages", "question")
"""What the agent fills a prompt with; a template may use any of them ({name} or Jinja style)."""


def builtin_template() -> Template:
    """The agent's own prompt as a chat template: the code's copy, and what to push to the registry as v1."""
    return Template.create(messages=[{"role": "system", "content": SYSTEM_TEMPLATE + "\n{instructions}"},
                                     {"role": "user", "content": USER_TEMPLATE}],
                           format="fstring", variables=[{"name": n, "type": "string"} for n in VARIABLES])


@dataclass
class AgentResult:
    answer: str
    sources: list[Passage]
    """Passages the answer cites (explicitly, or by restating them)."""
    passages: list[Passage]
    """Every passage retrieved during the run, in the order the model saw them."""
    steps: int
    fallback: str | None = None
    """Why the agent answered plainly instead of the model: 'malformed', 'step_limit', or None."""
    span_id: str | None = None
    trace_id: str | None = None


@dataclass
class _Run:
    """The state of one run: the conversation so far and what has been retrieved."""

    messages: list[dict[str, str]]
    passages: list[Passage] = field(default_factory=list)
    retries: int = 0


@dataclass
class Agent:
    llm: LLM
    tools: Sequence[Tool]
    assistant: str = "a helpful documentation assistant"
    prompt_name: str = "agent"
    prompt_version: str = "1"
    max_steps: int = 4
    max_retries: int = 2
    pre_search: str | None = None
    """A one-argument tool run on the question before the first model call (e.g. "search_docs")."""
    passage_chars: int = 400
    max_tokens: int = 120
    json_mode: bool = False
    answer_only: bool = False
    """Constrain every reply to ANSWER_SCHEMA. For a tiny model: measured on SmolLM2-135M with the docs
    bot, free JSON gave the bot's fallback on 193 of 196 questions (invented JSON shapes, then the
    same tool call again); answer-only JSON gives a real answer each time. Tools then run only as
    `pre_search`."""
    not_found: str = NOT_FOUND
    extra_instructions: str = ""

    def __post_init__(self) -> None:
        self._tools = {t.name: t for t in self.tools}
        if self.pre_search is not None and self.pre_search not in self._tools:
            raise ValueError(f"pre_search names {self.pre_search!r}, which is not among the tools {list(self._tools)}")

    def builtin_prompt(self) -> Prompt:
        """The built-in template, recorded as `prompt_name` v`prompt_version` (source `fallback`)."""
        return Prompt(self.prompt_name, builtin_template(), self.prompt_version, source="fallback")

    def run(self, question: str, *, history: Sequence[tuple[str, str]] = (),
            search_query: str | None = None, prompt: Prompt | None = None) -> AgentResult:
        """Answer `question`; `history` holds earlier (question, answer) turns of the conversation.

        `search_query` (default: the question) is what `pre_search` looks up, e.g. a follow-up
        joined with the question before it. `prompt` (default: the built-in one) is rendered
        with `VARIABLES`; one that needs another variable raises InvalidInput naming it.
        """
        with tenbin.span("agent", kind="agent", input=question) as span:
            result = self._run(question, history, search_query or question, prompt or self.builtin_prompt())
            result.span_id, result.trace_id = span.span_id, span.trace_id
            span.set_attributes({"agent.steps": result.steps, "agent.fallback": result.fallback or "",
                                 "agent.sources": [p.id for p in result.sources]})
            span.set_output(result.answer)
        return result

    def _run(self, question: str, history: Sequence[tuple[str, str]], search_query: str, prompt: Prompt) -> AgentResult:
        run = _Run([])
        if self.pre_search is not None:
            with tenbin.span("agent_step", kind="chain", input=search_query) as step:
                step.set_attributes({"agent.step": 0})
                args = self._tools[self.pre_search].bind(search_query)
                step.set_output(self._observe(run, self.pre_search, args))
        variables = {"assistant": self.assistant, "tools": "\n".join(f"- {t.signature()}" for t in self.tools),
                     "instructions": self.extra_instructions, "question": question,
                     "passages": format_passages(run.passages, self.passage_chars) or "(none)"}
        preamble, turn, info = _render(prompt, variables)
        run.messages = list(preamble)
        for asked, answered in history:
            run.messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
        run.messages.append(turn)
        for number in range(1, self.max_steps + 1):
            answer = self._step(run, number, info)
            if isinstance(answer, FinalAnswer):
                return self._finish(run, answer, number)
            if run.retries > self.max_retries:
                return self._plain(run, number, "malformed")
        return self._plain(run, self.max_steps, "step_limit")

    def _step(self, run: _Run, number: int, prompt: PromptInfo) -> FinalAnswer | None:
        """One model turn in a CHAIN span: an answer, or None after a tool ran or a reply was refused."""
        with tenbin.span("agent_step", kind="chain", input=run.messages[-1]["content"]) as step:
            step.set_attributes({"agent.step": number})
            reply = self.llm.chat(run.messages, prompt=prompt, json_mode=self.json_mode,
                                  json_schema=ANSWER_SCHEMA if self.answer_only else None,
                                  max_tokens=self.max_tokens, span_name="agent_llm").text
            run.messages.append({"role": "assistant", "content": reply})
            try:
                action = parse_action(reply)
                if isinstance(action, FinalAnswer):
                    step.set_output(action.text)
                    return action
                tool, args = self._resolve(action)
            except (MalformedReply, BadArguments) as exc:
                run.retries += 1
                feedback = f"Error: {exc}. Reply with JSON only."
                run.messages.append({"role": "user", "content": feedback})
                step.set_output(feedback)
                return None
            observation = self._observe(run, tool.name, args)
            run.messages.append({"role": "user", "content": f"Observation:\n{observation}"})
            step.set_output(observation)
            return None

    def _resolve(self, call: ToolCall) -> tuple[Tool, dict[str, Any]]:
        key = call.name.strip().lower().replace(" ", "_").replace("-", "_")
        tool = self._tools.get(key)
        if tool is None:
            raise MalformedReply(f"there is no tool {call.name!r}; the tools are {', '.join(self._tools)}")
        return tool, tool.bind(call.args)

    def _observe(self, run: _Run, name: str, args: dict[str, Any]) -> str:
        """Run a tool; what it returned (passages are numbered on from those seen), or the error it raised."""
        try:
            result = run_tool(self._tools[name], args)
        except Exception as exc:  # noqa: BLE001 - any tool failure is the model's to handle
            observation = f"Tool {name} failed: {type(exc).__name__}: {exc}"
        else:
            observation = self._observation_text(run, result)
        return observation

    def _observation_text(self, run: _Run, result: Any) -> str:
        if isinstance(result, list) and all(isinstance(r, Passage) for r in result):
            start = len(run.passages) + 1
            run.passages.extend(result)
            return format_passages(result, self.passage_chars, start) or "No matching passages."
        return str(result)

    def _finish(self, run: _Run, answer: FinalAnswer, steps: int) -> AgentResult:
        text = answer.text or self.not_found
        return AgentResult(text, cited_passages(text, answer.sources, run.passages), run.passages, steps)

    def _plain(self, run: _Run, steps: int, reason: str) -> AgentResult:
        """The answer when the model gave none: the best passage, quoted and cited, or 'not found'."""
        if not run.passages:
            return AgentResult(self.not_found, [], run.passages, steps, reason)
        best = run.passages[0]
        text = f"From {best.source}: {clip(best.content, self.passage_chars)}"
        return AgentResult(text, [best], run.passages, steps, reason)


def _render(prompt: Prompt, variables: dict[str, str]) -> tuple[list[dict[str, str]], dict[str, str], PromptInfo]:
    """(messages before the history, the user's turn, what the LLM span records) for one run.

    A text template is the system message and the turn is `USER_TEMPLATE`; a chat template's last
    message must be the user's turn. Only the variables the template declares are passed."""
    used = {v.name: variables[v.name] for v in prompt.template.variables if v.name in variables}
    where = f"prompt {prompt.name!r} v{prompt.version}"
    try:
        rendered = prompt.render(**used)
    except InvalidInput as exc:
        raise InvalidInput(f"{where} does not fit the agent: {exc}. The agent fills: {', '.join(VARIABLES)}") from exc
    info = PromptInfo(prompt.name, prompt.version, prompt.template.as_text(), used)
    if isinstance(rendered, str):
        turn = USER_TEMPLATE.format(passages=variables["passages"], question=variables["question"])
        return [{"role": "system", "content": rendered.strip()}], {"role": "user", "content": turn}, info
    if rendered[-1]["role"] != "user":
        raise InvalidInput(f"{where} ends with a {rendered[-1]['role']!r} message; a chat template for the agent "
                           "must end with the user's turn (e.g. Passages: {passages} Question: {question})")
    preamble = [{"role": m["role"], "content": m["content"].strip()} for m in rendered[:-1]]
    return preamble, rendered[-1], info
