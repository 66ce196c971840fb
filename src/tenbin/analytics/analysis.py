"""An embedding analysis run, end to end: load both sides' vectors, UMAP on their union, HDBSCAN,
global drift, per-cluster metrics and problem score, cluster labels, and store it all.

`prepare` checks everything a user typed (windows, baseline, field, filter, model, that both sides
have vectors) and creates the run row; only then does the slow part start, so bad input is an error
at once and leaves nothing behind. `execute` does the work, reporting its stage and progress to the
run row (and to an optional callback, the CLI's progress bar); a failure is stored on the row.
`start_in_background` is what the REST API uses: runs queue behind one lock per process, because
each one already keeps the machine's cores busy.

`rerun`/`rerun_in_background` start a new run with a finished, failed or interrupted run's stored
parameters: the same resolved sides (the same time range even if the window was written `24h`, the
same dataset version), embedding model, filter and UMAP/HDBSCAN settings and seed; the new run's
params name the original as `rerun_of`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from dataclasses import field as dc_field
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tenbin.analytics import clustering, drift, labels
from tenbin.analytics.cluster_metrics import MIN_SUPPORT, Frame, Whole, cluster_table
from tenbin.analytics.clustering import HdbscanParams
from tenbin.analytics.embedding import span_text
from tenbin.analytics.projection import MIN_POINTS, UmapParams, project
from tenbin.analytics.windows import Side, parse_baseline, parse_window
from tenbin.errors import InvalidInput, NotFound, TenbinError
from tenbin.filters import compile_filter
from tenbin.store import analyses as store
from tenbin.store import analysis_inputs as inputs
from tenbin.store.datasets import get_dataset
from tenbin.store.embeddings import count_vectors
from tenbin.store.interrupted import refuse_active
from tenbin.store.keys import project_id
from tenbin.store.queries import SpanQuery
from tenbin.store.segments import time_extent

MODEL_ALIASES = {"minilm": "all-MiniLM-L6-v2", "wordllama": "wordllama-l2-supercat-256"}
ACTIVE = ("queued", "running")
LABEL_TEXTS = 30
"""Central texts per cluster read to name it."""
Progress = Callable[[str, float], None]
_one_at_a_time = threading.Lock()


@dataclass(frozen=True)
class AnalysisRequest:
    project: str
    baseline: str
    window: str = ""
    field: str = "input"
    model: str | None = None
    """Stored embedding model name (or minilm/wordllama); None: the project's most used one."""
    filter: str = ""
    umap: UmapParams = dc_field(default_factory=UmapParams)
    hdbscan: HdbscanParams = dc_field(default_factory=HdbscanParams)
    min_support: int = MIN_SUPPORT
    samples: int = 5


@dataclass(frozen=True)
class Plan:
    """A checked request: resolved model, both sides, and the parameters stored with the run."""

    request: AnalysisRequest
    model: str
    production: Side
    baseline: Side
    baseline_ids: list[str] | None
    params: dict[str, Any]


def _model(engine: Engine, request: AnalysisRequest) -> str:
    counts = count_vectors(engine, project_id(engine, request.project))
    of_field = {k.rsplit("/", 1)[0]: n for k, n in counts.items() if k.endswith("/" + request.field)}
    if request.model:
        name = MODEL_ALIASES.get(request.model, request.model)
        if name not in of_field:
            raise InvalidInput(f"project {request.project!r} has no {request.field} vectors of model {name!r}; "
                               f"models with {request.field} vectors: {', '.join(sorted(of_field)) or 'none'}")
        return name
    if not of_field:
        raise InvalidInput(f"project {request.project!r} has no {request.field} embeddings yet; "
                           f"run `tenbin embed --project {request.project}` first")
    return max(sorted(of_field), key=lambda m: of_field[m])


def _side_args(side: Side, ids: list[str] | None) -> dict[str, Any]:
    return {"start_us": side.start_us, "end_us": side.end_us, "prompt": side.prompt, "span_ids": ids}


def _resolve_sides(engine: Engine, request: AnalysisRequest) -> tuple[Side, Side]:
    extent = time_extent(engine, SpanQuery(request.project))
    newest = extent[1] if extent else None
    production = parse_window(request.window, newest)
    return production, parse_baseline(request.baseline, production, newest)


def _side_of(data: dict[str, Any]) -> Side:
    """A side as stored in a run's params (JSON turned its tuples into lists)."""
    return Side(data.get("start_us"), data.get("end_us"), tuple(data["dataset"]) if data.get("dataset") else None,
                tuple(data["prompt"]) if data.get("prompt") else None)


def prepare(engine: Engine, request: AnalysisRequest, sides: tuple[Side, Side] | None = None) -> Plan:
    """Check the request (raising InvalidInput/NotFound with what to do) and resolve both sides
    (given `sides`, a re-run's stored ones, those are used as they are)."""
    if request.field not in ("input", "output"):
        raise InvalidInput(f"field must be input or output; got {request.field!r}")
    if not 1 <= request.samples <= 50 or request.min_support < 1:
        raise InvalidInput("samples must be between 1 and 50 and min_support at least 1")
    request.umap.check()
    request.hdbscan.check()
    compile_filter(request.filter)
    production, baseline = sides or _resolve_sides(engine, request)
    model = _model(engine, request)
    ids = None
    if baseline.dataset:
        found = get_dataset(engine, request.project, *baseline.dataset)
        ids = [e["source_span_id"] for e in found["examples"] if e["source_span_id"]]
        baseline = Side(dataset=(baseline.dataset[0], found["version"]))
    total = 0
    for name, side, side_ids in (("production window", production, None), ("baseline", baseline, ids)):
        n = inputs.count_side(engine, request.project, model, request.field, filter=request.filter,
                              **_side_args(side, side_ids))
        if n == 0:
            raise InvalidInput(f"the {name} ({side.describe()}) has no spans with {request.field} vectors of "
                               f"{model}{' matching the filter' if request.filter else ''}; widen it, or embed "
                               f"with `tenbin embed --project {request.project}`")
        total += n
    if total < MIN_POINTS:
        raise InvalidInput(f"an analysis needs at least {MIN_POINTS} embedded spans on both sides together; "
                           f"found {total}: widen the window or the baseline")
    params = {"window": request.window, "baseline": request.baseline, "field": request.field, "model": model,
              "filter": request.filter, "production_side": production.describe(), "baseline_side": baseline.describe(),
              "umap": request.umap.as_dict(), "hdbscan": request.hdbscan.as_dict(),
              "min_support": request.min_support, "samples": request.samples,
              "sides": {"production": asdict(production), "baseline": asdict(baseline)}}
    return Plan(request, model, production, baseline, ids, params)


def _load(engine: Engine, plan: Plan) -> tuple[dict[str, list[Any]], list[str], np.ndarray]:
    r = plan.request
    prod_facts, prod_vectors = inputs.load_side(engine, r.project, plan.model, r.field, filter=r.filter,
                                                **_side_args(plan.production, None))
    base_facts, base_vectors = inputs.load_side(engine, r.project, plan.model, r.field, filter=r.filter,
                                                **_side_args(plan.baseline, plan.baseline_ids))
    facts = {k: prod_facts[k] + base_facts[k] for k in prod_facts}
    sides = ["production"] * len(prod_vectors) + ["baseline"] * len(base_vectors)
    return facts, sides, np.vstack([prod_vectors, base_vectors])


def _labels(engine: Engine, span_ids: list[str], central: dict[int, list[int]], field: str) -> dict[int, str]:
    rows = inputs.span_text_rows(engine, [span_ids[i] for members in central.values() for i in members])
    texts = {c: [t for i in members if (t := span_text(rows.get(span_ids[i], {}), field))]
             for c, members in central.items()}
    return labels.label_clusters(texts)


def _samples(span_ids: list[str], members: list[int], k: int) -> list[str]:
    return list(dict.fromkeys(span_ids[i] for i in members))[:k]


def execute(engine: Engine, analysis_id: int, plan: Plan, progress: Progress | None = None) -> dict[str, Any]:
    """Run the analysis `analysis_id` was created for; returns the stored run."""
    def step(stage: str, fraction: float) -> None:
        store.set_progress(engine, analysis_id, stage, fraction)
        if progress:
            progress(stage, fraction)

    r = plan.request
    try:
        step("loading", 0.02)
        facts, sides, vectors = _load(engine, plan)
        layout = project(vectors, r.umap, lambda stage, f: step(stage, 0.05 + 0.75 * f))
        step("clustering", 0.82)
        found = clustering.cluster(layout.cluster_space, r.hdbscan)
        step("drift", 0.88)
        is_prod = np.array([s == "production" for s in sides])
        global_drift = drift.global_drift(vectors[is_prod], vectors[~is_prod], seed=r.umap.seed or 0)
        step("metrics", 0.92)
        frame = Frame.build(facts, sides)
        whole = Whole.of(frame)
        table = cluster_table(frame, found, whole, r.min_support)
        central = clustering.central_members(vectors, found, max(LABEL_TEXTS, r.samples))
        names = _labels(engine, frame.span_ids, central, r.field)
        for row in table:
            row["label"] = names.get(row["cluster"])
            row["metrics"]["sample_span_ids"] = _samples(frame.span_ids, central[row["cluster"]], r.samples)
        points = [{"span_id": s, "side": side, "cluster": int(c), "x": float(xy[0]), "y": float(xy[1]),
                   "x3": float(p[0]), "y3": float(p[1]), "z3": float(p[2])}
                  for s, side, c, xy, p in zip(frame.span_ids, sides, found, layout.xy, layout.xyz)]
        step("storing", 0.97)
        store.save_results(engine, analysis_id, drift=global_drift, summary=whole.summary(), clusters=table,
                           points=points)
    except BaseException as exc:
        store.fail_analysis(engine, analysis_id, f"{type(exc).__name__}: {exc}" if not isinstance(exc, TenbinError)
                            else str(exc))
        raise
    return store.get_analysis(engine, analysis_id)


def _run_now(engine: Engine, plan: Plan, progress: Progress | None) -> dict[str, Any]:
    analysis_id = store.create_analysis(engine, plan.request.project, plan.params)
    with _one_at_a_time:
        return execute(engine, analysis_id, plan, progress)


def analyze(engine: Engine, request: AnalysisRequest, progress: Progress | None = None) -> dict[str, Any]:
    """Check, create and run an analysis now (the CLI and Python path); returns the stored run."""
    return _run_now(engine, prepare(engine, request), progress)


def start_in_background(engine: Engine, request: AnalysisRequest) -> dict[str, Any]:
    """Check and create the run, then execute it on a daemon thread; returns the queued run."""
    return _start(engine, prepare(engine, request))


def _settings(cls: Any, stored: dict[str, Any] | None) -> Any:
    """UMAP/HDBSCAN settings from a run's params, ignoring names this version of tenbin lacks."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (stored or {}).items() if k in names})


def rerun_plan(engine: Engine, analysis_id: int, project: str | None = None) -> Plan:
    """The checked plan of a new run with `analysis_id`'s stored parameters (see the module docstring).
    Runs stored before the sides were kept resolve their window and baseline text again."""
    found = store.get_analysis(engine, analysis_id, project)
    refuse_active(f"analysis {analysis_id}", found["status"], ACTIVE)
    p = found["params"] or {}
    request = AnalysisRequest(found["project"], p.get("baseline", ""), p.get("window", ""), p.get("field", "input"),
                              p.get("model"), p.get("filter", ""), _settings(UmapParams, p.get("umap")),
                              _settings(HdbscanParams, p.get("hdbscan")), p.get("min_support", MIN_SUPPORT),
                              p.get("samples", 5))
    sides = p.get("sides")
    try:
        plan = prepare(engine, request, (_side_of(sides["production"]), _side_of(sides["baseline"])) if sides else None)
    except (InvalidInput, NotFound) as exc:
        raise InvalidInput(f"analysis {analysis_id} cannot run again: {exc}. Nothing was stored.") from exc
    return replace(plan, params={**plan.params, "rerun_of": analysis_id})


def rerun(engine: Engine, analysis_id: int, project: str | None = None,
          progress: Progress | None = None) -> dict[str, Any]:
    """Run `analysis_id` again now, as a new run with its stored parameters; returns the new run."""
    return _run_now(engine, rerun_plan(engine, analysis_id, project), progress)


def rerun_in_background(engine: Engine, analysis_id: int, project: str | None = None) -> dict[str, Any]:
    """The REST/UI path of `rerun`: check and create the new run, execute it on a daemon thread."""
    return _start(engine, rerun_plan(engine, analysis_id, project))


def _start(engine: Engine, plan: Plan) -> dict[str, Any]:
    analysis_id = store.create_analysis(engine, plan.request.project, plan.params)

    def target() -> None:
        with _one_at_a_time:
            try:
                execute(engine, analysis_id, plan)
            except Exception:  # noqa: BLE001, S110 - stored on the run's row by execute
                pass

    threading.Thread(target=target, name=f"tenbin-analysis-{analysis_id}", daemon=True).start()
    return store.get_analysis(engine, analysis_id)
