"""`tenbin` command line: a thin typer app over the library and the REST client."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from tenbin import config
from tenbin.cli_analyze import analyze
from tenbin.cli_datasets import datasets_app
from tenbin.cli_embed import embed
from tenbin.cli_eval import eval_app
from tenbin.cli_experiments import ab_app
from tenbin.cli_llm import llm_app
from tenbin.cli_monitors import monitors_app, report
from tenbin.cli_online import online_app
from tenbin.cli_prices import prices_app
from tenbin.cli_prompts import prompts_app
from tenbin.cli_queues import queues_app
from tenbin.errors import TenbinError

app = typer.Typer(help="tenbin: observe, evaluate and improve LLM apps.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
spans_app = typer.Typer(help="Spans.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(spans_app, name="spans")
app.add_typer(llm_app, name="llm")
app.add_typer(eval_app, name="eval")
eval_app.add_typer(online_app, name="online")
app.add_typer(prompts_app, name="prompts")
app.add_typer(ab_app, name="ab")
app.command("embed")(embed)
app.command("analyze")(analyze)
app.add_typer(datasets_app, name="datasets")
app.add_typer(monitors_app, name="monitors")
app.add_typer(prices_app, name="prices")
app.add_typer(queues_app, name="queues")
app.command("report")(report)
console = Console()

DbUrl = Annotated[str | None, typer.Option("--database-url", help="default: TENBIN_DATABASE_URL or ~/.tenbin/tenbin.db")]
Endpoint = Annotated[str | None, typer.Option("--endpoint", help="default: TENBIN_ENDPOINT or http://127.0.0.1:6206")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="default: TENBIN_API_KEY")]
Project = Annotated[str, typer.Option("--project", "-p")]
Filter = Annotated[str, typer.Option("--filter", "-f", help='e.g. kind == "LLM" and latency_ms > 2000')]


def _fail(exc: TenbinError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: TENBIN_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: TENBIN_PORT or 6206")] = None,
    database_url: DbUrl = None,
) -> None:
    """Run the server: OTLP ingest at /v1/traces, REST API at /api/v1 (docs at /docs)."""
    import uvicorn

    from tenbin.server.app import create_app

    host, port = config.HOST.get(host), config.PORT.get_int(port)
    if not _is_loopback(host) and not config.AUTH.get_bool():
        console.print(f"[red]error:[/red] refusing to listen on {host} without authentication; "
                      "set TENBIN_AUTH=1 and create keys with `tenbin keys create`, or use 127.0.0.1")
        raise typer.Exit(code=2)
    console.print(f"tenbin listening on http://{host}:{port}  (OTLP: http://{host}:{port}/v1/traces)")
    uvicorn.run(create_app(database_url), host=host, port=port, log_level="warning")


@db_app.command("upgrade")
def db_upgrade(database_url: DbUrl = None, revision: str = "head") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from tenbin.store import migrate
    from tenbin.store.engine import make_engine

    engine = make_engine(database_url)
    migrate.upgrade(engine, revision)
    console.print(f"database at revision {migrate.current_revision(engine)}")


@keys_app.command("create")
def keys_create(project: Project, scopes: str = "read,write", name: str = "", database_url: DbUrl = None) -> None:
    """Create an API key for PROJECT; it is printed once and stored only as a hash."""
    from tenbin.store import migrate
    from tenbin.store.engine import make_engine
    from tenbin.store.keys import create_key

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    try:
        key = create_key(engine, project, scopes, name)
    except TenbinError as exc:
        raise _fail(exc) from exc
    console.print(f"API key for project {project!r} (scopes {scopes}); store it now, it is not shown again:")
    typer.echo(key)


@spans_app.command("ls")
def spans_ls(project: Project = "default", filter: Filter = "", limit: int = 20,
             endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """List spans, newest first, from a running server."""
    from tenbin.client import Client

    try:
        with Client(endpoint, api_key) as client:
            spans = client.spans(project, filter, limit=limit)
    except TenbinError as exc:
        raise _fail(exc) from exc
    table = Table("start", "span_id", "kind", "name", "latency ms", "tokens", "model", "status")
    for s in spans:
        table.add_row(s["start_time"][:19], s["span_id"], s["kind"], s["name"][:40], f"{s['latency_ms']:.0f}",
                      str(s["total_tokens"] or ""), s["model"] or "", s["status"])
    console.print(table)
    console.print(f"{len(spans)} spans")


JSON_COLUMNS = ("prompt_variables", "tags", "metadata", "attributes", "events")


@app.command()
def export(output: Path, project: Project = "default", filter: Filter = "",
           format: Annotated[str, typer.Option("--format", help="jsonl or parquet")] = "jsonl",
           endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Export every matching span to OUTPUT as JSON lines or Parquet."""
    from tenbin.client import Client

    if format not in ("jsonl", "parquet"):
        raise _fail(TenbinError(f"unknown format {format!r}; use jsonl or parquet"))
    rows: list[dict[str, Any]] = []
    try:
        with Client(endpoint, api_key) as client, Progress(console=console) as progress:
            task = progress.add_task("exporting spans", total=None)
            for span in client.iter_spans(project, filter):
                rows.append(span)
                progress.advance(task)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if format == "jsonl":
        with output.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        import pandas as pd

        frame = pd.DataFrame([{k: json.dumps(v) if k in JSON_COLUMNS else v for k, v in r.items()} for r in rows])
        frame.to_parquet(output, index=False)
    console.print(f"wrote {len(rows)} spans to {output}")
