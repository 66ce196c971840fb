"""The demo's prompt A/B experiment, set up through the REST client as a user would.

v1 of `docs-bot-answer` is the bot's built-in template (what it runs today); v2 is a plausible
improvement for a small model that drifts from its sources: answer only from the passages, name
the page used. v1 is production, and a 50/50 experiment on session ids starts before any
conversation, so `get_prompt(unit=session_id)` assigns each conversation an arm and the feedback
rule's thumbs drive the primary metric. The experiment is left running for the user to promote.
"""

from __future__ import annotations

from typing import Any

from tenbin.agents.loop import builtin_template
from tenbin.cli_experiments import show
from tenbin.client import Client
from tenbin.demo import PROJECT, console
from tenbin.examples.docs_bot import PROMPT_NAME

AUTHOR = "kumo-support-team"
STRICT_SYSTEM = (
    "You are {assistant}. Answer only from the numbered passages; never add a fact they do not state. "
    "In 1-3 sentences, name the page title you used and cite it like [1]. "
    "If no passage answers the question, say you could not find it in the docs.\n"
    'To call a tool reply only {{"tool": "<name>", "args": {{...}}}}. '
    'To answer reply only {{"answer": "<text>", "sources": [1]}}.\n'
    "Tools:\n{tools}\n{instructions}"
)
GUARDRAILS = {"latency_p95_ms": 30_000.0, "error_rate": 0.05}
"""Maxima over each arm's LLM spans. A call takes 2-5 s on 2 idle cores and up to ~25 s when other
work shares them; the limit catches an arm that makes the model ramble, not a busy machine."""


def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    """The two versions to push: v1 the built-in template, v2 its stricter system message."""
    v1 = {"name": PROMPT_NAME, **builtin_template().to_dict(), "author": AUTHOR,
          "message": "the prompt built into the bot"}
    system, user = v1["messages"]
    v2 = {**v1, "messages": [{**system, "content": STRICT_SYSTEM}, user],
          "message": "answer only from the passages and name the page used"}
    return v1, v2


def start_experiment(url: str, project: str = PROJECT) -> dict[str, Any]:
    """Push both versions, label v1 production, start the 50/50 experiment; returns the experiment."""
    v1, v2 = versions()
    with Client(url) as client:
        first = client.push_prompt(v1, project)["version"]
        second = client.push_prompt(v2, project)["version"]
        client.move_prompt_label(PROMPT_NAME, "production", first, project, author=AUTHOR,
                                 reason="what the bot runs today")
        spec = {"prompt": PROMPT_NAME, "name": "grounded answers (v2) vs today (v1)", "author": AUTHOR,
                "arms": [{"version": first, "weight": 0.5}, {"version": second, "weight": 0.5}],
                "metric": {"kind": "thumbs"}, "guardrails": GUARDRAILS}
        return client.create_prompt_experiment(spec, project)


def page(url: str, experiment_id: int, project: str = PROJECT) -> str:
    return f"{url}/projects/{project}/prompt-experiments/{experiment_id}"


def report(url: str, experiment_id: int, project: str = PROJECT) -> None:
    """The live per-arm table (what `tenbin ab show` prints) and where to promote the winner."""
    console.rule("Prompt A/B experiment")
    show(experiment_id, project=project, endpoint=url, api_key=None)
    console.print(f"Live results: [bold]{page(url, experiment_id, project)}[/bold] — the experiment keeps running; "
                  f"promote there or with `tenbin ab stop {experiment_id} --promote winner -p {project}`.")
