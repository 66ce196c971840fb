"""`tenbin embed`: embed a project's LLM spans in-process, straight against the database, with a
progress bar; interrupt it (Ctrl-C) and run it again to resume at the last committed batch."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tenbin import jobs
from tenbin.analytics.embedding import DEFAULT_BATCH
from tenbin.errors import TenbinError

console = Console()


def _bar(progress: Progress, task: int) -> jobs.ProgressFn:
    def update(p: jobs.Progress) -> None:
        progress.update(task, completed=p.processed, total=p.total)
    return update


def embed(
    project: Annotated[str, typer.Option("--project", "-p")],
    model: Annotated[str, typer.Option(help="minilm (default, local), wordllama (fast, static) or openai")] = "minilm",
    field: Annotated[str, typer.Option(help="input, output or both")] = "both",
    batch_size: Annotated[int, typer.Option(help="spans per batch (and per checkpoint)")] = DEFAULT_BATCH,
    embedding_model: Annotated[str, typer.Option(help="with --model openai: the endpoint's model name")] = "",
    kind: Annotated[str, typer.Option(help="span kind: LLM (default) or e.g. AGENT to embed what users asked")] = "LLM",
    base_url: Annotated[str | None, typer.Option(help="with --model openai; default TENBIN_LLM_BASE_URL")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: TENBIN_DATABASE_URL or ~/.tenbin/tenbin.db")] = None,
) -> None:
    """Embed the input and/or output of every LLM (or --kind) span not embedded yet (resumable, idempotent)."""
    from tenbin.analytics.embedders import get_embedder
    from tenbin.analytics.embedding import embed_job
    from tenbin.store.engine import make_engine

    engine = make_engine(database_url)
    try:
        embedder = get_embedder(model, model=embedding_model, base_url=base_url)
        job = embed_job(engine, project, embedder, field, batch_size, kind)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console) as progress:
            task = progress.add_task(f"embedding {project} with {embedder.name}", total=None)
            final = jobs.run_job(engine, job, _bar(progress, task))
    except TenbinError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    console.print(f"done: {final['processed']} {kind} spans scanned; job {job.name!r} is {final['status']}", soft_wrap=True)
