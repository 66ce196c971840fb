"""`tenbin analyze`: an embedding analysis in-process, straight against the database, with a
progress bar; prints the cluster table (worst problem first) and the global drift line.

    tenbin analyze -p support --window 24h --baseline previous
    tenbin analyze -p support --baseline dataset:golden --field output --json
    tenbin analyze -p support --show 12 --segments metadata.task
    tenbin analyze -p support --list
    tenbin analyze -p support --rerun 12       # run 12 again (e.g. interrupted): same windows, model, seed
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenbin.analytics.windows import BASELINE_HELP
from tenbin.errors import InvalidInput, TenbinError

console = Console(width=None if sys.stdout.isatty() else 160)
"""Wide when piped or captured: the cluster table has eleven columns."""


def _num(value: Any, fmt: str = ".2f") -> str:
    return "–" if value is None else format(value, fmt)


def drift_line(run: dict[str, Any]) -> str:
    d = run.get("drift") or {}
    if d.get("p_value") is None:
        return f"drift: not measured ({d.get('note', 'no baseline')})"
    return (f"drift: MMD²={d['mmd2']:.4g}, p={d['p_value']:.3g} ({d['permutations']} permutations), "
            f"centroid cosine distance {d['centroid_distance']:.4f}; "
            f"{run['n_production']} production vs {run['n_baseline']} baseline points")


def cluster_rows(clusters: list[dict[str, Any]]) -> Table:
    table = Table("rank", "cluster", "label", "size", "prod", "base", "drift×", "down rate", "down lift", "p95 ms",
                  "problem")
    for c in clusters:
        m = c["metrics"]
        table.add_row(str(c["rank"] or "–"), "noise" if c["cluster"] == -1 else str(c["cluster"]), c["label"] or "",
                      str(c["size"]), str(m["n_production"]), str(m["n_baseline"]), _num(m["drift_ratio"]),
                      _num(m["thumbs_down_rate"]), _num(m.get("thumbs_down_lift")), _num(m["latency_p95_ms"], ".0f"),
                      _num(c["problem_score"]))
    return table


def run_rows(runs: list[dict[str, Any]]) -> Table:
    table = Table("id", "created", "status", "production", "baseline", "points", "drift p")
    for r in runs:
        p = r["params"] or {}
        table.add_row(str(r["id"]), r["created_time"] or "", r["status"], escape(p.get("production_side", "")),
                      escape(p.get("baseline_side", "")), str((r["n_production"] or 0) + (r["n_baseline"] or 0)),
                      _num((r["drift"] or {}).get("p_value"), ".3g"))
    return table


def segment_rows(found: dict[str, Any]) -> Table:
    table = Table(found["by"], "size", "prod", "base", "drift×", "down rate", "p50 ms", "p95 ms", "problem")
    for r in found["segments"]:
        m = r["metrics"]
        table.add_row(escape(str(r["segment"])), str(m["size"]), str(m["n_production"]), str(m["n_baseline"]),
                      _num(m["drift_ratio"]), _num(m["thumbs_down_rate"]), _num(m["latency_p50_ms"], ".0f"),
                      _num(m["latency_p95_ms"], ".0f"), _num(r["problem_score"]))
    return table


def _with_progress(project: str, work: Callable[[Callable[[str, float], None]], dict[str, Any]]) -> dict[str, Any]:
    """Run `work(step)` under a progress bar that `step(stage, fraction)` moves."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"analysing {project}", total=1.0, stage="")
        return work(lambda stage, f: progress.update(task, completed=f, stage=stage))


def analyze(
    project: Annotated[str, typer.Option("--project", "-p")],
    baseline: Annotated[str, typer.Option(help="previous, a duration like 7d, START..END, dataset:NAME, "
                                               "or prompt:NAME@V")] = "",
    window: Annotated[str, typer.Option(help="production window: all, a duration like 24h, or START..END")] = "",
    field: Annotated[str, typer.Option(help="input (prompts) or output (responses)")] = "input",
    model: Annotated[str | None, typer.Option(help="embedding model (minilm, wordllama or a stored name); "
                                                   "default: the project's most used")] = None,
    filter: Annotated[str, typer.Option("--filter", help='span filter for both sides, e.g. metadata["task"] == "billing"')] = "",
    n_neighbors: Annotated[int, typer.Option(help="UMAP neighbours")] = 15,
    min_cluster_size: Annotated[int | None, typer.Option(help="HDBSCAN; default max(15, √n)")] = None,
    seed: Annotated[int | None, typer.Option(help="UMAP seed (reproducible; -1 = unseeded, faster)")] = 42,
    segments: Annotated[str | None, typer.Option(help="also print segments by this dimension, e.g. metadata.task")] = None,
    show: Annotated[int | None, typer.Option(help="print a stored run instead of starting one")] = None,
    rerun: Annotated[int | None, typer.Option(help="run this stored run again as a new one, with its parameters "
                                                   "(the same resolved windows, model, settings and seed)")] = None,
    list_runs: Annotated[bool, typer.Option("--list", help="list the project's runs, newest first")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: TENBIN_DATABASE_URL or ~/.tenbin/tenbin.db")] = None,
) -> None:
    """Cluster the project's embedded spans, compare production with a baseline, rank the problems."""
    from tenbin.analytics import analysis
    from tenbin.analytics.analysis import AnalysisRequest
    from tenbin.analytics.clustering import HdbscanParams
    from tenbin.analytics.projection import UmapParams
    from tenbin.store import analyses as store
    from tenbin.store.engine import make_engine

    engine = make_engine(database_url)
    try:
        if list_runs:
            console.print(run_rows(store.list_analyses(engine, project)))
            return
        if show is not None:
            run = store.get_analysis(engine, show, project)
        elif rerun is not None:
            run = _with_progress(project, lambda step: analysis.rerun(engine, rerun, project, step))
        elif not baseline:
            raise InvalidInput(f"--baseline is required: {BASELINE_HELP}")
        else:
            request = AnalysisRequest(project, baseline, window, field, model, filter,
                                      UmapParams(n_neighbors=n_neighbors, seed=None if seed == -1 else seed),
                                      HdbscanParams(min_cluster_size))
            run = _with_progress(project, lambda step: analysis.analyze(engine, request, step))
        _print(engine, run, segments, as_json)
    except TenbinError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()


def _print(engine: Any, run: dict[str, Any], by: str | None, as_json: bool) -> None:
    from tenbin.analytics.cluster_segments import segments
    from tenbin.store import analyses as store

    clusters = store.clusters(engine, run["id"]) if run["status"] == "done" else []
    found = segments(engine, run["id"], by) if by and run["status"] == "done" else None
    if as_json:
        print(json.dumps({**run, "clusters": clusters, **({"segments": found} if found else {})}, default=str))
        return
    console.print(f"analysis {run['id']} of {run['project']}: {run['status']}"
                  + (f" — {escape(run['error'])}" if run.get("error") else ""), soft_wrap=True)
    if run["status"] != "done":
        return
    console.print(cluster_rows(clusters))
    if found:
        console.print(segment_rows(found))
    console.print(drift_line(run), soft_wrap=True)
