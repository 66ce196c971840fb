"""The demo's embedding analysis, over REST as a user would run it after a day of traffic.

1. Embed what users asked: the input of the bot's AGENT spans (the question), with the default
   MiniLM embedder, in the server. The LLM spans' input is the rendered prompt, mostly retrieved
   passages, so its clusters would say which pages were retrieved rather than what was asked.
2. Analyse: production = the later half of the answers, baseline = the earlier half. The demo's
   traffic is one steady mix of questions, so little drift is expected and the p-value says so;
   what ranks the clusters is their thumbs-down rate. (v2 against v1 would compare the same mix of
   questions too: the experiment assigns sessions to arms at random.)
3. The LLM report of the top problem cluster, written by the local model.
4. A monitor on the thumbs-down rate of each cluster of the newest analysis, checked once: it fires
   for a topic users dislike far more than the rest, and its alert carries that cluster's report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.markup import escape

from tenbin.cli_analyze import cluster_rows, drift_line
from tenbin.client import Client
from tenbin.demo import PROJECT, console
from tenbin.errors import TenbinError

AGENTS = 'kind == "AGENT"'
EMBEDDER = "minilm"
MONITOR = {"name": "topics users dislike", "kind": "thumbs_down_rate", "cluster": "each", "comparison": "relative",
           "threshold": 0.15}
"""Fires when a cluster's thumbs-down rate (production side) is over 15 points above the whole
production side's: a topic the bot serves much worse than the rest (at 80 answers, the Japanese
questions: 38% against 20%)."""
POLL_S = 1.0
TIMEOUT_S = 900.0


def api(url: str, method: str, path: str, **kwargs: Any) -> Any:
    """One call to tenbin's REST API (/api/v1) with its errors raised as TenbinError."""
    with Client(url, timeout=TIMEOUT_S) as client:
        return client._request(method, path, **kwargs)


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while not done(found := fetch()):
        if time.monotonic() > deadline:
            raise TenbinError(f"{what} did not finish within {TIMEOUT_S:.0f} s; see the server's log")
        time.sleep(POLL_S)
    return found


def embed_questions(url: str, project: str = PROJECT) -> int:
    """Embed the AGENT spans' input in the server; returns how many input vectors the project has."""
    job = api(url, "POST", f"/projects/{project}/embeddings/jobs",
              json={"model": EMBEDDER, "field": "input", "kind": "AGENT"})["job"]

    def checkpoint() -> dict[str, Any] | None:
        found = api(url, "GET", f"/projects/{project}/embeddings")
        return next((c for c in found["jobs"] if c["name"] == job), None)

    final = wait_for(checkpoint, lambda c: c is not None and not c["running"], f"embed job {job}")
    if final["status"] != "done":
        raise TenbinError(f"embed job {job} {final['status']}: {final.get('last_error')}")
    vectors = api(url, "GET", f"/projects/{project}/embeddings")["vectors"]
    return sum(n for key, n in vectors.items() if key.endswith("/input"))


def halves(url: str, project: str = PROJECT) -> tuple[str, int, int]:
    """(the start time that splits the answers into an earlier and a later half, their sizes)."""
    with Client(url) as client:
        starts = sorted(s["start_time"] for s in client.spans(project, filter=AGENTS, limit=None))
    if len(starts) < 2:
        raise TenbinError(f"project {project!r} has {len(starts)} answers; an analysis needs at least 2")
    middle = len(starts) // 2
    return starts[middle], middle, len(starts) - middle


def sizes(points: int) -> dict[str, int]:
    """HDBSCAN's smallest cluster and the smallest ranked cluster, scaled to the demo's size (the
    defaults, 15 and 10, merge the demo's topics: at 196 answers, 9 gives company questions, car
    repairs and API errors clusters of their own). HDBSCAN's min_samples (default 5) shrinks with
    them, so a quick run of a few dozen answers is not all noise."""
    return {"min_cluster_size": max(3, min(15, points // 20)), "min_samples": max(2, min(5, points // 20)),
            "min_support": max(2, min(10, points // 20))}


def run_analysis(url: str, split: str, points: int, project: str = PROJECT) -> dict[str, Any]:
    """Start the analysis and wait for it; returns the run with its cluster table (worst first)."""
    body = {"baseline": f"..{split}", "window": f"{split}..", "field": "input", "model": EMBEDDER, "filter": AGENTS,
            **sizes(points)}
    started = api(url, "POST", f"/projects/{project}/analyses", json=body)
    run = wait_for(lambda: api(url, "GET", f"/analyses/{started['id']}"),
                   lambda r: r["status"] in ("done", "failed"), f"analysis {started['id']}")
    if run["status"] == "failed":
        raise TenbinError(f"analysis {run['id']} failed: {run['error']}")
    return run


def top_cluster(run: dict[str, Any]) -> dict[str, Any] | None:
    """The worst ranked cluster, or the largest one when none has enough points to be ranked."""
    clusters = [c for c in run["clusters"] if c["cluster"] != -1]
    ranked = [c for c in clusters if c["rank"] is not None]
    return ranked[0] if ranked else max(clusters, key=lambda c: c["size"], default=None)


def write_report(url: str, analysis_id: int, cluster: int) -> dict[str, Any]:
    return api(url, "POST", f"/analyses/{analysis_id}/clusters/{cluster}/report")


def watch(url: str, min_samples: int, project: str = PROJECT) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create the per-cluster thumbs-down monitor and check it once: (monitor, evaluation)."""
    monitor = api(url, "POST", f"/projects/{project}/monitors", json={**MONITOR, "min_samples": min_samples})
    return monitor, api(url, "POST", f"/monitors/{monitor['id']}/check")


def page(url: str, analysis_id: int | None = None, cluster: int | None = None, project: str = PROJECT) -> str:
    base = f"{url}/projects/{project}/embeddings"
    if analysis_id is None:
        return base
    return f"{base}/{analysis_id}" + ("" if cluster is None else f"/clusters/{cluster}")


def analyze(url: str, project: str = PROJECT) -> dict[str, Any]:
    """The whole step, printed; returns the run."""
    console.rule("Embedding analysis of what users asked")
    with console.status(f"embedding the questions ({AGENTS} input) with {EMBEDDER} in the server"):
        vectors = embed_questions(url, project)
    split, first, second = halves(url, project)
    console.print(f"{vectors} questions embedded. Production = the later {second} answers (from {split}), baseline = "
                  f"the earlier {first}: the traffic is one steady mix, so expect little drift; the clusters rank by "
                  "thumbs-down rate (v2 vs v1 would compare the same mix too: sessions go to arms at random).",
                  soft_wrap=True)
    with console.status("UMAP + HDBSCAN + drift in the server"):
        run = run_analysis(url, split, first + second, project)
    console.print(cluster_rows(run["clusters"][:8]))
    console.print(drift_line(run), soft_wrap=True)
    top = top_cluster(run)
    if top is None:
        console.print(f"HDBSCAN found no cluster (all noise) → {page(url, run['id'], project=project)}")
        return run
    with console.status(f"the local model writes the report of cluster {top['cluster']}"):
        report = write_report(url, run["id"], top["cluster"])
    details = report.get("details") or {}
    console.print(f"[bold]Report on cluster {top['cluster']} ({escape(top['label'] or '')}), written by "
                  f"{details.get('model')} in {(details.get('latency_ms') or 0) / 1000:.0f} s:[/bold]\n"
                  f"{escape(report.get('report') or '')}", soft_wrap=True)
    monitor, evaluation = watch(url, sizes(first + second)["min_support"], project)
    alert = f"; alert {evaluation['alert_id']} raised" if evaluation.get("alert_id") else ""
    console.print(f"monitor {monitor['name']!r}: {evaluation['status']} — {escape(evaluation['message'])}{alert} → "
                  f"{url}/projects/{project}/alerts", soft_wrap=True)
    console.print(f"Embeddings: [bold]{page(url, run['id'], project=project)}[/bold] "
                  f"(this cluster: {page(url, run['id'], top['cluster'], project)})")
    return run
