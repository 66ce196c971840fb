"""Global drift between production and baseline embeddings, with a p-value.

Method: the squared maximum mean discrepancy (MMD², biased estimator) with a Gaussian (RBF)
kernel on the original embedding vectors, bandwidth by the median heuristic (the median distance
between pooled points), tested by permutation: the side labels are shuffled `permutations` times
and the p-value is (1 + #shuffles with MMD² ≥ observed) / (1 + permutations), so it is never 0 and
its resolution is 1/(permutations + 1). MMD with a characteristic kernel is zero only when the two
distributions are equal, so it catches a new topic, a vanished one or a shift in mix — unlike the
centroid distance, which is also reported (cosine distance between the sides' mean directions)
because it is easy to read, but is blind to changes that keep the mean.

Cost: the kernel matrix is O(m²) in the points tested, so each side is uniformly subsampled (seeded)
to at most `max_per_side` points; all shuffles are scored at once as one matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHOD = "MMD² (RBF kernel, median-heuristic bandwidth) with a permutation test"
MAX_PER_SIDE = 1500
PERMUTATIONS = 500


def _sample(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= k else x[np.sort(rng.choice(len(x), k, replace=False))]


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = np.sum(z * z, axis=1)
    return np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)


def centroid_distance(production: np.ndarray, baseline: np.ndarray) -> float:
    """Cosine distance between the two sides' mean directions (0 = same mean)."""
    a, b = production.mean(axis=0), baseline.mean(axis=0)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
    return float(1.0 - (a @ b) / denom)


def mmd_test(production: np.ndarray, baseline: np.ndarray, *, permutations: int = PERMUTATIONS,
             max_per_side: int = MAX_PER_SIDE, seed: int = 0) -> dict[str, Any]:
    """MMD², its permutation p-value and the settings used (see the module docstring)."""
    rng = np.random.default_rng(seed)
    x = _sample(np.asarray(production, dtype=np.float64), max_per_side, rng)
    y = _sample(np.asarray(baseline, dtype=np.float64), max_per_side, rng)
    pooled = np.vstack([x, y])
    d2 = _sq_dists(pooled)
    off_diagonal = d2[np.triu_indices(len(pooled), k=1)]
    bandwidth = float(np.sqrt(np.median(off_diagonal))) or 1.0
    kernel = np.exp(-d2 / (2.0 * bandwidth**2))
    n, m = len(x), len(y)
    weights = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    observed = float(weights @ kernel @ weights)
    shuffled = np.stack([rng.permutation(weights) for _ in range(permutations)], axis=1)
    null = np.einsum("ip,ip->p", shuffled, kernel @ shuffled)
    p_value = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + permutations)
    return {"mmd2": observed, "p_value": p_value, "permutations": permutations, "bandwidth": bandwidth,
            "tested_production": n, "tested_baseline": m}


def global_drift(production: np.ndarray, baseline: np.ndarray, *, seed: int = 0,
                 permutations: int = PERMUTATIONS, max_per_side: int = MAX_PER_SIDE) -> dict[str, Any]:
    """The run's drift line: method, MMD², p-value and centroid distance; None values without a baseline."""
    out: dict[str, Any] = {"method": METHOD, "n_production": len(production), "n_baseline": len(baseline)}
    if len(production) < 2 or len(baseline) < 2:
        return {**out, "mmd2": None, "p_value": None, "centroid_distance": None,
                "note": "drift needs at least 2 points on each side"}
    out["centroid_distance"] = centroid_distance(production, baseline)
    return {**out, **mmd_test(production, baseline, permutations=permutations, max_per_side=max_per_side, seed=seed)}
