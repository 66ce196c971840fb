"""The demo's traffic: conversations in several task categories, generated deterministically."""

from __future__ import annotations

import random
from dataclasses import dataclass

QUESTIONS: dict[str, list[str]] = {
    "billing": [
        "How do I get a refund for last month's invoice?",
        "Where can I download past invoices?",
        "How much does the Team plan cost per seat?",
        "What does the Enterprise plan cost?",
        "How do I add seats to my plan?",
        "Is there a Premium plan price?",
        "Are seat changes prorated?",
    ],
    "setup": [
        "How do I install the desktop app on Linux?",
        "How can I enable single sign-on with SAML?",
        "Can I import notes from Evernote?",
        "How do I invite teammates to my workspace?",
        "Does the app run on macOS?",
    ],
    "api": [
        "How do I create an API key?",
        "What is the API rate limit per minute?",
        "How do webhooks notify me when a note is created?",
        "How does pagination work in list endpoints?",
        "I get a 429 response from the API, what should I do?",
    ],
    "troubleshooting": [
        "My notes do not sync between devices.",
        "I cannot log in, what should I do?",
        "The app is very slow lately.",
        "Export fails for a large note.",
    ],
    "japanese": [
        "返金 を 申請 する 方法 は？",
        "同期 できない 場合 は どう すれば いい ですか？",
        "請求書 は どこ で ダウンロード できますか？",
    ],
    "out_of_scope": [
        "What is the capital of Australia?",
        "Can you write me a poem about autumn?",
        "Which stocks should I buy this week?",
        "What's the weather tomorrow in Osaka?",
    ],
}
FOLLOW_UPS = ["Thanks, and how long does that take?", "Can you explain that again?", "What about on mobile?"]


@dataclass(frozen=True)
class Conversation:
    session_id: str
    user_id: str
    task: str
    turns: tuple[str, ...]


def conversations(count: int, seed: int = 7) -> list[Conversation]:
    """`count` conversations of 1–4 turns; the same seed always gives the same traffic."""
    rng = random.Random(seed)
    tasks = sorted(QUESTIONS)
    out = []
    for i in range(count):
        task = tasks[i % len(tasks)]
        turns = [rng.choice(QUESTIONS[task])]
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            turns.append(rng.choice(QUESTIONS[task] + FOLLOW_UPS))
        out.append(Conversation(f"conv-{i:04d}", f"user-{rng.randrange(40):02d}", task, tuple(turns)))
    return out
