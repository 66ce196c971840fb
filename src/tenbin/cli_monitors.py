"""`tenbin monitors …`: add, list, show, check and remove monitors; list and acknowledge alerts.
All through a running server, whose scheduler checks the monitors (TENBIN_MONITOR_INTERVAL).

    tenbin monitors add "bad answers" --kind thumbs_down_rate --threshold 0.3 --window 1h -p shop
    tenbin monitors add "wrong answers" --kind eval_rate --evaluator qa_correctness --label incorrect --threshold 0.2
    tenbin monitors add "new topics" --kind drift --cluster each --threshold 4 --webhook https://hooks.example/x
    tenbin monitors check 3        # check now: evaluation, alert, webhook delivery
    tenbin monitors alerts --open  # then: tenbin monitors ack 12

and `tenbin report ANALYSIS CLUSTER`, the LLM report of a cluster (which alerts carry when it exists).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tenbin.analytics.monitors import duration_s, human_s
from tenbin.cli_prompts import ApiKey, Endpoint, Project, _client, _project, _run, console

monitors_app = typer.Typer(help="Monitors (thumbs-down rate, latency p95, drift, eval label rate) and their alerts.",
                           no_args_is_help=True)
def _request(method: str, path: str, endpoint: str | None, api_key: str | None, **kwargs: Any) -> Any:
    with _client(endpoint, api_key) as client:
        return client._request(method, path, **kwargs)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


@monitors_app.command("add")
def add(name: str,
        kind: Annotated[str, typer.Option(help="thumbs_down_rate, latency_p95, drift or eval_rate")],
        threshold: Annotated[float, typer.Option(help="a rate or share (0-1), milliseconds, a ratio, or a drift value")],
        comparison: Annotated[str | None, typer.Option(help="absolute (default) or relative")] = None,
        window: Annotated[str | None, typer.Option(help="window length, e.g. 1h (default 1h)")] = None,
        min_samples: Annotated[int | None, typer.Option(help="fewer never fire (default 20)")] = None,
        filter: Annotated[str | None, typer.Option("--filter", "-f", help='e.g. metadata["task"] == "billing"')] = None,
        prompt: Annotated[str | None, typer.Option(help="NAME or NAME@VERSION")] = None,
        cluster: Annotated[str | None, typer.Option(help="a cluster number, or 'each' for every cluster")] = None,
        analysis: Annotated[int | None, typer.Option(help="pin to this analysis (default: the newest)")] = None,
        group_by: Annotated[str | None, typer.Option(help="check each segment, e.g. metadata.task")] = None,
        evaluator: Annotated[str | None, typer.Option(help="eval_rate: whose results, e.g. qa_correctness")] = None,
        label: Annotated[str | None, typer.Option(help="eval_rate: the label whose share fires, e.g. incorrect")] = None,
        webhook: Annotated[str | None, typer.Option(help="http(s) URL the alert JSON is POSTed to")] = None,
        interval: Annotated[str | None, typer.Option(help="time between checks, e.g. 5m (default 5m)")] = None,
        project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Create a monitor NAME; the server checks it every --interval."""
    body = {"name": name, "kind": kind, "threshold": threshold, "comparison": comparison,
            "window_s": _run(lambda: duration_s(window, "--window")), "min_samples": min_samples, "filter": filter,
            "prompt": prompt, "cluster": cluster, "analysis_id": analysis, "group_by": group_by, "evaluator": evaluator,
            "label": label, "webhook_url": webhook,
            "interval_s": _run(lambda: duration_s(interval, "--interval"))}
    made = _request("POST", f"/projects/{_project(project)}/monitors", endpoint, api_key,
                    json={k: v for k, v in body.items() if v is not None})
    each = f" for each {made['group_by']}" if made.get("group_by") else ""
    console.print(f"monitor {made['id']} {made['name']!r}: {made['kind']}{_eval_params(made)} {made['comparison']} > "
                  f"{made['threshold']:g}{each}, "
                  f"checked every {human_s(made['interval_s'])}", soft_wrap=True)


def _eval_params(m: dict[str, Any]) -> str:
    return f" of {m['evaluator']} {m['label']!r}" if m.get("evaluator") else ""


def _scope(m: dict[str, Any]) -> str:
    parts = [m["filter"]] if m["filter"] else []
    if m["prompt"]:
        parts.append(f"prompt {m['prompt']}")
    if m["cluster"] is not None:
        parts.append(f"cluster {m['cluster']}" + (f" of analysis {m['analysis_id']}" if m["analysis_id"] else ""))
    if m.get("group_by"):
        parts.append(f"each {m['group_by']}")
    return "; ".join(parts) or "all spans"


@monitors_app.command("ls")
def ls(project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Every monitor of the project with its state."""
    rows = _request("GET", f"/projects/{_project(project)}/monitors", endpoint, api_key)
    table = Table("id", "name", "kind", "fires when", "scope", "state", "last checked")
    for m in rows:
        rule = f"{m['comparison']} > {m['threshold']:g} over {human_s(m['window_s'])}"
        state = m["state"] if m["enabled"] else f"{m['state']} (disabled)"
        table.add_row(str(m["id"]), m["name"], m["kind"] + _eval_params(m), rule, _scope(m), state, (m["last_checked"] or "never")[:19])
    console.print(table)


@monitors_app.command("show")
def show(monitor_id: int, limit: int = 20, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """A monitor's newest evaluations: status, value, reference, n, message."""
    m = _request("GET", f"/monitors/{monitor_id}", endpoint, api_key, params={"evaluations": limit})
    console.print(f"monitor {m['id']} {m['name']!r} ({m['kind']}, {_scope(m)}): {m['state']}", soft_wrap=True)
    table = Table("checked", "status", "value", "reference", "n", "message")
    for e in m["evaluations"]:
        table.add_row((e["checked"] or "")[:19], e["status"], _fmt(e["value"]), _fmt(e["reference"]), str(e["n"]),
                      e["message"])
    console.print(table)


@monitors_app.command("check")
def check(monitor_id: int, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Check a monitor now; prints the evaluation and any alert it raised."""
    e = _request("POST", f"/monitors/{monitor_id}/check", endpoint, api_key)
    console.print(f"{e['status']}: {e['message']}", soft_wrap=True)
    if e["alert_id"] is not None:
        delivery = e["delivery"]
        sent = f"; webhook {delivery['status']} after {delivery['attempts']} attempt(s)" if delivery else ""
        console.print(f"alert {e['alert_id']} raised{sent}" + (f": {delivery['error']}" if delivery and delivery["error"]
                                                                else ""), soft_wrap=True)
    elif e["status"] == "firing":
        console.print("still firing: already alerted (one alert per transition)")


@monitors_app.command("rm")
def rm(monitor_id: int, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Remove a monitor with its evaluations and alerts."""
    _request("DELETE", f"/monitors/{monitor_id}", endpoint, api_key)
    console.print(f"removed monitor {monitor_id}")


@monitors_app.command("alerts")
def alerts(open_only: Annotated[bool, typer.Option("--open", help="only alerts not acknowledged")] = False,
           limit: int = 50, project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """The project's alerts, newest first."""
    params = {"limit": limit, **({"status": "open"} if open_only else {})}
    rows = _request("GET", f"/projects/{_project(project)}/alerts", endpoint, api_key, params=params)
    for a in rows:
        cluster = "" if a["cluster"] is None else f", cluster {a['cluster']} of analysis {a['analysis_id']}"
        seen = f"acknowledged {(a['acknowledged'] or '')[:19]}" if a["acknowledged"] else "open"
        console.print(f"[bold]#{a['id']}[/bold] {(a['created'] or '')[:19]} {a['monitor_name']!r}{cluster} — {seen}, "
                      f"webhook {a['delivery_status']}", soft_wrap=True)
        console.print(f"    {a['message']}", markup=False, soft_wrap=True)
    console.print(f"{len(rows)} alerts")


@monitors_app.command("ack")
def ack(alert_id: int, by: Annotated[str | None, typer.Option(help="who acknowledges")] = None,
        project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Acknowledge an alert."""
    a = _request("POST", f"/projects/{_project(project)}/alerts/{alert_id}/acknowledge", endpoint, api_key,
                 json={"by": by})
    console.print(f"alert {a['id']} acknowledged" + (f" by {a['acknowledged_by']}" if a["acknowledged_by"] else ""))


@monitors_app.command("webhook")
def webhook(url: Annotated[str | None, typer.Argument(help="http(s) URL; omit to show the current one")] = None,
            clear: Annotated[bool, typer.Option(help="remove the project's webhook")] = False,
            project: Project = None, endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """The project's default webhook: where monitors without their own webhook POST their alerts."""
    path = f"/projects/{_project(project)}/alert-settings"
    if url or clear:
        got = _request("PUT", path, endpoint, api_key, json={"webhook_url": None if clear else url})
    else:
        got = _request("GET", path, endpoint, api_key)
    console.print(f"project {got['project']!r} webhook: {got['webhook_url'] or 'none'}", soft_wrap=True)


def report(analysis_id: int, cluster: int,
           show_only: Annotated[bool, typer.Option("--show", help="print the stored report, do not generate")] = False,
           endpoint: Endpoint = None, api_key: ApiKey = None) -> None:
    """Write (or re-write) the LLM report of CLUSTER of ANALYSIS with the server's LLM, and print it."""
    path = f"/analyses/{analysis_id}/clusters/{cluster}/report"
    got = _request("GET" if show_only else "POST", path, endpoint, api_key)
    if got["report"] is None:
        console.print(f"cluster {cluster} of analysis {analysis_id} has no report yet; run without --show to write one")
        return
    details = got["details"] or {}
    console.print(f"[bold]cluster {cluster}[/bold] {got['label'] or ''} — {details.get('model')}, "
                  f"{details.get('prompt')} v{details.get('prompt_version')}, {details.get('generated')}", soft_wrap=True)
    console.print(got["report"], markup=False, soft_wrap=True)
