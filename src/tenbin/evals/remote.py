"""The SDK path: evaluate spans on a tenbin server, over REST, so it works against a remote one.

Built-in evaluators (and judges, on the server's model) run in the server via `POST /evals/run`.
Functions registered with `tenbin.evals.register` exist only in this process, so they run here on
spans read over REST, and their results are posted back as feedback: every view shows both alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenbin.client import Client
from tenbin.errors import InvalidInput
from tenbin.evals import code, registry, spans
from tenbin.evals.runner import plan, run_pairs


def _name(spec: registry.Spec) -> str:
    return spec if isinstance(spec, str) else str(spec.get("name", ""))


def evaluate_spans(span_ids: Sequence[str] | None, evaluators: Sequence[registry.Spec], *,
                   project: str | None = None, filter: str = "", limit: int = 100, skip_missing: bool = False,
                   endpoint: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """Run `evaluators` on spans (ids, or the newest `limit` of project+filter); results become feedback."""
    if not evaluators:
        raise InvalidInput(f"name at least one evaluator; known: {', '.join(registry.names())}")
    local = [s for s in evaluators if _name(s) in code.USER]
    remote = [s for s in evaluators if _name(s) not in code.USER]
    report: dict[str, Any] = {"results": [], "skipped": [], "evaluators": [], "stored": 0}
    with Client(endpoint, api_key) as client:
        if not span_ids and local:
            if not project:
                raise InvalidInput("name the spans: give span_ids, or a project (and optionally a filter)")
            span_ids = [s["span_id"] for s in client.spans(project, filter, limit=limit)]
        if remote:
            body = {"evaluators": remote, "span_ids": list(span_ids or []) or None, "project": project,
                    "filter": filter, "limit": limit, "skip_missing": skip_missing}
            report = client._request("POST", "/evals/run", json=body)  # noqa: SLF001 - the client's one HTTP path
        if local:
            _merge(report, _run_local(client, list(span_ids or []), local, skip_missing))
    return report


def _run_local(client: Client, span_ids: list[str], specs: list[registry.Spec], skip_missing: bool) -> dict[str, Any]:
    evaluators = registry.resolve(specs)
    needs = {n for e in evaluators for n in e.requires}
    inputs = [_load(client, sid, needs) for sid in dict.fromkeys(span_ids)]
    todo = plan(inputs, evaluators, skip_missing)
    results = run_pairs(todo.pairs)
    for result in results:
        client.feedback(result.span_id, **result.feedback())
    return {"results": [r.to_dict() for r in results], "skipped": todo.skipped,
            "evaluators": [e.describe() for e in evaluators], "stored": len(results)}


def _load(client: Client, span_id: str, needs: set[str]) -> spans.EvalInput:
    span = client.span(span_id)
    documents = spans.trace_documents(client.trace(span["trace_id"])) if "context" in needs else None
    conversation = None
    if "conversation" in needs and span.get("session_id"):
        conversation = spans.session_turns(client.session(span["session_id"], span["project"]))
    return spans.from_span(span, documents, conversation)


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key in ("results", "skipped", "evaluators"):
        into[key] = [*into.get(key, []), *more[key]]
    into["stored"] = into.get("stored", 0) + more["stored"]
