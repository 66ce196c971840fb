"""An analysis run's points in one compact, column-wise format: what GET /api/v1/analyses/{id}/points
returns, what the embeddings page's scatter draws (its `points.json` adds the drift-over-time chart)
and what `Client.analysis_points` reads.

Why columns: at 10⁵ points a list of objects repeats every key per point. Here each attribute is
one array with one entry per point, in the same order (by side, then span id); categorical ones
are dictionary-encoded: a lookup list plus a code per point, -1 for none.

Keys
- `analysis_id`, `field` ("input" or "output", the analysed text), `cluster` filter (null: all),
  `n` (points; a span on both sides is two points).
- `span_id`: the point's span. `side`: code into `sides` (`production`, `baseline`).
- `cluster`: the point's cluster, -1 for noise; `clusters` lists the run's clusters
  (`id`, `label`, `rank`: 1 is the worst problem, null for noise), worst first.
- `x`, `y` (2D layout) and `x3`, `y3`, `z3` (3D), rounded to 0.001: display coordinates.
- `start_s`: the span's start in whole seconds after `start_origin` (ISO 8601 UTC, the earliest
  point's start, floored to the second); `latency_ms`, rounded to 0.1 (null when unknown).
- `thumbs`: code into `thumbs_names` (`none`, `up`, `down`): the span's thumbs feedback plus its
  trace's, `down` when at least half of the votes are down.
- `version`: code into `versions` (`name@version` of the span's prompt, most frequent first).
- `meta`: per categorical metadata key of the run (`summary.metadata_keys`), `{"values": [...],
  "codes": [...]}`. The full metadata is on the span (GET /api/v1/spans/{span_id}).
- `preview`: the analysed text, whitespace collapsed, at most PREVIEW characters (plus "…"); for a
  chat request in JSON, the message the analysis embedded. Data, never markup: escape it to show it.

`rows(data)` decodes the format back into one dict per point (the Python client's DataFrame).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from tenbin.analytics.embedding import span_text
from tenbin.errors import InvalidInput
from tenbin.store import analyses as store
from tenbin.store.analysis_inputs import span_text_rows
from tenbin.store.scatter import scatter_points

PREVIEW = 80
"""Characters of text per point."""
THUMBS_NONE, THUMBS_UP, THUMBS_DOWN = 0, 1, 2
THUMBS_NAMES = ("none", "up", "down")
SIDES = store.SIDES
COORDINATES = ("x", "y", "x3", "y3", "z3")


def encode(values: Sequence[Any]) -> tuple[list[str], list[int]]:
    """Dictionary-encode values (most frequent first, ties by text); None → code -1."""
    counts = Counter(str(v) for v in values if v is not None)
    names = sorted(counts, key=lambda v: (-counts[v], v))
    index = {v: i for i, v in enumerate(names)}
    return names, [-1 if v is None else index[str(v)] for v in values]


def thumbs_code(votes: int, downs: int) -> int:
    """A point's feedback: none without votes, down when at least half of them are down."""
    if not votes:
        return THUMBS_NONE
    return THUMBS_DOWN if 2 * downs >= votes else THUMBS_UP


def previews(engine: Engine, rows: Sequence[dict[str, Any]], field: str) -> list[str]:
    """Short one-line text per point. A raw value that is JSON (an instrumented chat request) is
    replaced by the message the analysis embedded, read from the span's attributes."""
    json_like = {r["span_id"] for r in rows if (r["preview"] or "").lstrip()[:1] in ("{", "[")}
    full = span_text_rows(engine, sorted(json_like)) if json_like else {}
    out = []
    for r in rows:
        text = span_text(full[r["span_id"]], field) if r["span_id"] in full else r["preview"]
        text = " ".join((text or "").split())
        out.append(text[:PREVIEW] + ("…" if len(text) > PREVIEW else ""))
    return out


def _metadata(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    out = {}
    for key in keys:
        values, codes = encode([r["metadata"].get(key) if isinstance(r["metadata"], dict) else None for r in rows])
        out[key] = {"values": values, "codes": codes}
    return out


def _starts(rows: Sequence[dict[str, Any]]) -> tuple[str | None, list[int]]:
    if not rows:
        return None, []
    origin = min(r["start_us"] for r in rows) // 1_000_000
    return (datetime.fromtimestamp(origin, UTC).isoformat(),
            [r["start_us"] // 1_000_000 - origin for r in rows])


def columns(engine: Engine, analysis: dict[str, Any], clusters: Sequence[dict[str, Any]],
            rows: Sequence[dict[str, Any]], cluster: int | None = None) -> dict[str, Any]:
    """The format (module docstring) from `store.scatter.scatter_points` rows of a done run."""
    field = (analysis["params"] or {}).get("field", "input")
    versions, version_codes = encode([f"{r['prompt_name']}@{r['prompt_version']}" if r["prompt_name"] else None
                                      for r in rows])
    origin, starts = _starts(rows)
    return {
        "analysis_id": analysis["id"], "field": field, "cluster_filter": cluster, "n": len(rows),
        "span_id": [r["span_id"] for r in rows],
        "side": [SIDES.index(r["side"]) for r in rows], "sides": list(SIDES),
        "cluster": [r["cluster"] for r in rows],
        **{axis: [round(r[axis], 3) for r in rows] for axis in COORDINATES},
        "start_origin": origin, "start_s": starts,
        "latency_ms": [None if r["latency_ms"] is None else round(r["latency_ms"], 1) for r in rows],
        "thumbs": [thumbs_code(r["votes"], r["downs"]) for r in rows], "thumbs_names": list(THUMBS_NAMES),
        "version": version_codes, "versions": versions,
        "meta": _metadata(rows, ((analysis["summary"] or {}).get("metadata_keys")) or []),
        "preview": previews(engine, rows, field),
        "clusters": [{"id": c["cluster"], "label": c["label"], "rank": c["rank"]} for c in clusters],
    }


def read(engine: Engine, analysis_id: int, project: str | None = None, cluster: int | None = None,
         clusters: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A done run's points in the format, all or one `cluster`'s; `project` checks the run is its."""
    found = store.get_analysis(engine, analysis_id, project)
    if found["status"] != "done":
        raise InvalidInput(f"analysis {analysis_id} is {found['status']}; its points exist once it is done "
                           f"(GET /api/v1/analyses/{analysis_id} shows its progress)")
    clusters = store.clusters(engine, analysis_id) if clusters is None else clusters
    if cluster is not None and cluster not in {c["cluster"] for c in clusters}:
        known = ", ".join(str(c["cluster"]) for c in sorted(clusters, key=lambda c: c["cluster"]))
        raise InvalidInput(f"analysis {analysis_id} has no cluster {cluster}; its clusters are: {known}")
    rows = scatter_points(engine, analysis_id, (found["params"] or {}).get("field", "input"), cluster=cluster)
    return columns(engine, found, clusters, rows, cluster)


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per point with the codes decoded (for pandas or plain loops)."""
    def name(names: Sequence[str], code: int) -> str | None:
        return None if code < 0 else names[code]

    out = []
    for i in range(data["n"]):
        point = {"span_id": data["span_id"][i], "side": data["sides"][data["side"][i]], "cluster": data["cluster"][i],
                 **{axis: data[axis][i] for axis in COORDINATES},
                 "start_s": data["start_s"][i], "latency_ms": data["latency_ms"][i],
                 "thumbs": data["thumbs_names"][data["thumbs"][i]],
                 "prompt_version": name(data["versions"], data["version"][i]), "preview": data["preview"][i]}
        point.update({f"metadata.{k}": name(m["values"], m["codes"][i]) for k, m in data["meta"].items()})
        out.append(point)
    return out
