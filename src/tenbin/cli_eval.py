"""`tenbin eval …`: run evaluators on a server's spans (or an experiment over a dataset, and run a
stored experiment again), list them, and calibrate a judge."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tenbin.errors import InvalidInput, TenbinError

eval_app = typer.Typer(help="Evaluations: code checks and LLM judges, stored as feedback on spans.",
                       no_args_is_help=True)
console = Console()

Endpoint = Annotated[str | None, typer.Option("--endpoint", help="default: TENBIN_ENDPOINT or http://127.0.0.1:6206")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="default: TENBIN_API_KEY")]


def _fail(exc: TenbinError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


def _specs(names: str, extra: list[str]) -> list[Any]:
    specs: list[Any] = [n.strip() for n in names.split(",") if n.strip()]
    for text in extra:
        try:
            specs.append(json.loads(text))
        except ValueError as exc:
            raise InvalidInput(f'--evaluator must be JSON like {{"name": "regex", "params": {{"pattern": "\\\\d"}}}}: {exc}') from exc
    return specs


@eval_app.command("run")
def run(
    evaluators: Annotated[str, typer.Option("--evaluators", "-e", help="comma-separated, e.g. qa_correctness,json_valid")] = "",
    evaluator: Annotated[list[str], typer.Option("--evaluator", help='one with params, as JSON (repeatable)')] = [],  # noqa: B006
    project: Annotated[str | None, typer.Option("--project", "-p")] = None,
    filter: Annotated[str, typer.Option("--filter", "-f", help='e.g. kind == "LLM"')] = "",
    span_id: Annotated[list[str], typer.Option("--span-id", help="evaluate this span (repeatable)")] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(help="newest matching spans to evaluate")] = 100,
    skip_missing: Annotated[bool, typer.Option(help="skip spans lacking a needed field instead of failing")] = False,
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="run an experiment over this dataset")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="with --dataset: NAME@VERSION or NAME@LABEL")] = None,
    dataset_version: Annotated[int | None, typer.Option(help="with --dataset: default the latest")] = None,
    endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Evaluate spans on a running server (results stored as feedback on each span), or, with
    --dataset and --prompt, run that prompt version over the dataset as a stored experiment."""
    from tenbin.evals.remote import evaluate_spans

    if dataset or prompt:
        return _experiment(dataset, prompt, _specs(evaluators, evaluator), dataset_version, project or "default",
                           endpoint, api_key)
    try:
        report = evaluate_spans(span_id or None, _specs(evaluators, evaluator), project=project, filter=filter,
                                limit=limit, skip_missing=skip_missing, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    table = Table("span_id", "evaluator", "label", "score", "explanation")
    for r in report["results"]:
        score = "" if r["score"] is None else f"{r['score']:.2f}"
        table.add_row(r["span_id"] or "", r["author"], r["label"] or "", score, (r["explanation"] or "")[:60])
    console.print(table)
    console.print(f"{report['stored']} results stored as feedback; {len(report['skipped'])} skipped")


def _experiment(dataset: str | None, prompt: str | None, specs: list[Any], version: int | None, project: str,
                endpoint: str | None, api_key: str | None) -> None:
    from tenbin.cli_datasets import print_experiment
    from tenbin.evals import run_experiment

    try:
        if not dataset or not prompt:
            raise InvalidInput("an experiment needs both --dataset and --prompt NAME@VERSION")
        found = _with_bar(f"experiment {prompt} on {dataset}: answering, then scoring",
                          lambda show: run_experiment(dataset, prompt, specs, project=project, version=version,
                                                      endpoint=endpoint, api_key=api_key, progress=show))
        print_experiment(found)
    except TenbinError as exc:
        raise _fail(exc) from exc


def _with_bar(description: str, work: Callable[[Callable[[dict[str, Any]], None]], dict[str, Any]]) -> dict[str, Any]:
    """Run `work(show)` under a progress bar that each polled experiment passed to `show` moves."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                  transient=True) as bar:
        steps = bar.add_task(description, total=None)
        return work(lambda exp: bar.update(steps, completed=exp["done"], total=exp["total"] or None))


@eval_app.command("rerun")
def rerun(experiment_id: Annotated[int, typer.Argument(help="the stored experiment to run again")],
          project: Annotated[str, typer.Option("--project", "-p")] = "default",
          endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Run a stored experiment again (one interrupted or failed, say) as a new experiment with exactly its
    parameters: the same prompt version, dataset version, evaluators and judge templates."""
    from tenbin.cli_datasets import print_experiment
    from tenbin.evals import rerun_experiment

    try:
        found = _with_bar(f"experiment {experiment_id} again: answering, then scoring",
                          lambda show: rerun_experiment(experiment_id, project=project, endpoint=endpoint,
                                                        api_key=api_key, progress=show))
        print_experiment(found)
    except TenbinError as exc:
        raise _fail(exc) from exc


@eval_app.command("compare")
def compare(a: int, b: int, project: Annotated[str, typer.Option("--project", "-p")] = "default",
            as_json: Annotated[bool, typer.Option("--json", help="print the full comparison as JSON")] = False,
            endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Experiment B against A: per-evaluator mean deltas with 95% paired t intervals, changed labels."""
    from tenbin.cli_datasets import print_comparison
    from tenbin.evals import compare_experiments

    try:
        diff = compare_experiments(a, b, project=project, endpoint=endpoint, api_key=api_key)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(diff, indent=2, ensure_ascii=False))
        return
    print_comparison(diff)


@eval_app.command("list")
def list_evaluators(
    project: Annotated[str | None, typer.Option("--project", "-p", help="show the judge templates this project uses "
                                                "(its registry prompts tenbin-judge-*), read from the server")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the list as JSON")] = False,
    endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """Every evaluator with its version and the fields it needs."""
    from tenbin.client import Client
    from tenbin.evals.registry import catalog

    try:
        if project is None:
            items = catalog()
        else:
            with Client(endpoint, api_key) as client:
                items = client.evaluators(project)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    table = Table("name", "version", "source", "needs", "labels / about", "template")
    for item in items:
        about = ", ".join(item.get("labels", [])) or item.get("doc", "").splitlines()[0] if item.get("doc") else ""
        where = item.get("prompt") or ("built-in" if item["source"] == "llm" else "")
        table.add_row(item["name"], item["version"], item["source"], ", ".join(item["requires"]), about, where)
    console.print(table)


@eval_app.command("calibrate")
def calibrate(
    judge: Annotated[str, typer.Argument(help="hallucination, qa_correctness, retrieval_relevance, …")],
    base_url: Annotated[str | None, typer.Option(help="default: TENBIN_LLM_BASE_URL")] = None,
    model: Annotated[str | None, typer.Option(help="default: TENBIN_LLM_MODEL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    project: Annotated[str | None, typer.Option("--project", "-p", help="calibrate this project's template "
                                                "(registry prompt tenbin-judge-JUDGE on the server)")] = None,
    endpoint: Endpoint = None, api_key: ApiKey = None,
) -> None:
    """How often the configured model agrees with JUDGE's shipped labelled set (with --project: using
    the template that project's judges use, so an edit is measured before it is trusted)."""
    from tenbin.client import Client
    from tenbin.evals import judge_prompts
    from tenbin.evals.calibration import calibrate as run_calibration
    from tenbin.llm import LLM

    try:
        with Client(endpoint, api_key) as client:
            prompts = judge_prompts.Remote(client, project) if project else None
            report = run_calibration(judge, LLM(base_url, model), prompts=prompts)
    except TenbinError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    kappa = "undefined" if report.kappa is None else f"{report.kappa:.3f}"
    template = f" (template from project {project!r})" if project else ""
    console.print(f"judge {report.judge}@{report.version}{template} on model {report.model!r}: {report.n} labelled cases")
    console.print(f"accuracy {report.accuracy:.1%}   Cohen's kappa {kappa}   unparseable {report.unparseable}")
    table = Table("expected \\ judged", *report.labels, "unparseable", title="confusion matrix")
    for label, row in zip(report.labels, report.confusion):
        table.add_row(label, *(str(v) for v in row))
    console.print(table)
