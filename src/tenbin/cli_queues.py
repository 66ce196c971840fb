"""`tenbin queues …`: annotation queues and their score configs on a running server (review in the UI,
or with `Client.next_queue_item` / `complete_queue_item`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from tenbin.cli_datasets import ApiKey, Endpoint, Project, console, fail
from tenbin.errors import TenbinError

if TYPE_CHECKING:
    from tenbin.client import Client

queues_app = typer.Typer(help="Annotation queues: spans for people to score.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
T = TypeVar("T")


def _ask(endpoint: str | None, api_key: str | None, call: Callable[[Client], T]) -> T:
    """`call` on a client of the server; an error it answers ends the command with its message."""
    from tenbin.client import Client

    try:
        with Client(endpoint, api_key) as client:
            return call(client)
    except TenbinError as exc:
        raise fail(exc) from exc


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _split(values: list[str]) -> list[str]:
    """Repeated options, each possibly comma-separated."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _describe(config: dict[str, Any]) -> str:
    if config["type"] == "categorical":
        return f"{config['name']} ({' | '.join(config['labels'])})"
    if config["type"] == "numeric":
        return f"{config['name']} ({config['min_value']:g}–{config['max_value']:g})"
    return f"{config['name']} (yes/no)"


@queues_app.command("list")
def list_queues(project: Project = "default", as_json: AsJson = False, endpoint: Endpoint = None,
                api_key: ApiKey = None) -> None:
    """The project's queues with their score configs and progress."""
    items = _ask(endpoint, api_key, lambda c: c.annotation_queues(project))
    if as_json:
        return _print_json(items)
    if not items:
        console.print(f"project {project!r} has no annotation queues; create one with `tenbin queues create`")
        return None
    table = Table("queue", "score configs", "done", "skipped", "pending", "total")
    for q in items:
        p = q["progress"]
        table.add_row(q["name"], ", ".join(c["name"] for c in q["configs"]), str(p["done"]), str(p["skipped"]),
                      str(p["pending"]), str(p["total"]))
    console.print(table)
    return None


@queues_app.command("config")
def create_config(
    name: str,
    type: Annotated[str, typer.Option("--type", "-t", help="categorical, numeric or boolean")],
    labels: Annotated[list[str], typer.Option("--labels", "-l", help="categorical: e.g. correct,incorrect,partially")] = [],  # noqa: B006
    min_value: Annotated[float | None, typer.Option("--min", help="numeric: lowest answer")] = None,
    max_value: Annotated[float | None, typer.Option("--max", help="numeric: highest answer")] = None,
    description: str = "", project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Create a score config: one annotation dimension that queues ask reviewers to fill."""
    made = _ask(endpoint, api_key, lambda c: c.create_score_config(
        name, type, project, labels=_split(labels) or None, min_value=min_value, max_value=max_value,
        description=description))
    console.print(f"score config {_describe(made)} created in {project!r}", soft_wrap=True)


@queues_app.command("create")
def create(
    name: str,
    configs: Annotated[list[str], typer.Option("--config", "-c", help="score config names, in order (repeatable or comma-separated)")],
    description: str = "", project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Create a queue asking for the given score configs (create them with `tenbin queues config`)."""
    made = _ask(endpoint, api_key, lambda c: c.create_annotation_queue(name, _split(configs), project,
                                                                       description=description))
    console.print(f"queue {made['name']!r} created: {', '.join(_describe(c) for c in made['configs'])}", soft_wrap=True)


@queues_app.command("add")
def add(
    name: str,
    span: Annotated[list[str], typer.Option("--span", help="span id (repeatable or comma-separated)")] = [],  # noqa: B006
    trace: Annotated[list[str], typer.Option("--trace", help="trace id: adds its root span")] = [],  # noqa: B006
    filter: Annotated[str | None, typer.Option("--filter", "-f", help='spans matching, e.g. kind == "LLM"')] = None,
    limit: Annotated[int, typer.Option(help="with --filter: the newest matching spans")] = 100,
    project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Add spans to a queue by id, by trace (its root span) or by filter."""
    result = _ask(endpoint, api_key, lambda c: c.add_to_queue(name, project, span_ids=_split(span),
                                                              trace_ids=_split(trace), filter=filter, limit=limit))
    console.print(f"added {result['added']} span(s) to {name!r}; {result['already']} were already in it")


@queues_app.command("show")
def show(name: str, status: Annotated[str | None, typer.Option(help="pending, done or skipped")] = None,
         limit: int = 50, project: Project = "default", as_json: AsJson = False, endpoint: Endpoint = None,
         api_key: ApiKey = None) -> None:
    """A queue's configs, progress and items (oldest first)."""
    queue, items = _ask(endpoint, api_key, lambda c: (c.annotation_queue(name, project),
                                                      c.queue_items(name, project, status=status, limit=limit)))
    if as_json:
        return _print_json({**queue, "items": items})
    p = queue["progress"]
    console.print(f"[bold]{queue['name']}[/bold] {queue['description']}", soft_wrap=True)
    console.print(f"scores: {', '.join(_describe(c) for c in queue['configs'])}", soft_wrap=True)
    console.print(f"{p['done']} done, {p['skipped']} skipped, {p['pending']} pending of {p['total']}")
    table = Table("item", "status", "span", "name", "reviewer", "when")
    for i in items:
        who = i["completed_by"] or (f"{i['reviewer']} (reviewing)" if i["reviewer"] else "")
        table.add_row(str(i["id"]), i["status"], i["span_id"], i.get("span_name") or "", who,
                      (i["completed_at"] or "")[:19])
    console.print(table)
    return None
