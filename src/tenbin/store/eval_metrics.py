"""Evaluation results over a selection of spans, per evaluator: how many, the share of each label,
the mean score and who judged (code, llm, human), for the whole selection and per time bucket.
The overview's Evaluations panel, GET /projects/{p}/metrics/evals and `eval_rate` monitors read it.

A result is a feedback row of kind `label` or `score` (what `evals.base.EvalResult.feedback`
writes; human annotations of those kinds count too), and its evaluator is the feedback's name.
It counts on the span it is stored on — the join `metrics.summary` uses for thumbs and the filter
language for `feedback["name"]` — so the link `feedback["qa_correctness"] == "incorrect"` lists
exactly the spans counted. (Cluster metrics also hand a trace-level verdict to every span of the
trace, which suits a cluster of LLM spans but would count one verdict once per span here.)

A score of 1.0 means good. `mean_score` averages the results that have one (a judge's label
carries its rail's score; `unparseable` has none), so for pass/fail evaluators it is the pass
fraction. Label fractions are over all of the evaluator's results.

Large selections are read from the same slice of span ids as `metrics.summary`
(`metrics.sampled_conditions`): counts are scaled by 1 / `sample_fraction`, fractions and means are
the sample's own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, func, literal, select

from tenbin.store.metrics import bucket_expression, group_expression, sampled_conditions
from tenbin.store.models import Feedback, Span
from tenbin.store.queries import SpanQuery, iso

RESULT_KINDS = ("label", "score")
"""Feedback kinds that are evaluation results (thumbs and comments are not)."""


def result_counts(engine: Engine, q: SpanQuery, bucket_seconds: int | None = None, group_by: str | None = None,
                  evaluator: str | None = None) -> tuple[list[dict[str, Any]], float]:
    """Rows of (bucket, group, name, label, source) with `count`, `scored` (results with a score)
    and `score_sum`, as read from the sample, and the sample fraction. Raises NotFound for an
    unknown project, FilterError for a bad filter."""
    bucket = bucket_expression(bucket_seconds)
    group = group_expression(group_by) if group_by else literal(None)
    with engine.connect() as conn:
        conds, fraction = sampled_conditions(conn, q)
        if evaluator is not None:
            conds.append(Feedback.name == evaluator)
        keys = (bucket.label("bucket"), group.label("grp"), Feedback.name, Feedback.label, Feedback.source)
        stmt = (select(*keys, func.count().label("count"), func.count(Feedback.value).label("scored"),
                       func.sum(Feedback.value).label("score_sum"))
                .select_from(Span).join(Feedback, Feedback.span_id == Span.span_id)
                .where(*conds, Feedback.kind.in_(RESULT_KINDS))
                .group_by("bucket", "grp", Feedback.name, Feedback.label, Feedback.source))
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return rows, fraction


class _Tally:
    """Results of one evaluator (in one bucket, or all of them) as they are added up."""

    def __init__(self) -> None:
        self.count = 0
        self.scored = 0
        self.score_sum = 0.0
        self.labels: dict[str, int] = defaultdict(int)
        self.sources: set[str] = set()

    def add(self, row: dict[str, Any]) -> None:
        self.count += row["count"]
        self.scored += row["scored"]
        self.score_sum += float(row["score_sum"] or 0.0)
        self.sources.add(row["source"])
        if row["label"] is not None:
            self.labels[row["label"]] += row["count"]

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    def label_shares(self, fraction: float) -> list[dict[str, Any]]:
        """Each label with its (scaled) count and its share of the results, most frequent first."""
        ordered = sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"label": label, "count": _scaled(n, fraction), "fraction": n / self.count} for label, n in ordered]


def _scaled(n: int, fraction: float) -> int:
    return round(n / fraction)


def label_rates(rows: list[dict[str, Any]], label: str, fraction: float) -> dict[Any, tuple[float | None, int]]:
    """Per group of `result_counts` rows: the share of results with `label` and the (scaled) result count."""
    tallies: dict[Any, _Tally] = defaultdict(_Tally)
    for row in rows:
        tallies[row["grp"]].add(row)
    return {group: (t.labels.get(label, 0) / t.count if t.count else None, _scaled(t.count, fraction))
            for group, t in tallies.items()}


def eval_summary(engine: Engine, q: SpanQuery, bucket_seconds: int | None = None) -> dict[str, Any]:
    """`sample_fraction` and per evaluator (by name): `results`, `sources`, `labels` (count and
    fraction of each), `scored`, `mean_score` and, with `bucket_seconds`, a `series` of buckets
    (start time, results, mean score, label counts) holding at least one result."""
    rows, fraction = result_counts(engine, q, bucket_seconds)
    whole: dict[str, _Tally] = defaultdict(_Tally)
    buckets: dict[str, dict[int, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    for row in rows:
        whole[row["name"]].add(row)
        buckets[row["name"]][row["bucket"]].add(row)
    evaluators = []
    for name in sorted(whole):
        t = whole[name]
        series = [{"bucket": iso(start), "results": _scaled(b.count, fraction), "mean_score": b.mean_score,
                   "labels": {label: _scaled(n, fraction) for label, n in sorted(b.labels.items())}}
                  for start, b in sorted(buckets[name].items())] if bucket_seconds else []
        evaluators.append({"name": name, "results": _scaled(t.count, fraction), "sources": sorted(t.sources),
                           "labels": t.label_shares(fraction), "scored": _scaled(t.scored, fraction),
                           "mean_score": t.mean_score, "series": series})
    return {"sample_fraction": fraction, "evaluators": evaluators}
