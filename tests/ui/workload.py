"""Run the support bot over generated conversations against a tenbin server, with rule-based feedback.

Feedback rule (checkable, not random): thumbs-down when the answer cites no retrieved passage or
the question is out of scope; thumbs-up otherwise.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import track

import tenbin
from tenbin.llm.scripted import ScriptedLLM
from tests.ui.support_bot import SupportBot, cites_passage, scripted_answer
from tests.ui.support_questions import Conversation, conversations

PROJECT = "acme-support"


def is_good(answer: str, task: str) -> bool:
    return cites_passage(answer) and task != "out_of_scope"


def run_workload(url: str, count: int, *, project: str = PROJECT, console: Console | None = None,
                 extra_questions: list[tuple[str, str, str]] = ()) -> tuple[int, int]:  # type: ignore[assignment]
    """Run `count` conversations (+ `(session, task, question)` extras); return (answers, thumbs-down)."""
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor

    from tenbin.sdk.state import STATE

    convs = conversations(count) + [Conversation(s, "user-x", t, (q,)) for s, t, q in extra_questions]
    tenbin.init(url, project=project)
    OpenAIInstrumentor().instrument(tracer_provider=STATE.provider)
    answers = downs = 0
    try:
        with ScriptedLLM(script=scripted_answer) as llm:
            bot = SupportBot.create(openai.OpenAI(base_url=llm.base_url, api_key="demo"), llm.model)
            for conv in track(convs, description="conversations", console=console or Console(quiet=True)):
                with tenbin.session(conv.session_id, user_id=conv.user_id), tenbin.metadata(task=conv.task):
                    for question in conv.turns:
                        with tenbin.span("turn", kind="chain", input=question) as turn:
                            answer = bot.answer(question, conv.task)
                            turn.set_output(answer)
                        good = is_good(answer, conv.task)
                        tenbin.feedback(span_id=turn.span_id, thumbs=good, author=conv.user_id,
                                        comment=None if good else "did not answer from the docs")
                        answers, downs = answers + 1, downs + (not good)
    finally:
        OpenAIInstrumentor().uninstrument()
        tenbin.flush()
        tenbin.shutdown()
    return answers, downs
