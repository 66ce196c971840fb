"""Seeded support-bot traffic with three planted problems, for the acceptance test, demo and benchmark.

Each trace is one chat turn: a CHAIN root and an LLM child (prompt `support`), with metadata
`task` (answer, summarize, translate, classify) drawn independently of the question's topic. The
baseline is the first week, production the second. Planted:
- `THUMBS_DOWN_TOPIC` (account login): ~80 % of its rated turns are thumbs-down (others ~10 %),
  and its helpfulness score is low;
- `NEW_TOPIC` (smart-home devices): appears in production only;
- `SLOW_TASK` (summarize): ~6× the latency of the other tasks.
Thumbs are given on the trace (stored on the root span), the helpfulness score on the LLM span, as
a real app and an online evaluator would. Questions are built from per-topic phrases, slot values
and shared openers/closers, so a topic is a spread-out region rather than a few duplicate points.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.seed import write_traffic

DAY_US = 86_400_000_000
T0_US = 1_767_225_600_000_000
"""2026-01-01T00:00:00Z: baseline is T0 + [0, 7) days, production T0 + [7, 14) days."""
THUMBS_DOWN_TOPIC, NEW_TOPIC, SLOW_TASK = "login", "smarthome", "summarize"
TASKS = ("answer", "summarize", "translate", "classify")

TOPICS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "billing": (["why was my {x} card charged twice this month", "how do I get a refund for my {x} subscription",
                 "can you send me the invoice for the {x} plan", "how do I change the payment method on my {x} plan",
                 "the price of my {x} plan went up without notice", "cancel my {x} subscription before it renews"],
                ["Pro", "Team", "annual", "monthly", "Enterprise", "Starter"],
                ["Refunds for duplicate charges arrive in 5 days.", "Invoices are under Billing > History.",
                 "Change the card in Billing > Payment method."]),
    "shipping": (["my parcel to {x} has not moved in the tracking for a week", "how long does delivery to {x} take",
                  "can I change the delivery address of my order to {x}", "the courier left my package damaged in {x}",
                  "do you ship express orders to {x}", "customs fees for shipping a box to {x}"],
                 ["Canada", "Germany", "Japan", "Brazil", "Australia", "Kenya"],
                 ["Deliveries take 3 to 7 business days.", "You can edit the address until the parcel ships.",
                  "Report damaged parcels within 48 hours."]),
    "cooking": (["how long should I roast {x} in the oven", "what spices go well with {x}",
                 "can I freeze leftover {x} soup", "a quick weeknight dinner recipe with {x}",
                 "how do I keep {x} from sticking to the pan", "what wine pairs with grilled {x}"],
                ["chicken", "salmon", "mushrooms", "lentils", "tofu", "lamb"],
                ["Roast at 200 °C for about 40 minutes.", "Cumin, paprika and garlic work well.",
                 "It keeps frozen for three months."]),
    "travel": (["what documents do I need to visit {x}", "best time of year to travel to {x}",
                "is the train from the airport to the center of {x} fast", "cheap hotels near the old town of {x}",
                "do I need a visa for a two week trip to {x}", "what to pack for a hiking holiday in {x}"],
               ["Portugal", "Vietnam", "Peru", "Norway", "Morocco", "Iceland"],
               ["Most visitors need only a passport.", "Spring and autumn are the mildest seasons.",
                "The airport train takes about 25 minutes."]),
    "python": (["why does my python {x} raise a KeyError", "how do I speed up a slow python {x}",
                "python {x} gives TypeError NoneType is not iterable", "how to write unit tests for a python {x}",
                "my python {x} leaks memory over time", "convert this python {x} to use async await"],
               ["script", "dictionary loop", "web scraper", "class", "data pipeline", "flask app"],
               ["Check the key exists with dict.get first.", "Profile it with cProfile before optimising.",
                "pytest fixtures keep the tests short."]),
    "fitness": (["a beginner {x} workout plan for three days a week", "how many rest days between {x} sessions",
                 "what to eat before a morning {x} session", "my knees hurt after {x}, what should I change",
                 "how to track progress in {x} training", "stretching routine after {x}"],
                ["running", "weightlifting", "cycling", "swimming", "yoga", "rowing"],
                ["Start with three short sessions a week.", "Rest at least one day between hard sessions.",
                 "Eat a light carbohydrate snack an hour before."]),
    THUMBS_DOWN_TOPIC: (["I cannot log in to my account on {x}, the password is rejected",
                         "the password reset email never arrives when I use {x}",
                         "two factor authentication code is not accepted on {x}",
                         "I am locked out of my account after too many sign in attempts on {x}",
                         "how do I reset my password from {x}", "sign in keeps looping back to the login page on {x}"],
                        ["the iPhone app", "Android", "the web browser", "my Mac", "a Windows laptop", "the iPad"],
                        ["Please try again later.", "Have you tried turning it off and on again?",
                         "I cannot help with that."]),
    NEW_TOPIC: (["my smart {x} will not connect to the wifi", "how do I pair the smart {x} with the hub",
                 "the smart {x} goes offline every night", "firmware update failed on my smart {x}",
                 "set a schedule for the smart {x} from the app", "voice assistant does not find my smart {x}"],
                ["thermostat", "light bulb", "door lock", "plug", "camera", "speaker"],
                ["Hold the reset button for 10 seconds to re-pair.", "Move the hub closer to the device.",
                 "Update the firmware from the app's device page."]),
}
OPENERS = ("", "", "Hi, ", "Hello! ", "Quick question: ", "Please help, ", "Hey there, ")
CLOSERS = ("", "", "?", " - thanks!", ", any idea?", ". Thank you.", " asap")


@dataclass
class Traffic:
    """Generated rows plus the planted truth each span was made from."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    topic_of: dict[str, str] = field(default_factory=dict)
    """LLM span id → topic."""
    task_of: dict[str, str] = field(default_factory=dict)
    baseline_window: str = f"{T0_US / 1e6:.0f}..{(T0_US + 7 * DAY_US) / 1e6:.0f}"
    production_window: str = f"{(T0_US + 7 * DAY_US) / 1e6:.0f}..{(T0_US + 14 * DAY_US) / 1e6:.0f}"

    def llm_span_ids(self, topic: str) -> set[str]:
        return {s for s, t in self.topic_of.items() if t == topic}


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(status="OK", **values)
    row.pop("project_id", None)
    return row


def _pick_topic(rng: random.Random, production: bool) -> str:
    topics = [t for t in TOPICS if production or t != NEW_TOPIC]
    weights = [1.4 if t in (THUMBS_DOWN_TOPIC, NEW_TOPIC) else 1.0 for t in topics]
    return rng.choices(topics, weights)[0]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.traffic = Traffic()
        self.n = 0

    def _ids(self) -> tuple[str, str, str]:
        self.n += 1
        bits = self.rng.getrandbits(64)
        return f"{self.rng.getrandbits(128):032x}", f"{bits:016x}", f"{bits ^ 0x5A5A5A5A5A5A5A5A:016x}"

    def turn(self, production: bool) -> None:
        rng = self.rng
        topic = _pick_topic(rng, production)
        phrases, slots, answers = TOPICS[topic]
        question = rng.choice(OPENERS) + rng.choice(phrases).format(x=rng.choice(slots)) + rng.choice(CLOSERS)
        answer = rng.choice(answers)
        task = rng.choice(TASKS)
        start = T0_US + (7 * DAY_US if production else 0) + rng.randrange(7 * DAY_US)
        latency_ms = rng.lognormvariate(6.6, 0.35) * (6.0 if task == SLOW_TASK else 1.0)
        trace_id, root_id, llm_id = self._ids()
        version = "2" if production and rng.random() < 0.9 else "1"
        meta = {"task": task, "user_tier": rng.choice(("free", "pro"))}
        end = start + int(latency_ms * 1000)
        common = {"trace_id": trace_id, "start_us": start, "metadata": meta, "input_value": question,
                  "output_value": answer, "session_id": None}
        self.traffic.spans.append(_row(span_id=root_id, name="chat", kind="CHAIN", end_us=end + 2000,
                                       latency_ms=latency_ms + 2.0, **common))
        self.traffic.spans.append(_row(
            span_id=llm_id, parent_id=root_id, name="llm", kind="LLM", end_us=end, latency_ms=latency_ms,
            model="support-model", prompt_name="support", prompt_version=version,
            prompt_tokens=60 + 2 * len(question.split()), completion_tokens=8 + 2 * len(answer.split()), **common))
        self.traffic.topic_of[llm_id], self.traffic.task_of[llm_id] = topic, task
        self._feedback(topic, trace_id, root_id, llm_id)

    def _feedback(self, topic: str, trace_id: str, root_id: str, llm_id: str) -> None:
        rng, bad = self.rng, topic == THUMBS_DOWN_TOPIC
        if rng.random() < 0.6:
            down = rng.random() < (0.8 if bad else 0.1)
            self.traffic.feedback.append({"trace_id": trace_id, "span_id": root_id, "name": "thumbs",
                                          "kind": "thumbs", "value": 0.0 if down else 1.0, "source": "human"})
        if rng.random() < 0.5:
            score = min(1.0, max(0.0, rng.gauss(0.25 if bad else 0.8, 0.12)))
            self.traffic.feedback.append({"trace_id": trace_id, "span_id": llm_id, "name": "helpfulness",
                                          "kind": "score", "value": round(score, 3), "source": "llm"})


def generate(n_turns: int = 750, seed: int = 7, production_share: float = 0.6) -> Traffic:
    """`n_turns` chat turns (2 spans each), `production_share` of them in the production week."""
    gen = _Gen(seed)
    n_production = round(n_turns * production_share)
    for i in range(n_turns):
        gen.turn(production=i < n_production)
    return gen.traffic


def plant_problems(engine: Engine, project: str = "planted", n_turns: int = 750, seed: int = 7,
                   embedder: Any = None, field: str = "input") -> Traffic:
    """Write generated traffic to `project` and embed its LLM spans' `field` (default embedder:
    MiniLM); returns the traffic with its planted truth. Ready for `analyze` with
    `window=traffic.production_window, baseline=traffic.baseline_window`."""
    from tenbin.analytics.embedders import get_embedder
    from tenbin.analytics.embedding import run_embed

    traffic = generate(n_turns, seed)
    write_traffic(engine, project, traffic.spans, traffic.feedback)
    run_embed(engine, project, embedder or get_embedder("minilm"), field)
    return traffic


def membership(traffic: Traffic, points: list[dict[str, Any]], topic: str) -> dict[str, float]:
    """How well clusters recover a planted topic: the clusters where `topic` is the majority are
    "its" clusters (noise never is); precision = share of their points that are of the topic,
    recall = share of the topic's points that landed in them."""
    by_cluster: dict[int, Counter[str]] = {}
    for p in points:
        by_cluster.setdefault(p["cluster"], Counter())[traffic.topic_of.get(p["span_id"], "?")] += 1
    mine = [c for c, counts in by_cluster.items() if c != -1 and counts.most_common(1)[0][0] == topic]
    inside = sum(by_cluster[c][topic] for c in mine)
    total_in_mine = sum(sum(by_cluster[c].values()) for c in mine)
    of_topic = sum(counts[topic] for counts in by_cluster.values())
    return {"clusters": len(mine), "precision": inside / total_in_mine if total_in_mine else 0.0,
            "recall": inside / of_topic if of_topic else 0.0}
