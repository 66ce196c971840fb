"""HDBSCAN clusters on the UMAP clustering layout, and each cluster's most central members.

HDBSCAN needs no number of clusters and leaves points that belong to no dense
region as noise (label -1). We keep the noise explicit — it is stored as cluster -1 with its own
metrics, shown in the table, and never ranked as a problem — rather than forcing every odd request
into the nearest topic.

Defaults: `min_cluster_size = max(15, √n)` (39 at 1.5k points, 100 at 10k, 316 at 100k), so the
smallest topic worth a row grows with traffic, but slower than it. Smaller values split a topic
into its phrasings (on the planted-problem traffic ½·√n gave 44 clusters for 8 topics, √n gave 13:
each still one topic, and the table stays readable); `min_samples = 5` keeps the core
distance local (a small k also keeps the neighbour queries cheap at 10⁵ points) and so less is
called noise; `cluster_selection_method="eom"` picks the most persistent clusters ("leaf" gives
more, smaller ones).

Implementation: the `hdbscan` package (in the analytics extra) when installed, else scikit-learn's
`HDBSCAN`. Same algorithm and parameters, but scikit-learn builds the minimum spanning tree with
Prim's algorithm over all pairs, O(n²), which dominates the run at 10⁵ points, while `hdbscan`'s
Borůvka on a k-d tree is about O(n log n) in a few dimensions (timings: benchmarks/bench_analysis.py).
`tests/test_analysis.py` checks that both give the same clusters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tenbin.errors import InvalidInput

NOISE = -1


@dataclass(frozen=True)
class HdbscanParams:
    min_cluster_size: int | None = None
    """None: max(15, √n)."""
    min_samples: int = 5
    selection: str = "eom"

    def size_for(self, n: int) -> int:
        return self.min_cluster_size or max(15, round(math.sqrt(n)))

    def check(self) -> None:
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise InvalidInput(f"min_cluster_size must be at least 2; got {self.min_cluster_size}")
        if self.min_samples < 1:
            raise InvalidInput(f"min_samples must be at least 1; got {self.min_samples}")
        if self.selection not in ("eom", "leaf"):
            raise InvalidInput(f"cluster selection must be eom or leaf; got {self.selection!r}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _fit(space: np.ndarray, size: int, min_samples: int, selection: str) -> np.ndarray:
    try:
        import hdbscan
    except ImportError:
        from sklearn.cluster import HDBSCAN

        return HDBSCAN(min_cluster_size=size, min_samples=min_samples, cluster_selection_method=selection,
                       copy=True).fit_predict(space)
    return hdbscan.HDBSCAN(min_cluster_size=size, min_samples=min_samples, cluster_selection_method=selection,
                           core_dist_n_jobs=-1).fit_predict(space)


def cluster(space: np.ndarray, params: HdbscanParams | None = None) -> np.ndarray:
    """One label per row of `space`: 0 is the largest cluster, 1 the next, …; -1 is noise."""
    params = params or HdbscanParams()
    params.check()
    size = max(min(params.size_for(len(space)), len(space)), 2)
    labels = _fit(np.asarray(space, dtype=np.float64), size, min(params.min_samples, size), params.selection)
    return _by_size(np.asarray(labels))


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters by decreasing size (ties by old label), so numbering is stable and readable."""
    found = [c for c in np.unique(labels) if c != NOISE]
    order = sorted(found, key=lambda c: (-int(np.sum(labels == c)), int(c)))
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(c), NOISE) for c in labels], dtype=np.int32)


def central_members(vectors: np.ndarray, labels: np.ndarray, k: int) -> dict[int, list[int]]:
    """Per cluster (noise included), the row indices of the `k` members nearest its mean direction
    in the original embedding space (cosine): the cluster's representative samples."""
    out: dict[int, list[int]] = {}
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        centre = vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(centre)) or 1.0
        scores = vectors[rows] @ (centre / norm)
        out[int(c)] = [int(rows[i]) for i in np.argsort(-scores, kind="stable")[:k]]
    return out
