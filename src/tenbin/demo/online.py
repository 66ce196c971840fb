"""The demo's online eval rule, created through the SDK before the conversations, so the server's
scheduler scores the live traffic (every TENBIN_ONLINE_EVAL_INTERVAL seconds) while the bot answers.

The rule samples 30% of the bot's answers (its AGENT spans: the user's question in, the answer
out). The rule runs inside the server, which cannot see Python checks registered in the demo's own
process, so its evaluators are built-in code checks that fit a docs bot: did the model answer
itself (the bot's fallback quotes its best passage as "From <page>: …"), is the answer short, was
it fast. The LLM judge `answer_relevance` joins only with `--judge`: on the 135M local model it
takes ~3-5 s a verdict, competing with the conversations for the same cores, and it labels every
answer relevant (a poem request answered with card brands too), so by default it would cost
minutes and say nothing.

After the conversations one pass runs by hand (so what is printed does not depend on how many
scheduler ticks the traffic lasted), then the rule's status: evaluated, backlog, results.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import tenbin.evals as ev
from tenbin.cli_online import ls
from tenbin.client import Client
from tenbin.demo import PROJECT, console

RULE = "docs-bot-answers"
FILTER = 'kind == "AGENT"'
SAMPLING_RATE = 0.3
CHECKS: dict[str, tuple[ev.registry.Spec, str]] = {
    "regex": ({"name": "regex", "params": {"pattern": r"\A(?!From [^\n:]+: )"}},
              "the model answered (not the bot's fallback)"),
    "length": ({"name": "length", "params": {"max_chars": 700}}, "at most 700 characters"),
    "latency": ({"name": "latency", "params": {"max_ms": 20_000}}, "answered within 20 s"),
}
"""Feedback name → (evaluator spec, what a pass means)."""
JUDGE = "answer_relevance"


def evaluators(judge: bool = False) -> list[ev.registry.Spec]:
    return [spec for spec, _ in CHECKS.values()] + ([JUDGE] if judge else [])


def page(url: str, project: str = PROJECT) -> str:
    return f"{url}/projects/{project}/online-evals"


def create_rule(url: str, *, judge: bool = False, project: str = PROJECT) -> dict[str, Any]:
    """The rule over the answers to come (no backfill: the project is fresh)."""
    rule = ev.create_online_rule(RULE, evaluators(judge), project=project, filter=FILTER, sampling_rate=SAMPLING_RATE,
                                 endpoint=url)
    names = ", ".join(spec if isinstance(spec, str) else spec["name"] for spec in evaluators(judge))
    console.print(f"online eval rule {RULE!r}: {SAMPLING_RATE:.0%} of the answers ({FILTER}) scored by {names} "
                  f"while the bot runs → {page(url, project)}")
    return rule


def pass_rates(url: str, project: str = PROJECT) -> dict[str, tuple[float, int]]:
    """Per evaluator: (mean score, answers scored), from the feedback on each answer (the trace root)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    with Client(url) as client:
        for trace in client.traces(project, limit=None):
            for name, summary in (trace.get("feedback") or {}).items():
                if name in CHECKS or name == JUDGE:
                    totals[name][0] += summary["mean"] * summary["count"]
                    totals[name][1] += summary["count"]
    return {name: (total / n, int(n)) for name, (total, n) in totals.items() if n}


def report(url: str, project: str = PROJECT) -> dict[str, Any]:
    """One pass by hand, then the rule's status and results; returns the rule."""
    console.rule("Online eval rule")
    before = ev.get_online_rule(RULE, project=project, endpoint=url)["evaluated"]
    with console.status("one pass of the online rule over the answers still waiting"):
        ran = ev.run_online_rules(project, RULE, endpoint=url)[0]
    rule = ev.get_online_rule(RULE, project=project, endpoint=url)
    console.print(f"the server's scheduler scored {before} answers while the bot ran; the pass by hand scored "
                  f"{ran['evaluated']} more ({ran['outcome']}{': ' + ran['error'] if ran.get('error') else ''}).")
    ls(project=project, as_json=False, endpoint=url, api_key=None)
    for name, (mean, n) in pass_rates(url, project).items():
        meaning = CHECKS[name][1] if name in CHECKS else "the local model's relevance verdict"
        console.print(f"  {name}: {mean:.0%} of {n} sampled answers pass — {meaning}")
    console.print(f"evaluated {rule['evaluated']}, backlog {rule['backlog']}, state {rule['state']} → "
                  f"[bold]{page(url, project)}[/bold]")
    return rule
