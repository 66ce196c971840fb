"""`tenbin prompts …`: push a prompt from YAML, pull one back to YAML, move labels, diff, list.

A prompt file is what `pull` writes and `push` reads, so `pull -o f.yaml`, edit, `push f.yaml`
is the whole editing loop:

    name: greeting
    template: "Hello {{ name }}"        # or messages: [{role: system, content: ...}, ...]
    variables: [{name: name, type: string}]
    model: smollm2-135m-instruct
    params: {temperature: 0.2}
    examples: [{input: Hi, output: Hello!}]
    message: friendlier greeting
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

from tenbin import config
from tenbin.client import Client
from tenbin.errors import InvalidInput, TenbinError

prompts_app = typer.Typer(help="Prompt registry: versions, labels, diffs.", no_args_is_help=True)
console = Console()
FILE_FIELDS = ("name", "template", "messages", "format", "variables", "model", "params", "examples", "message")

Endpoint = Annotated[str | None, typer.Option("--endpoint", help="default: TENBIN_ENDPOINT or http://127.0.0.1:6206")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="default: TENBIN_API_KEY")]
Project = Annotated[str | None, typer.Option("--project", "-p", help="default: TENBIN_PROJECT or 'default'")]


@contextmanager
def _client(endpoint: str | None, api_key: str | None) -> Iterator[Client]:
    """A client whose errors end the command with the server's message (exit code 1)."""
    try:
        with Client(endpoint, api_key) as client:
            yield client
    except TenbinError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    except httpx.TransportError as exc:
        console.print(f"[red]error:[/red] cannot reach the tenbin server ({exc}); start it with `tenbin serve` "
                      "or set TENBIN_ENDPOINT / --endpoint")
        raise typer.Exit(code=1) from exc


def _project(project: str | None) -> str:
    return config.PROJECT.get(project) or "default"


def load_file(path: Path) -> dict[str, Any]:
    """The YAML prompt file as a mapping; a clear InvalidInput for anything else."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must be a YAML mapping with at least `name` and `template` (or `messages`)")
    return data


def dump_version(version: dict[str, Any]) -> str:
    """A fetched version as a prompt file that `push` accepts again."""
    data = {k: version[k] for k in FILE_FIELDS if version.get(k) not in (None, "", [], {})}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except InvalidInput as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc


@prompts_app.command("push")
def push(file: Path, label: Annotated[list[str], typer.Option("--label", "-l", help="also move this label to it (repeatable)")] = [],  # noqa: B006
         author: Annotated[str | None, typer.Option(help="recorded with the version and label moves")] = None,
         project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Store FILE.yaml as the next version of its prompt."""
    data = _run(lambda: load_file(file))
    if author:
        data.setdefault("author", author)
    with _client(endpoint, api_key) as client:
        stored = client.push_prompt(data, project=_project(project))
        for name in label:
            client.move_prompt_label(stored["name"], name, stored["version"], _project(project), author=author)
    console.print(f"pushed {stored['name']} version {stored['version']}" + (f" ({', '.join(label)})" if label else ""))


@prompts_app.command("pull")
def pull(name: str, label: Annotated[str | None, typer.Option("--label", "-l")] = None,
         version: Annotated[int | None, typer.Option("--version", "-v")] = None,
         output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
         project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Fetch a version (by label or number; the newest by default) as a prompt file."""
    with _client(endpoint, api_key) as client:
        found = client.prompt(name, _project(project), label=label, version=version)
    text = dump_version(found)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {name} version {found['version']} to {output}")


@prompts_app.command("label")
def label(name: str, label: str, version: int,
          author: Annotated[str | None, typer.Option()] = None,
          reason: Annotated[str, typer.Option(help="why, kept in the audit log")] = "",
          project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Point LABEL of prompt NAME at VERSION (a rollback is a move back)."""
    with _client(endpoint, api_key) as client:
        move = client.move_prompt_label(name, label, version, _project(project), author=author, reason=reason)
    before = "nothing" if move["from_version"] is None else f"version {move['from_version']}"
    console.print(f"{name}: {label} moved from {before} to version {move['to_version']}")


@prompts_app.command("diff")
def diff(name: str, v1: int, v2: int, project: Project = None, endpoint: Endpoint = None,
         api_key: ApiKey = None) -> None:
    """Show what changed from version V1 to V2: the template as a unified diff, then other fields."""
    with _client(endpoint, api_key) as client:
        result = client.prompt_diff(name, v1, v2, _project(project))
    typer.echo(result["template_diff"] or "(templates are identical)\n", nl=False)
    for change in result["fields"]:
        typer.echo(f"{change['field']}: {yaml.safe_dump(change['from'], default_flow_style=True).strip()} -> "
                   f"{yaml.safe_dump(change['to'], default_flow_style=True).strip()}")


@prompts_app.command("ls")
def ls(project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """List the project's prompts with their newest version and labels."""
    with _client(endpoint, api_key) as client:
        prompts = client.prompts(_project(project))
    table = Table("name", "latest", "versions", "labels")
    for p in prompts:
        table.add_row(p["name"], str(p["latest_version"]), str(p["versions"]),
                      ", ".join(f"{k}→v{v}" for k, v in p["labels"].items()))
    console.print(table)


import tenbin.cli_autoprompt  # noqa: F401 - registers `tenbin prompts generate` (it needs the helpers above)
