"""The demo's traffic: the docs chatbot answers every turn of its conversations, traced into the
demo project, and a checkable rule leaves thumbs feedback on each answer (thumbs-down when the
answer cites no retrieved passage or the question is out of scope). The bot takes its prompt from
the registry per session, so a running A/B experiment splits the conversations between its arms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Protocol

from rich.progress import Progress
from rich.table import Table

import tenbin
from tenbin.client import Client
from tenbin.demo import PROJECT, console
from tenbin.examples.docs_bot import Conversation, DocsBot, conversations, thumbs_up
from tenbin.llm import LLM


class ModelServer(Protocol):
    """An OpenAI-compatible server: the local model, or the scripted one in tests."""

    base_url: str
    model: str


def demo_bot(model: ModelServer, *, prompt_from_registry: bool = True) -> DocsBot:
    """The bot as the demo runs it: answer-only JSON replies (grammar-enforced by llama.cpp: the
    135M model cannot drive tools, so the pre-search supplies the passages), two steps at most."""
    return DocsBot(LLM(model.base_url, model.model), json_mode=True, answer_only=True, max_steps=2,
                   prompt_from_registry=prompt_from_registry)


def ask_all(bot: DocsBot, convs: list[Conversation], progress: Callable[[], None]) -> tuple[int, int]:
    """One worker: every turn of its conversations, with rule-based feedback; (answers, thumbs-down)."""
    answers = downs = 0
    for conv in convs:
        with tenbin.session(conv.session_id, user_id=conv.user_id), tenbin.metadata(task=conv.category):
            for question in conv.turns:
                answer = bot.ask(question, session_id=conv.session_id)
                good = thumbs_up(conv.category, answer)
                tenbin.feedback(span_id=answer.span_id, thumbs=good, author=conv.user_id,
                                comment=None if good else "no cited passage or out of scope")
                answers, downs = answers + 1, downs + (not good)
        progress()
    return answers, downs


def converse(url: str, models: Sequence[ModelServer], sessions: int, project: str = PROJECT) -> tuple[int, int]:
    """Spread the conversations over one worker per model server; return (answers, thumbs-down)."""
    convs = conversations(sessions)
    tenbin.init(url, project=project)
    bots = [demo_bot(m) for m in models]
    try:
        with Progress(console=console) as bar, ThreadPoolExecutor(len(bots)) as pool:
            task = bar.add_task("conversations", total=len(convs))
            advance = partial(bar.advance, task)
            shares = [pool.submit(ask_all, bot, convs[i :: len(bots)], advance) for i, bot in enumerate(bots)]
            totals = [share.result() for share in shares]
    finally:
        for bot in bots:
            bot.close()
        tenbin.shutdown()
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def summary(url: str, project: str = PROJECT) -> None:
    """Answers, latency and thumbs-up rate per task, then the project's totals."""
    with Client(url) as client:
        spans = client.metrics(project)[0]
        by_task = client.metrics(project, filter='kind == "AGENT"', group_by="metadata.task")
    table = Table("task", "answers", "latency p50", "thumbs-up rate")
    for row in by_task:
        rate = row["thumbs_up_rate"]
        table.add_row(str(row["group"]), str(row["count"]), f"{row['latency_p50_ms'] / 1000:.1f} s",
                      "-" if rate is None else f"{rate:.0%}")
    console.print(table)
    console.print(f"{spans['count']} spans stored, {spans['total_tokens']} tokens, error rate {spans['error_rate']:.1%}")
