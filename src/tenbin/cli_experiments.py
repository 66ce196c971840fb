"""`tenbin ab …`: A/B experiments between versions of a prompt, and per-version performance.

    tenbin ab start greeting --arm 1=0.5 --arm 2=0.5 --metric thumbs --guardrail latency_p95_ms=2000
    tenbin ab show 3          # live numbers per arm, sequential test, SRM alarm
    tenbin ab stop 3 --promote winner
    tenbin ab perf greeting --bucket 3600
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tenbin.cli_prompts import ApiKey, Endpoint, Project, _client, _project, _run, console
from tenbin.errors import InvalidInput

ab_app = typer.Typer(help="A/B experiments between prompt versions, and per-version performance.",
                     no_args_is_help=True)


def _pairs(values: list[str], what: str, example: str) -> list[tuple[str, float]]:
    out = []
    for value in values:
        key, sep, number = value.partition("=")
        try:
            out.append((key.strip(), float(number)))
        except ValueError:
            raise InvalidInput(f"{what} {value!r} must look like {example}") from None
        if not sep:
            raise InvalidInput(f"{what} {value!r} must look like {example}")
    return out


def spec(prompt: str, arms: list[str], metric: str, guardrails: list[str], name: str | None) -> dict[str, Any]:
    """The REST body of a new experiment from the command's options (bad options raise InvalidInput)."""
    parsed = _pairs(arms, "--arm", "VERSION=WEIGHT, e.g. 2=0.5")
    if any(not v.isdigit() for v, _ in parsed):
        raise InvalidInput("--arm must start with a version number, e.g. --arm 2=0.5")
    kind, _, metric_name = metric.partition(":")
    return {"prompt": prompt, "name": name, "arms": [{"version": int(v), "weight": w} for v, w in parsed],
            "metric": {"kind": kind, **({"name": metric_name} if metric_name else {})},
            "guardrails": dict(_pairs(guardrails, "--guardrail", "NAME=MAX, e.g. latency_p95_ms=2000"))}


@ab_app.command("start")
def start(prompt: str,
          arm: Annotated[list[str], typer.Option("--arm", help="VERSION=WEIGHT (repeat; weights add up to 1; first is control)")],
          metric: Annotated[str, typer.Option(help="thumbs, score:NAME or eval:NAME")] = "thumbs",
          guardrail: Annotated[list[str], typer.Option(help="NAME=MAX: latency_p95_ms, tokens_per_span, error_rate")] = [],  # noqa: B006
          name: Annotated[str | None, typer.Option(help="a name for the experiment")] = None,
          project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Start an A/B experiment over versions of PROMPT; units get sticky arms from the server."""
    body = _run(lambda: spec(prompt, arm, metric, guardrail, name))
    with _client(endpoint, api_key) as client:
        exp = client.create_prompt_experiment(body, _project(project))
    console.print(f"started experiment {exp['id']} on {prompt}: "
                  + ", ".join(f"v{a['version']} {a['weight']:g}" for a in exp["arms"]))


@ab_app.command("ls")
def ls(prompt: Annotated[str | None, typer.Option(help="only this prompt's experiments")] = None,
       project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """List experiments, newest first."""
    with _client(endpoint, api_key) as client:
        rows = client.prompt_experiments(_project(project), prompt)
    table = Table("id", "prompt", "name", "status", "arms", "promoted")
    for e in rows:
        table.add_row(str(e["id"]), e["prompt"], e["name"], e["status"], " / ".join(f"v{a['version']}" for a in e["arms"]),
                      f"v{e['promoted_version']}" if e["promoted_version"] else "–")
    console.print(table)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


@ab_app.command("show")
def show(experiment_id: int, project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Live results: per arm exposures, metric with 95% interval, P(best), sequential test, guardrails."""
    with _client(endpoint, api_key) as client:
        live = client.prompt_experiment(experiment_id, _project(project))
    table = Table("arm", "weight", "exposures", "n", live["metric"]["kind"], "95% interval", "P(best)", "vs control", "guardrails")
    for a in live["arms"]:
        m, t = a["metric"], a["test"]
        verdict = "control" if a["arm"] == 0 else f"p={_fmt(t['p_value'])}" + (" significant" if t["significant"] else "")
        table.add_row(f"v{a['version']}", f"{a['weight']:g}", str(a["exposures"]), str(m["n"]), _fmt(m["value"]),
                      f"{_fmt(m['low'])} – {_fmt(m['high'])}", _fmt(a["p_best"]), verdict,
                      ", ".join(a["guardrails"]["breached"]) or "ok")
    console.print(f"experiment {live['id']} {live['name']!r} on {live['prompt']}: {live['status']}")
    console.print(table)
    srm = live["srm"]
    if srm["alarm"]:
        console.print(f"[red]sample-ratio mismatch[/red]: exposures do not match the weights (p={srm['p_value']:.2g}); "
                      "do not trust these results until the assignment or logging is fixed")
    console.print(f"winner: v{live['winner']}" if live["winner"] else "no winner yet (always-valid test, alpha "
                  f"{live['alpha']})")


@ab_app.command("stop")
def stop(experiment_id: int,
         promote: Annotated[str | None, typer.Option(help="'winner' or a version number: moves production to it")] = None,
         force: Annotated[bool, typer.Option(help="promote even if production moved during the experiment")] = False,
         author: Annotated[str | None, typer.Option()] = None,
         project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Stop an experiment, optionally promoting a version to production (audited)."""
    target: int | str | None = int(promote) if promote and promote.isdigit() else promote
    with _client(endpoint, api_key) as client:
        done = client.stop_prompt_experiment(experiment_id, _project(project), target, force, author)
    console.print(f"stopped experiment {experiment_id}"
                  + (f"; production → v{done['promoted_version']}" if done["promoted_version"] else ""))


@ab_app.command("perf")
def perf(prompt: str, bucket: Annotated[int, typer.Option(help="bucket width in seconds")] = 3600,
         project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Per time bucket and version: spans, p95 latency, tokens, cost, errors, thumbs-up rate, eval scores."""
    with _client(endpoint, api_key) as client:
        rows = client.prompt_performance(prompt, _project(project), bucket)
    table = Table("bucket", "version", "spans", "p95 ms", "tokens", "cost", "errors", "thumbs up", "evals")
    for r in rows:
        table.add_row(r["bucket"], f"v{r['version']}", str(r["count"]), _fmt(r["latency_p95_ms"]), str(r["total_tokens"]),
                      _fmt(r["cost"]), _fmt(r["error_rate"]), _fmt(r["thumbs_up_rate"]),
                      ", ".join(f"{k} {_fmt(v['mean'])}" for k, v in r["evals"].items()))
    console.print(table)
