"""Seeding for the monitor and report tests: spans with thumbs and latencies written through the
real store, finished analyses saved with the analysis store's own writer (one with real span texts
for the cluster reports), and a loopback webhook receiver."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from tenbin.loopback import LoopbackServer
from tenbin.store import analyses
from tenbin.store.engine import write_transaction
from tenbin.store.feedback import add_feedback
from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.writes import ensure_projects, insert_spans

T0 = 1_790_000_000_000_000
HOUR_US = 3600 * 1_000_000
_ids = itertools.count(1)


def span_row(start_us: int, latency_ms: float = 100.0, **values: Any) -> dict[str, Any]:
    n = next(_ids)
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(span_id=f"{n:016x}", trace_id=f"{n:032x}", name="answer", kind="LLM", status="OK",
               start_us=start_us, end_us=start_us + int(latency_ms * 1000), latency_ms=latency_ms,
               input_value=f"question {n}", output_value=f"answer {n}")
    row.update(values)
    return row


def store_rows(engine: Engine, rows: list[dict[str, Any]], project: str = "p") -> None:
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])


def rated_spans(engine: Engine, start_us: int, ups: int, downs: int, project: str = "p", **values: Any) -> list[str]:
    """`ups + downs` spans starting one second apart from `start_us`, each with one thumbs rating."""
    rows = [span_row(start_us + i * 1_000_000, **values) for i in range(ups + downs)]
    store_rows(engine, rows, project)
    for i, row in enumerate(rows):
        add_feedback(engine, span_id=row["span_id"], kind="thumbs", value=1 if i < ups else 0)
    return [r["span_id"] for r in rows]


def judged_spans(engine: Engine, start_us: int, labels: dict[str, int], evaluator: str = "qa_correctness",
                 project: str = "p", **values: Any) -> list[str]:
    """Spans one second apart from `start_us`, each with one `evaluator` result: `labels` maps a
    label to how many spans get it (score 1.0 for "correct", none for "unparseable", else 0.0)."""
    names = [label for label, n in labels.items() for _ in range(n)]
    rows = [span_row(start_us + i * 1_000_000, **values) for i in range(len(names))]
    store_rows(engine, rows, project)
    for row, label in zip(rows, names):
        add_feedback(engine, span_id=row["span_id"], kind="label", name=evaluator, label=label,
                     value={"correct": 1.0, "unparseable": None}.get(label, 0.0), source="llm",
                     author=f"{evaluator}@1")
    return [r["span_id"] for r in rows]


def timed_spans(engine: Engine, start_us: int, latencies: list[float], project: str = "p", **values: Any) -> None:
    store_rows(engine, [span_row(start_us + i * 1_000_000, lat, **values) for i, lat in enumerate(latencies)], project)


def cluster_metrics(size: int, drift_ratio: float, thumbs_down: float, p95: float) -> dict[str, Any]:
    """A cluster row's metrics as `analytics.cluster_metrics` writes them (the keys monitors read)."""
    return {"size": size, "n_production": size, "count": size, "drift_ratio": drift_ratio, "thumbs": size,
            "thumbs_down": round(size * thumbs_down), "thumbs_down_rate": thumbs_down, "latency_p95_ms": p95,
            "sample_span_ids": []}


WHOLE = {"count": 100, "thumbs": 100, "thumbs_down_rate": 0.1, "latency_p95_ms": 500.0}


def saved_analysis(engine: Engine, project: str, clusters: dict[int, dict[str, Any]],
                   drift: dict[str, Any] | None = None, summary: dict[str, Any] | None = None) -> int:
    """A finished analysis holding `clusters` (number → metrics), saved with the analysis store."""
    analysis_id = analyses.create_analysis(engine, project, {"window": {"start_us": T0, "end_us": T0 + HOUR_US}})
    rows = [{"cluster": c, "size": m["n_production"], "label": f"topic {c}", "metrics": m,
             "problem_score": None if c == analyses.NOISE else 1.0 / (c + 1),
             "rank": None if c == analyses.NOISE else c + 1} for c, m in clusters.items()]
    analyses.save_results(engine, analysis_id, drift=drift or {"mmd2": 0.01, "p_value": 0.5},
                          summary=summary or {"production": WHOLE}, clusters=rows,
                          points=[{"side": "production", "span_id": f"{c + 2:02x}{i:014x}", "cluster": c, "x": 0.0,
                                   "y": 0.0, "x3": 0.0, "y3": 0.0, "z3": 0.0}
                                  for c, m in clusters.items() for i in range(m["n_production"])])
    return analysis_id


REFUND_Q = "How do I get a refund for order {n}?"
REFUND_A = "I cannot help with that, sorry ({n})."


def seeded_analysis(engine: Engine, chars: int = 0) -> int:
    """Cluster 0: refund questions, in production (badly answered) and the baseline; cluster 1:
    a new topic in production only; the baseline also holds an unrelated span."""
    pad = " extra detail" * chars
    refunds = [span_row(T0 + i, input_value=REFUND_Q.format(n=i) + pad, output_value=REFUND_A.format(n=i) + pad)
               for i in range(6)]
    before = [span_row(T0 - 10**9 + i, input_value=f"Refund for order {i}, please", output_value="Billing → Refunds.")
              for i in range(2)]
    new = [span_row(T0 + 100 + i, input_value=f"Does the API support webhooks ({i})?", output_value="Yes.")
           for i in range(3)]
    other = span_row(T0 - 10**9 + 50, input_value="How do I reset my password?", output_value="Use Forgot password.")
    store_rows(engine, refunds + before + new + [other])
    metrics = {"n_production": 6, "n_baseline": 2, "share_production": 0.67, "drift_ratio": 1.4, "thumbs": 6,
               "thumbs_down_rate": 0.83, "latency_p50_ms": 900.0, "latency_p95_ms": 2400.0,
               "metadata": {"task": [{"value": "billing", "share": 1.0, "lift": 1.5}]},
               "sample_span_ids": [r["span_id"] for r in refunds[:4]]}
    new_metrics = {"n_production": 3, "n_baseline": 0, "drift_ratio": 12.5, "thumbs": 0,
                   "sample_span_ids": [r["span_id"] for r in new]}
    analysis_id = analyses.create_analysis(engine, "p", {"window": "1h", "baseline": "previous"})
    points = [("production", r, 0) for r in refunds] + [("baseline", r, 0) for r in before] + \
             [("production", r, 1) for r in new] + [("baseline", other, -1)]
    analyses.save_results(
        engine, analysis_id, drift={"mmd2": 0.1, "p_value": 0.01},
        summary={"production": {"thumbs_down_rate": 0.2, "latency_p95_ms": 800.0}},
        clusters=[{"cluster": 0, "size": 8, "label": "refund · order", "metrics": metrics, "problem_score": 2.0, "rank": 1},
                  {"cluster": 1, "size": 3, "label": "api · webhooks", "metrics": new_metrics, "problem_score": 1.0,
                   "rank": 2}],
        points=[{"side": side, "span_id": r["span_id"], "cluster": c, "x": 0.0, "y": 0.0, "x3": 0.0, "y3": 0.0,
                 "z3": 0.0} for side, r, c in points])
    return analysis_id


class Receiver(LoopbackServer):
    """A webhook receiver on loopback: keeps every JSON body; answers `status` (settable)."""

    def __init__(self, status: int = 200) -> None:
        app = FastAPI()
        self.bodies: list[dict[str, Any]] = []
        self.status = status

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            self.bodies.append(await request.json())
            return JSONResponse({"ok": self.status < 400}, status_code=self.status)

        super().__init__(app)
        self.hook_url = f"{self.url}/hook"


@contextmanager
def receiver(status: int = 200) -> Iterator[Receiver]:
    with Receiver(status) as r:
        yield r  # type: ignore[misc]
