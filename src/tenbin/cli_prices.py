"""`tenbin prices …`: the model price table that computed costs come from, through a running server.

    tenbin prices list -p shop                     # own, global and built-in prices, the winner first
    tenbin prices set "gpt-4o-mini*" --prompt 0.15 --completion 0.60 -p shop
    tenbin prices set acme-large --prompt 2 --completion 8 --valid-from 2026-01-01 -p shop
    tenbin prices delete 3 -p shop
    tenbin prices recompute --start 2026-01-01 -p shop   # re-price past spans with today's table

A new price applies to spans priced from then on; `recompute` re-prices spans already stored.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table
from rich.text import Text

from tenbin.cli_prompts import ApiKey, Endpoint, Project, _client, _project, console

prices_app = typer.Typer(help="Model prices (USD per 1M tokens) for costs computed from token counts.",
                         no_args_is_help=True)
Time = Annotated[str | None, typer.Option(help="ISO-8601 time (UTC) or epoch seconds")]


def _usd(value: float) -> str:
    return f"{value:g}"


@prices_app.command("list")
def list_prices(builtin: Annotated[bool, typer.Option(help="also show the built-in list prices")] = True,
                project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """The prices the project sees, in precedence order (the first that matches a span wins)."""
    with _client(endpoint, api_key) as client:
        rows = client.model_prices(_project(project))
    table = Table("id", "scope", Column("pattern", no_wrap=True), "kind", "prompt $/1M", "completion $/1M", "valid from")
    for p in rows:
        if builtin or p["scope"] != "builtin":
            table.add_row(str(p["id"] or "–"), p["scope"], Text(p["pattern"]), p["kind"], _usd(p["prompt_per_1m"]),
                          _usd(p["completion_per_1m"]), (p["valid_from"] or "always")[:19])
    console.print(table)


@prices_app.command("set")
def set_price(pattern: Annotated[str, typer.Argument(help="gpt-4o (exact), gpt-4o-mini* (glob) or re:<regex>")],
              prompt: Annotated[float, typer.Option(help="USD per 1M prompt tokens")],
              completion: Annotated[float, typer.Option(help="USD per 1M completion tokens")],
              valid_from: Time = None,
              is_global: Annotated[bool, typer.Option("--global", help="a price every project sees")] = False,
              project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Add a price, or change the one with the same pattern and valid-from time."""
    with _client(endpoint, api_key) as client:
        got = client.set_model_price(pattern, prompt, completion, _project(project), valid_from, is_global)
    when = f"from {got['valid_from'][:19]}" if got["valid_from"] else "for every span"
    console.print(f"{'added' if got['created'] else 'changed'} {got['scope']} price {got['id']}: {got['pattern']!r} "
                  f"${_usd(got['prompt_per_1m'])} prompt, ${_usd(got['completion_per_1m'])} completion per 1M tokens, "
                  f"{when}; run `tenbin prices recompute` to re-price stored spans", soft_wrap=True, markup=False)


@prices_app.command("delete")
def delete(price_id: int, project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Remove a price (built-in prices cannot be removed: set your own to override one)."""
    with _client(endpoint, api_key) as client:
        client.delete_model_price(price_id, _project(project))
    console.print(f"deleted price {price_id}")


@prices_app.command("recompute")
def recompute(start: Time = None, end: Time = None, project: Project = None, endpoint: Endpoint = None,
              api_key: ApiKey = None) -> None:
    """Price the spans starting in [--start, --end) again with today's prices; the app's own costs stay."""
    with _client(endpoint, api_key) as client:
        got = client.recompute_costs(_project(project), start, end)
    console.print(f"{got['spans']} spans re-priced: {got['computed']} with a computed cost, {got['unpriced']} "
                  f"without a price or token counts", soft_wrap=True)
