"""`tenbin eval online …`: online eval rules on a running server (they run in its background)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from tenbin.cli_eval import ApiKey, Endpoint, _fail, _specs, console
from tenbin.errors import TenbinError

online_app = typer.Typer(help="Online evals: rules that score new spans in the server's background.",
                         no_args_is_help=True)
Project = Annotated[str, typer.Option("--project", "-p")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _names(rule: dict[str, Any]) -> str:
    return ", ".join(e if isinstance(e, str) else e["name"] for e in rule["evaluators"])


def _table(items: list[dict[str, Any]]) -> None:
    table = Table("rule", "state", "filter", "rate", "evaluators", "backlog", "evaluated")
    for r in items:
        rate = f"{r['sampling_rate']:g}" + (f" ≤{r['max_per_minute']}/min" if r["max_per_minute"] else "")
        table.add_row(r["name"], r["state"], r["filter"] or "(every span)", rate, _names(r), str(r["backlog"]),
                      str(r["evaluated"]))
    console.print(table)
    for r in items:
        if r["last_error"]:
            console.print(f"[red]{r['name']}[/red]: {r['last_error']} (next attempt {r['next_attempt']})", soft_wrap=True)


@online_app.command("add")
def add(
    name: str,
    project: Project = "default",
    evaluators: Annotated[str, typer.Option("--evaluators", "-e", help="comma-separated, e.g. json_valid,qa_correctness")] = "",
    evaluator: Annotated[list[str], typer.Option("--evaluator", help="one with params, as JSON (repeatable)")] = [],  # noqa: B006
    filter: Annotated[str, typer.Option("--filter", "-f", help='which spans, e.g. kind == "LLM"')] = "",
    rate: Annotated[float, typer.Option("--rate", help="share of matching spans evaluated, in (0, 1]")] = 1.0,
    max_per_minute: Annotated[int | None, typer.Option(help="most spans evaluated per minute")] = None,
    backfill: Annotated[bool, typer.Option(help="also evaluate spans stored before the rule")] = False,
    disabled: Annotated[bool, typer.Option(help="create it disabled")] = False,
    endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Add a rule: the server evaluates matching new spans in its background from now on."""
    from tenbin.evals import create_online_rule

    try:
        rule = create_online_rule(name, _specs(evaluators, evaluator), project=project, filter=filter,
                                  sampling_rate=rate, max_per_minute=max_per_minute, enabled=not disabled,
                                  backfill=backfill, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    console.print(f"rule {rule['name']!r} added to {project!r}: {rule['backlog']} spans waiting", soft_wrap=True)


@online_app.command("ls")
def ls(project: Project = "default", as_json: AsJson = False, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """The project's rules with their state, backlog and results so far."""
    from tenbin.evals import list_online_rules

    try:
        items = list_online_rules(project, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if as_json:
        return _print_json(items)
    if not items:
        console.print(f"project {project!r} has no online eval rules; add one with `tenbin eval online add`")
        return None
    _table(items)
    return None


STATUS_FIELDS = ("state", "enabled", "filter", "sampling_rate", "max_per_minute", "backlog", "pending", "evaluated",
                 "unsampled", "skipped", "error", "evaluated_last_minute", "failures", "last_error", "last_attempt",
                 "next_attempt", "last_success", "since")


@online_app.command("status")
def status(name: str, project: Project = "default", as_json: AsJson = False, endpoint: Endpoint = None,
           api_key: ApiKey = None) -> None:
    """One rule in full: backlog, outcomes, failures, last error and when it is tried next."""
    from tenbin.evals import get_online_rule

    try:
        rule = get_online_rule(name, project=project, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if as_json:
        return _print_json(rule)
    table = Table("field", "value", title=f"rule {rule['name']} · evaluators: {_names(rule)}")
    for key in STATUS_FIELDS:
        table.add_row(key, "" if rule[key] is None else str(rule[key]))
    console.print(table)
    return None


@online_app.command("run")
def run(name: Annotated[str | None, typer.Argument(help="one rule (even if disabled); default every enabled rule")] = None,
        project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """One pass now, ignoring back-off; exits 1 when a rule failed (e.g. the LLM endpoint is down)."""
    from tenbin.evals import run_online_rules

    try:
        results = run_online_rules(project, name, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    table = Table("rule", "outcome", "scanned", "evaluated", "note")
    for r in results:
        note = r["error"] or ("rate limit reached; the next pass carries on" if r["rate_limited"] else "")
        table.add_row(r["rule"], r["outcome"], str(r["scanned"]), str(r["evaluated"]), note[:80])
    console.print(table)
    if any(r["outcome"] == "failed" for r in results):
        raise typer.Exit(code=1)


def _toggle(name: str, enabled: bool, project: str, endpoint: str | None, api_key: str | None) -> None:
    from tenbin.evals import enable_online_rule

    try:
        rule = enable_online_rule(name, enabled, project=project, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    console.print(f"rule {rule['name']!r} is {'enabled' if rule['enabled'] else 'disabled'}")


@online_app.command("enable")
def enable(name: str, project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Enable a rule (also clears its back-off, so the next tick tries it)."""
    _toggle(name, True, project, endpoint, api_key)


@online_app.command("disable")
def disable(name: str, project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    _toggle(name, False, project, endpoint, api_key)


@online_app.command("rm")
def rm(name: str, project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Delete a rule; the results it stored stay on the spans."""
    from tenbin.evals import delete_online_rule

    try:
        delete_online_rule(name, project=project, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    console.print(f"rule {name!r} deleted from {project!r}")
