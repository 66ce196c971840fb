"""`tenbin prompts generate`: automatic prompt generation on the server, with a progress bar and the
ranked table; `--save-best NAME` stores the winner as the next version of prompt NAME.

    tenbin prompts generate --project shop --dataset faq --task "Answer in one sentence" --n 4 \\
        --evaluator contains --input-var question --save-best support --label staging
    tenbin prompts generate --project shop --rerun 7      # run 7 again (e.g. interrupted), same request
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tenbin.autoprompt import sdk
from tenbin.autoprompt.plan import evaluator_spec
from tenbin.cli_prompts import (
    ApiKey,
    Endpoint,
    Project,
    _client,
    _project,
    _run,
    console,
    prompts_app,
)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def ranked_table(run: dict[str, Any]) -> Table:
    """Candidates best first; invalid ones last, with the reason instead of a score."""
    table = Table("rank", "#", "parts", "score", "95% interval", "errors", "tokens", "latency ms")
    for c in run["candidates"]:
        s = c["summary"] or {}
        if c["status"] == "invalid":
            table.add_row("–", str(c["position"]), f"[red]invalid:[/red] {c['error']}", "–", "–", "–", "–", "–")
            continue
        interval = f"{_fmt(s.get('low'))} – {_fmt(s.get('high'))}" if s.get("low") is not None else "–"
        table.add_row(str(c["rank"] or "–"), str(c["position"]), c["parts"], _fmt(s.get("score")), interval,
                      str(s.get("errors", "–")), str((s.get("prompt_tokens") or 0) + (s.get("completion_tokens") or 0)),
                      _fmt(s.get("latency_ms_mean")))
    return table


@prompts_app.command("generate")
def generate(
    dataset: Annotated[str | None, typer.Option(help="dataset whose examples score the candidates")] = None,
    task: Annotated[str | None, typer.Option(help="what the prompt should make the model do")] = None,
    n: Annotated[int, typer.Option(help="candidates to generate (1-12)")] = 4,
    evaluator: Annotated[str, typer.Option(help="contains (the expected output), exact_match, regex, json_schema, a judge…")] = "contains",
    params: Annotated[str | None, typer.Option(help='evaluator params as JSON, e.g. \'{"pattern": "\\\\d+"}\'')] = None,
    input_var: Annotated[str | None, typer.Option(help="variable a text input goes into (default: input)")] = None,
    base: Annotated[str | None, typer.Option(help="NAME@VERSION to improve on (scored as candidate 0)")] = None,
    shots: Annotated[int, typer.Option(help="few-shot pool, held out of scoring")] = 2,
    limit: Annotated[int, typer.Option(help="score on at most this many examples")] = 50,
    save_best: Annotated[str | None, typer.Option(help="save the best candidate as the next version of this prompt")] = None,
    label: Annotated[str | None, typer.Option(help="with --save-best: also move this label to it")] = None,
    rerun: Annotated[int | None, typer.Option(help="instead: run this stored run again with its request as it was "
                                                   "resolved (dataset and base prompt versions, evaluator)")] = None,
    project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Generate N candidate prompts for TASK, score each over DATASET, show them ranked (or, with
    --rerun ID, run a stored run again)."""
    if (rerun is None) != bool(dataset and task) or (rerun is not None and (dataset or task)):
        console.print("[red]error:[/red] give --dataset and --task, or --rerun ID alone (it takes that run's dataset, "
                      "task and options)")
        raise typer.Exit(code=1)
    options = {"n": n, "evaluator": _run(lambda: evaluator_spec(evaluator, params, "--params")), "input_var": input_var,
               "base_prompt": base, "shots": shots, "limit": limit}
    keys = {"endpoint": endpoint, "api_key": api_key}
    with _client(endpoint, api_key), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                               console=console, transient=True) as progress:
        started = sdk.rerun_generation(rerun, background=True, **keys) if rerun is not None else \
            sdk.start_generation(dataset, task, project=_project(project), **keys, **options)
        bar = progress.add_task(f"run #{started['id']}: the model is proposing candidates", total=None)

        def show(run: dict[str, Any]) -> None:
            if run["status"] == "scoring":
                progress.update(bar, description=f"run #{run['id']}: scoring answers", completed=run["done"],
                                total=run["total"])

        run = sdk.wait(started["id"], progress=show, **keys)
    console.print(f"run #{run['id']} on dataset {run['dataset']} v{run['dataset_version']} with "
                  f"{run['spec']['evaluator_resolved']['name']}, model {run['model']}: {run['status']}")
    for note in run["notes"] or []:
        console.print(f"  note: {note}", soft_wrap=True)
    if run["status"] != "done":
        console.print(f"[red]error:[/red] {run['error']}", soft_wrap=True)
        raise typer.Exit(code=1)
    console.print(ranked_table(run))
    best = next((c for c in run["candidates"] if c["rank"] == 1), None)
    if save_best and best:
        with _client(endpoint, api_key):
            saved = sdk.save_candidate(run["id"], best["position"], save_best, label=label, **keys)
        console.print(f"saved candidate {best['position']} as {saved['name']} version {saved['version']}"
                      + (f" ({label})" if label else ""))
