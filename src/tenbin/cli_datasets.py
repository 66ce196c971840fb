"""`tenbin datasets …`: create (from a span filter), import a CSV/JSONL file, list, show, export;
and the experiment printing that `tenbin eval run --dataset` and `tenbin eval compare` share."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tenbin.errors import InvalidInput, TenbinError

datasets_app = typer.Typer(help="Datasets: versioned examples for experiments.", no_args_is_help=True)
console = Console()

Endpoint = Annotated[str | None, typer.Option("--endpoint", help="default: TENBIN_ENDPOINT or http://127.0.0.1:6206")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="default: TENBIN_API_KEY")]
Project = Annotated[str, typer.Option("--project", "-p")]


def fail(exc: TenbinError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    return typer.Exit(code=1)


def _made(result: dict[str, Any]) -> None:
    console.print(f"dataset {result['name']!r} version {result['version']}: {result['example_count']} examples")


@datasets_app.command("create")
def create(name: str, from_filter: Annotated[str, typer.Option("--from-filter", help='spans matching, e.g. kind == "LLM"')],
           limit: Annotated[int, typer.Option(help="newest matching spans")] = 100,
           expected_from: Annotated[str, typer.Option(help="reference | output | none")] = "reference",
           description: str = "", project: Project = "default", endpoint: Endpoint = None,
           api_key: ApiKey = None) -> None:
    """A dataset from spans: input ← input value, expected ← metadata.reference, or the span's output
    (--expected-from output, a golden baseline), or nothing (none)."""
    from tenbin.evals import create_dataset

    try:
        _made(create_dataset(name, filter=from_filter, limit=limit, expected_from=expected_from,
                             description=description, project=project, endpoint=endpoint, api_key=api_key))
    except TenbinError as exc:
        raise fail(exc) from exc


@datasets_app.command("import")
def import_file(name: str, file: Path, append: Annotated[bool, typer.Option(help="add to an existing dataset")] = False,
                message: str = "", project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Examples from FILE (.csv with an `input` column, or .jsonl); any bad row refuses the whole file."""
    from tenbin.evals import create_dataset, update_dataset

    try:
        if append:
            _made(update_dataset(name, file=file, message=message, project=project, endpoint=endpoint, api_key=api_key))
        else:
            _made(create_dataset(name, file=file, project=project, endpoint=endpoint, api_key=api_key))
    except TenbinError as exc:
        raise fail(exc) from exc


def _get(path: str, endpoint: str | None, api_key: str | None, **params: Any) -> Any:
    from tenbin.client import Client

    with Client(endpoint, api_key) as client:
        return client._request("GET", path, params={k: v for k, v in params.items() if v is not None})  # noqa: SLF001


@datasets_app.command("ls")
def ls(project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Every dataset with its latest version and size."""
    try:
        items = _get(f"/projects/{project}/datasets", endpoint, api_key)
    except TenbinError as exc:
        raise fail(exc) from exc
    table = Table("dataset", "version", "examples", "description")
    for d in items:
        table.add_row(d["name"], f"v{d['version']}", str(d["example_count"]), d["description"])
    console.print(table)


@datasets_app.command("show")
def show(name: str, version: Annotated[int | None, typer.Option(help="default: the latest")] = None,
         project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """A dataset's versions, examples and experiments."""
    try:
        data = _get(f"/projects/{project}/datasets/{name}", endpoint, api_key, version=version)
        runs = _get(f"/projects/{project}/experiments", endpoint, api_key, dataset=name)
    except TenbinError as exc:
        raise fail(exc) from exc
    console.print(f"dataset {name!r} v{data['version']} ({len(data['examples'])} examples); versions: "
                  + ", ".join(f"v{v['version']} ({v['example_count']})" for v in data["versions"]))
    table = Table("id", "input", "expected", "source span")
    for e in data["examples"]:
        table.add_row(str(e["id"]), _short(e["input"]), _short(e["expected"]), e["source_span_id"] or "")
    console.print(table)
    experiments = Table("experiment", "name", "on version", title="experiments")
    for r in runs:
        experiments.add_row(str(r["id"]), r["name"], f"v{r['dataset_version']}")
    console.print(experiments)


def _short(value: Any, width: int = 60) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@datasets_app.command("export")
def export(name: str, file: Path, version: Annotated[int | None, typer.Option(help="default: the latest")] = None,
           project: Project = "default", endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Write a dataset version to FILE (.jsonl or .csv); `tenbin datasets import` reads it back."""
    try:
        if file.suffix.lower() not in (".jsonl", ".csv"):
            raise InvalidInput(f"export to a .jsonl or .csv file; got {file.name!r}")
        data = _get(f"/projects/{project}/datasets/{name}", endpoint, api_key, version=version)
    except TenbinError as exc:
        raise fail(exc) from exc
    rows = [{k: e[k] for k in ("input", "expected", "metadata", "source_span_id")} for e in data["examples"]]
    with file.open("w", encoding="utf-8", newline="") as out:
        if file.suffix.lower() == ".jsonl":
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            writer = csv.DictWriter(out, ["input", "expected", "metadata", "source_span_id"])
            writer.writeheader()
            writer.writerows({**r, "input": _cell(r["input"]), "metadata": json.dumps(r["metadata"] or {})} for r in rows)
    console.print(f"wrote {len(rows)} examples of {name!r} v{data['version']} to {file}")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_experiment(exp: dict[str, Any]) -> None:
    """Per-example outputs and scores, then the summary."""
    names = sorted({s["evaluator"] for r in exp["results"] for s in r["scores"]})
    table = Table("example", "output", *names, title=f"experiment {exp['id']}: {exp['name']} on {exp['dataset']} "
                  f"v{exp['dataset_version']}")
    for r in exp["results"]:
        scores = {s["evaluator"]: s for s in r["scores"]}
        cells = [_verdict(scores.get(n)) for n in names]
        table.add_row(str(r["example_id"]), _short(r["output"] if r["error"] is None else f"error: {r['error']}"), *cells)
    console.print(table)
    summary = exp["summary"]
    means = ", ".join(f"{n} {s['mean']:.2f}" for n, s in summary["scores"].items() if s["mean"] is not None)
    console.print(f"{summary['examples']} examples, {summary['errors']} errors; mean scores: {means or 'none'}")


def _verdict(score: dict[str, Any] | None) -> str:
    if not score:
        return ""
    value = "" if score["score"] is None else f"{score['score']:.2f}"
    return " ".join(x for x in (score["label"] or "", value) if x)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def print_comparison(diff: dict[str, Any]) -> None:
    """Aggregate deltas (B − A) with their intervals, then the examples whose labels changed."""
    a, b = diff["a"], diff["b"]
    table = Table("evaluator", "n", f"A: {a['name']}", f"B: {b['name']}", "delta (B − A)", "95% interval",
                  "labels changed", title=f"experiment {b['id']} vs {a['id']} (paired t)")
    for g in diff["aggregates"]:
        interval = "–" if g["ci_low"] is None else f"[{g['ci_low']:+.3f}, {g['ci_high']:+.3f}]"
        table.add_row(g["evaluator"], str(g["n"]), _num(g["mean_a"]).lstrip("+"), _num(g["mean_b"]).lstrip("+"),
                      _num(g["delta"]), interval, str(g["labels_changed"]))
    console.print(table)
    for change in diff["changed_labels"]:
        console.print(f"example {change['example_id']} {change['evaluator']}: {change['a']} → {change['b']}")
