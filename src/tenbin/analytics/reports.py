"""LLM-written cluster reports: what a cluster is about, what goes wrong, what to change.

    generate(engine, analysis_id, cluster)     # writes (or rewrites) the report; returns it
    get_report(engine, analysis_id, cluster)   # the stored report, for pages and alerts

The prompt lives in the project's prompt registry as `tenbin-cluster-report`: the first report of
a project pushes the in-code default as version 1, so it can be edited and versioned like any
prompt. A report uses the version labelled `production` if there is one, else the newest. The
prompt gets the cluster's metrics next to the whole run's, samples nearest the cluster's centre,
and baseline samples (the cluster's own baseline points when it has some — "before" — else other
baseline spans, "what normal traffic looks like").

It must fit a small local model (SmolLM2-135M answers within a 2,048-token context here): the
rendered prompt is measured with `prompts.tokens` and samples are cut shorter, then fewer, until it
is within PROMPT_BUDGET tokens, leaving ANSWER_TOKENS for the answer.

The call goes through `tenbin.llm.LLM` inside `routed(tracer)`: with the server's judge tracer its
span lands in the internal `tenbin-evals` project, without one nowhere, never in the user's data.
The report is stored on the analysis cluster with its details (model, prompt version, time, token
counts); generating again replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tenbin.analytics.embedding import span_text
from tenbin.errors import NotFound
from tenbin.llm import LLM, PromptInfo
from tenbin.prompts import registry
from tenbin.prompts.tokens import count_tokens
from tenbin.sdk.routing import routed
from tenbin.store import analyses
from tenbin.store.analysis_inputs import span_text_rows
from tenbin.store.lookup import now_us
from tenbin.store.queries import iso

PROMPT_NAME = "tenbin-cluster-report"
PROMPT_BUDGET = 1400
"""Most tokens the rendered prompt may take (the answer gets ANSWER_TOKENS more, under 2,048)."""
ANSWER_TOKENS = 400
FREQUENCY_PENALTY = 0.5
"""Small models at temperature 0 fall into loops (SmolLM2-135M repeated one paragraph for all 400
tokens); a frequency penalty stops the loop. Their reports stay weak: use a bigger model for them."""
SAMPLES = 4
FITS = ((600, SAMPLES), (300, SAMPLES), (160, SAMPLES), (160, 2), (80, 2), (80, 1))
"""(characters per sample text, samples per side), tried in order until the prompt fits."""
SYSTEM = ("You review one cluster of requests to an LLM application. The cluster was found by embedding "
          "and clustering the traffic. Be concrete and brief.")
USER = """Cluster {{ cluster }}{% if label %} ("{{ label }}"){% endif %}.

METRICS (cluster, then the whole run):
{{ metrics }}

CLUSTER SAMPLES:
{{ cluster_samples }}

BASELINE SAMPLES ({{ baseline_kind }}):
{{ baseline_samples }}

Write three short sections:
About: what these requests are about.
Problem: what goes wrong, citing the metrics and samples.
Fix: what to change (prompt, retrieval, docs, routing)."""
DEFAULT_VERSION = {
    "name": PROMPT_NAME, "author": "tenbin", "message": "tenbin's default cluster report prompt",
    "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}],
    "variables": [{"name": n, "type": t} for n, t in (("cluster", "integer"), ("label", "string"),
                                                      ("metrics", "string"), ("cluster_samples", "string"),
                                                      ("baseline_kind", "string"), ("baseline_samples", "string"))],
}


def report_prompt(engine: Engine, project: str) -> dict[str, Any]:
    """The prompt version reports use: labelled `production`, else the newest; created on first use."""
    try:
        return registry.get(engine, project, PROMPT_NAME, label="production")
    except NotFound:
        pass
    try:
        return registry.get(engine, project, PROMPT_NAME)
    except NotFound:
        return registry.push(engine, project, DEFAULT_VERSION)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def _ms(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}"


def _top(values: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{v['value']} {v['share']:.0%}" + (f" (×{v['lift']:.1f})" if v.get("lift") else "")
                     for v in values)


def metrics_text(m: dict[str, Any], whole: dict[str, Any]) -> str:
    """The cluster's metrics as short lines a small model can read, each with the run's value."""
    lines = [
        (f"size: {m.get('n_production', 0)} production spans ({_pct(m.get('share_production'))} of production), "
         f"{m.get('n_baseline', 0)} baseline spans; drift ratio {_num(m.get('drift_ratio'))}"),
        (f"thumbs-down: {_pct(m.get('thumbs_down_rate'))} of {m.get('thumbs', 0)} ratings "
         f"(whole: {_pct(whole.get('thumbs_down_rate'))})"),
        f"errors: {_pct(m.get('error_rate'))} (whole: {_pct(whole.get('error_rate'))})",
        (f"latency p50/p95: {_ms(m.get('latency_p50_ms'))} / {_ms(m.get('latency_p95_ms'))} "
         f"(whole: {_ms(whole.get('latency_p50_ms'))} / {_ms(whole.get('latency_p95_ms'))})"),
        f"tokens (mean): prompt {_num(m.get('prompt_tokens_mean'))}, completion {_num(m.get('completion_tokens_mean'))}",
    ]
    for name, score in (m.get("scores") or {}).items():
        ref = (whole.get("scores") or {}).get(name, {})
        lines.append(f"score {name}: {_num(score.get('mean'))} (whole: {_num(ref.get('mean'))})")
    for key, values in (m.get("metadata") or {}).items():
        if values:
            lines.append(f"metadata {key}: {_top(values)}")
    if m.get("prompt_versions"):
        lines.append(f"prompt versions: {_top(m['prompt_versions'])}")
    before = m.get("baseline") or {}
    if before.get("count"):
        lines.append(f"same cluster in the baseline: thumbs-down {_pct(before.get('thumbs_down_rate'))}, "
                     f"latency p95 {_ms(before.get('latency_p95_ms'))}")
    return "\n".join(lines)


def _cut(text: str | None, chars: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= chars else text[:chars - 1] + "…"


def samples_text(rows: dict[str, dict[str, Any]], span_ids: Sequence[str], chars: int, k: int) -> str:
    """`k` spans as numbered question/answer pairs, each text cut to `chars` characters."""
    out = []
    for i, sid in enumerate([s for s in span_ids if s in rows][:k], start=1):
        row = rows[sid]
        out.append(f"[{i}] Q: {_cut(span_text(row, 'input'), chars)}\n    A: {_cut(span_text(row, 'output'), chars)}")
    return "\n".join(out) or "(none)"


def _baseline_ids(engine: Engine, analysis_id: int, cluster: int) -> tuple[str, list[str]]:
    own = analyses.cluster_span_ids(engine, analysis_id, cluster, side="baseline")
    if own:
        return "the same cluster in the baseline", own[:SAMPLES]
    every = analyses.cluster_span_ids(engine, analysis_id, side="baseline")
    step = max(1, len(every) // SAMPLES)
    return "other baseline traffic; this cluster has none", every[::step][:SAMPLES]


def build_messages(engine: Engine, analysis: dict[str, Any], cluster: dict[str, Any], version: dict[str, Any],
                   model: str | None) -> tuple[list[dict[str, str]], dict[str, Any], Any]:
    """The rendered prompt within PROMPT_BUDGET tokens, its variables, and its token count."""
    template = registry.template_of(version)
    kind, baseline = _baseline_ids(engine, analysis["id"], cluster["cluster"])
    own = list((cluster.get("metrics") or {}).get("sample_span_ids") or [])[:SAMPLES]
    rows = span_text_rows(engine, own + baseline)
    whole = (analysis.get("summary") or {}).get("production") or {}
    wanted = {v.name for v in template.variables}
    for chars, k in FITS:
        values = {"cluster": cluster["cluster"], "label": cluster.get("label") or "",
                  "metrics": metrics_text(cluster.get("metrics") or {}, whole), "baseline_kind": kind,
                  "cluster_samples": samples_text(rows, own, chars, k),
                  "baseline_samples": samples_text(rows, baseline, chars, k)}
        values = {name: value for name, value in values.items() if name in wanted}
        messages = template.render(**values)
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        tokens = count_tokens(messages, model)
        if tokens.count <= PROMPT_BUDGET:
            break
    return messages, values, tokens


def _cluster(engine: Engine, analysis_id: int, cluster: int) -> dict[str, Any]:
    found = [c for c in analyses.clusters(engine, analysis_id) if c["cluster"] == cluster]
    if not found:
        known = [c["cluster"] for c in analyses.clusters(engine, analysis_id)]
        raise NotFound(f"analysis {analysis_id} has no cluster {cluster}; its clusters are: "
                       f"{', '.join(map(str, known)) or 'none'}")
    return found[0]


def generate(engine: Engine, analysis_id: int, cluster: int, *, llm: LLM | None = None, tracer: Any | None = None,
             project: str | None = None) -> dict[str, Any]:
    """Ask the LLM for the cluster's report and store it (replacing any earlier one); returns it."""
    analysis = analyses.get_analysis(engine, analysis_id, project)
    found = _cluster(engine, analysis_id, cluster)
    version = report_prompt(engine, analysis["project"])
    llm = llm or LLM()
    messages, values, tokens = build_messages(engine, analysis, found, version, llm.model)
    info = PromptInfo(PROMPT_NAME, version["version"], registry.template_of(version).as_text(), values)
    with routed(tracer):
        result = llm.chat(messages, prompt=info, max_tokens=ANSWER_TOKENS, frequency_penalty=FREQUENCY_PENALTY,
                          span_name="cluster-report")
    at = now_us()
    details = {"model": result.model, "prompt": PROMPT_NAME, "prompt_version": version["version"],
               "generated_us": at, "generated": iso(at), "prompt_tokens": tokens.count,
               "prompt_tokens_exact": tokens.exact, "completion_tokens": result.completion_tokens,
               "latency_ms": round(result.latency_ms, 1)}
    analyses.set_report(engine, analysis_id, cluster, result.text.strip(), details)
    return get_report(engine, analysis_id, cluster)


def get_report(engine: Engine, analysis_id: int, cluster: int, project: str | None = None) -> dict[str, Any]:
    """The stored report of one cluster: `report` (None until generated) and `details`."""
    analyses.get_analysis(engine, analysis_id, project)
    found = _cluster(engine, analysis_id, cluster)
    return {"analysis_id": analysis_id, "cluster": cluster, "label": found.get("label"),
            "report": found.get("report"), "details": found.get("report_details")}
