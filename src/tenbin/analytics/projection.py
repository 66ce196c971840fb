"""UMAP of the embedding vectors: one space to cluster in, and 2D + 3D layouts to look at.

Why three layouts from one neighbour graph: HDBSCAN works badly on 384 raw dimensions (distances
concentrate) and UMAP's own 2D picture squeezes clusters together to fit a plane; so clustering
runs on a 5D UMAP (`min_dist=0`, which packs neighbours tightly, as BERTopic does) while the scatter
shows 2D/3D UMAPs with the usual `min_dist=0.1`. The k-nearest-neighbour graph (NNDescent, the
costliest step at 10⁵ points) is computed once and handed to all three fits (`precomputed_knn`),
and the 2D/3D fits start from the principal components of the 5D layout, so they agree with the
clusters and need only 100 refining epochs (`display_epochs`) instead of a full fit.

Parameters (see `UmapParams`): `n_neighbors=15` balances local against global structure (UMAP's
default; more neighbours merge small topics); `metric="cosine"`, the metric the embedders are
trained for; `seed` makes a run reproducible — umap-learn then optimises on one thread
(`seed=None` lets it use every core; the benchmark's `--unseeded` measures the difference).

Reproducibility: a seeded run of the same stored spans gives the same layout and clusters whatever
the thread counts (a CPU with other vector instructions may still round differently in BLAS and
numba). The spans arrive sorted by span id (`store.analysis_inputs.load_side`), and above
`exact_knn_max` points the approximate neighbour search runs on one thread when seeded, because
pynndescent splits its work into one block per numba thread: with `n_jobs=-1` its neighbours —
and so the whole layout — changed with the core count (or with a thread's `numba.set_num_threads`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from tenbin.errors import InvalidInput

MIN_POINTS = 10
"""Fewer points than this cannot be projected meaningfully."""


@dataclass(frozen=True)
class UmapParams:
    n_neighbors: int = 15
    cluster_dims: int = 5
    """Dimensions of the layout HDBSCAN clusters in."""
    metric: str = "cosine"
    min_dist_display: float = 0.1
    n_epochs: int | None = None
    """Epochs of the clustering layout; None: umap-learn's default (500 up to 10k points, 200 above)."""
    display_epochs: int | None = 100
    """Epochs of the 2D/3D layouts. They start from the clustering layout's principal components, so
    they need only refining: 100 epochs cost half of a 200-epoch fit (None: umap-learn's default)."""
    low_memory: bool = True
    seed: int | None = 42
    exact_knn_max: int = 4096
    """Up to this many points the neighbours are exact (one matrix product, n² floats of memory), as
    umap-learn does itself; above, approximate (NNDescent), whose numba compilation is slow on a
    process's first call."""

    def check(self) -> None:
        if not 2 <= self.n_neighbors <= 200:
            raise InvalidInput(f"n_neighbors must be between 2 and 200; got {self.n_neighbors}")
        if not 2 <= self.cluster_dims <= 50:
            raise InvalidInput(f"cluster_dims must be between 2 and 50; got {self.cluster_dims}")
        for name, epochs in (("n_epochs", self.n_epochs), ("display_epochs", self.display_epochs)):
            if epochs is not None and not 10 <= epochs <= 2000:
                raise InvalidInput(f"{name} must be between 10 and 2000; got {epochs}")
        if not 0 <= self.exact_knn_max <= 10_000:
            raise InvalidInput(f"exact_knn_max must be between 0 and 10000 (n² memory); got {self.exact_knn_max}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Projection:
    cluster_space: np.ndarray
    xy: np.ndarray
    xyz: np.ndarray


Step = Callable[[str, float], None]


def _exact_knn(vectors: np.ndarray, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.metrics import pairwise_distances

    dists = pairwise_distances(vectors, metric=metric).astype(np.float32)
    indices = np.argsort(dists, axis=1, kind="stable")[:, :k]
    return indices.astype(np.int32), np.take_along_axis(dists, indices, axis=1)


def _knn(vectors: np.ndarray, params: UmapParams, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest neighbours of every point, the point itself first (what UMAP expects)."""
    from umap.umap_ import nearest_neighbors

    if len(vectors) <= params.exact_knn_max:
        return _exact_knn(vectors, params.metric, k)

    state = np.random.RandomState(params.seed)
    # Seeded: one thread, else the neighbours depend on the thread count (module docstring).
    indices, dists, _ = nearest_neighbors(vectors, k, params.metric, {}, False, state,
                                          low_memory=params.low_memory, n_jobs=1 if params.seed is not None else -1)
    return indices, dists


def _fit(vectors: np.ndarray, knn: tuple[np.ndarray, np.ndarray], params: UmapParams, dims: int,
         min_dist: float, init: np.ndarray | str, k: int, epochs: int | None) -> np.ndarray:
    import umap

    reducer = umap.UMAP(n_neighbors=k, n_components=dims, metric=params.metric, min_dist=min_dist,
                        n_epochs=epochs, low_memory=params.low_memory, init=init,
                        random_state=params.seed, precomputed_knn=knn, n_jobs=1 if params.seed is not None else -1)
    with warnings.catch_warnings():
        # "n_jobs overridden by setting random_state" and the no-search-index notice are expected.
        warnings.simplefilter("ignore", UserWarning)
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def _scaled(layout: np.ndarray, dims: int) -> np.ndarray:
    """The layout's top `dims` principal components as an init layout, in UMAP's usual ±10 box."""
    centred = layout.astype(np.float64) - layout.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    part = centred @ components[:dims].T
    span = np.abs(part).max() or 1.0
    return (part * (10.0 / span)).astype(np.float32)


def project(vectors: np.ndarray, params: UmapParams | None = None, step: Step | None = None) -> Projection:
    """The clustering layout and the 2D/3D display layouts of `vectors` (one row per point)."""
    params = params or UmapParams()
    params.check()
    n = len(vectors)
    if n < MIN_POINTS:
        raise InvalidInput(f"an analysis needs at least {MIN_POINTS} embedded spans; found {n}. "
                           "Widen the window or embed more spans with `tenbin embed`")
    report = step or (lambda _stage, _frac: None)
    k = min(params.n_neighbors, n - 1)
    report("neighbours", 0.0)
    knn = _knn(vectors, params, k)
    report("umap-cluster", 0.25)
    cluster_space = _fit(vectors, knn, params, params.cluster_dims, 0.0, "spectral", k, params.n_epochs)
    report("umap-2d", 0.55)
    xy = _fit(vectors, knn, params, 2, params.min_dist_display, _scaled(cluster_space, 2), k, params.display_epochs)
    report("umap-3d", 0.75)
    xyz = _fit(vectors, knn, params, 3, params.min_dist_display, _scaled(cluster_space, 3), k,
               params.display_epochs)
    report("projected", 1.0)
    return Projection(cluster_space, xy, xyz)
