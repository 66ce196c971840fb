"""`tenbin llm …`: serve the local model, and check which LLM endpoint tenbin would call."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from tenbin import config
from tenbin.errors import LLMUnavailable

llm_app = typer.Typer(help="The LLM tenbin calls (local model or any OpenAI-compatible server).",
                      no_args_is_help=True)
console = Console()


@llm_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="TCP port; TENBIN_LLM_BASE_URL's default expects 6207")] = 6207,
    host: Annotated[str, typer.Option(help="address to bind; non-loopback needs TENBIN_LLM_API_KEY")] = "127.0.0.1",
    n_ctx: Annotated[int, typer.Option(help="context window in tokens")] = 8192,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: cores, at most 4)")] = None,
) -> None:
    """Serve SmolLM2-135M-Instruct (bundled, offline) over the OpenAI API until Ctrl-C."""
    from tenbin.cli import _is_loopback
    from tenbin.llm.local import LocalModelServer

    api_key = config.LLM_API_KEY.get() or None
    if not _is_loopback(host) and not api_key:
        console.print(f"[red]error:[/red] refusing to serve the model on {host} without a key; "
                      "set TENBIN_LLM_API_KEY, or use --host 127.0.0.1")
        raise typer.Exit(code=2)
    try:
        server = LocalModelServer(port, host, n_ctx=n_ctx, n_threads=threads, api_key=api_key)
        console.print("starting the local model …")
        with server:
            console.print(f"model {server.model!r} at {server.base_url}  (Ctrl-C stops it)")
            if server.base_url != config.LLM_BASE_URL.get():
                console.print(f"point tenbin at it: export TENBIN_LLM_BASE_URL={server.base_url}")
            code, log_tail = server.wait(), server.log_tail()
    except LLMUnavailable as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    except KeyboardInterrupt:
        console.print("stopped")
        return
    console.print(f"[red]error:[/red] the model server exited with code {code}:\n{log_tail}")
    raise typer.Exit(code=1)


@llm_app.command("status")
def status() -> None:
    """Is TENBIN_LLM_BASE_URL reachable, and does it serve TENBIN_LLM_MODEL?"""
    from tenbin.llm.local import models_at

    base_url, model = config.LLM_BASE_URL.get(), config.LLM_MODEL.get()
    try:
        models = models_at(base_url, config.LLM_API_KEY.get() or None)
    except LLMUnavailable as exc:
        console.print(f"[red]down:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    console.print(f"up: {base_url} serves {', '.join(models) or 'no models'}")
    if model not in models:
        console.print(f"[yellow]warning:[/yellow] TENBIN_LLM_MODEL={model!r} is not among them")
