"""Statistics of prompt A/B experiments: pure functions, no I/O, vectorised with numpy.

Intervals: Wilson score for rates (sound near 0 and 1 and for small n), Student t for means.

Probability to be best: Monte-Carlo over independent posteriors with a fixed seed, so a page
shows the same number on every refresh: Beta(1 + successes, 1 + failures) for rates (uniform
prior), Normal(mean, se²) for means.

Always-valid test (mSPRT, Johari, Pekelis & Walsh, "Always Valid Inference", 2017). For each
treatment arm against the control (the first arm), with d = mean_B − mean_A and V its variance
estimate (pooled p(1−p)(1/n_A + 1/n_B) for rates, Welch s²_A/n_A + s²_B/n_B for means), the
likelihood ratio of a N(0, τ²) mixture over the true difference against "no difference" is

    Λ = sqrt(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²)))

Λ is a martingale under the null, so by Ville's inequality P(Λ ever reaches 1/α) ≤ α: the test
may be looked at after every span and still rejects a true null with probability at most α.
The always-valid p-value is min(1, 1/Λ). τ = TAU_SD × the pooled standard deviation (a mixture
over standardised effects around 0.1). With k arms each comparison uses α/(k − 1) (Bonferroni).

Sample-ratio mismatch: Pearson's chi-square of exposure counts against the traffic weights; an
alarm at p < SRM_P means the split is broken (assignment, logging or a crashing arm), so the
results should not be trusted.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

Z95 = 1.959963984540054
ALPHA = 0.05
TAU_SD = 0.1
SRM_P = 0.001
DRAWS = 20_000
SEED = 20_240_601


def assign(experiment_id: int, unit: str, weights: Sequence[float]) -> int:
    """The arm of `unit`: sha256("id:unit") as a number in [0, 1), placed on the cumulative weights.

    Sticky (the same unit always gets the same arm) and independent between experiments.
    """
    digest = hashlib.sha256(f"{experiment_id}:{unit}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edges = list(accumulate(weights))
    return min(bisect_right(edges, u * edges[-1]), len(weights) - 1)


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval of a rate; None without observations."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(n: int, mean: float, var: float) -> tuple[float, float] | None:
    """95% Student-t interval of a mean (sample variance `var`); None with fewer than 2 values."""
    if n < 2:
        return None
    from scipy.stats import t  # noqa: PLC0415 - scipy is slow to import; only results pages need it

    half = float(t.ppf(0.975, n - 1)) * math.sqrt(max(var, 0.0) / n)
    return mean - half, mean + half


def prob_best_rates(successes: Sequence[float], trials: Sequence[int], draws: int = DRAWS,
                    seed: int = SEED) -> list[float]:
    """P(each arm has the highest rate) under independent Beta(1 + s, 1 + f) posteriors."""
    rng = np.random.default_rng(seed)
    s, n = np.asarray(successes, float), np.asarray(trials, float)
    samples = rng.beta(1 + s[:, None], 1 + (n - s)[:, None], size=(len(s), draws))
    return _share_of_wins(samples)


def prob_best_means(means: Sequence[float], ses: Sequence[float], draws: int = DRAWS,
                    seed: int = SEED) -> list[float]:
    """P(each arm has the highest mean) under Normal(mean, se²) posteriors (flat prior)."""
    rng = np.random.default_rng(seed)
    mu, se = np.asarray(means, float), np.asarray(ses, float)
    samples = mu[:, None] + se[:, None] * rng.standard_normal((len(mu), draws))
    return _share_of_wins(samples)


def _share_of_wins(samples: np.ndarray) -> list[float]:
    wins = np.bincount(samples.argmax(axis=0), minlength=samples.shape[0])
    return (wins / samples.shape[1]).tolist()


def msprt_log_lambda(diff: np.ndarray | float, var: np.ndarray | float,
                     tau2: np.ndarray | float) -> np.ndarray:
    """log Λ of the normal-mixture mSPRT (formula in the module docstring); 0 where V is 0."""
    d, v, t2 = np.broadcast_arrays(np.asarray(diff, float), np.asarray(var, float), np.asarray(tau2, float))
    out = np.zeros(d.shape)
    ok = (v > 0) & (t2 > 0)
    vv, tt, dd = v[ok], t2[ok], d[ok]
    out[ok] = 0.5 * np.log(vv / (vv + tt)) + tt * dd * dd / (2 * vv * (vv + tt))
    return out


def rate_test_inputs(s_a: np.ndarray, n_a: np.ndarray, s_b: np.ndarray,
                     n_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(difference, pooled variance of it, τ²) for two rates; arrays in, arrays out."""
    s_a, n_a, s_b, n_b = (np.asarray(x, float) for x in (s_a, n_a, s_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where((n_a > 0) & (n_b > 0), s_b / np.maximum(n_b, 1) - s_a / np.maximum(n_a, 1), 0.0)
        pooled = (s_a + s_b) / np.maximum(n_a + n_b, 1)
        pvar = pooled * (1 - pooled)
        var = np.where((n_a > 0) & (n_b > 0), pvar * (1 / np.maximum(n_a, 1) + 1 / np.maximum(n_b, 1)), 0.0)
    return diff, var, (TAU_SD**2) * pvar


def mean_test_inputs(a: ArmData, b: ArmData) -> tuple[float, float, float]:
    """(difference, Welch variance of it, τ²) for two means."""
    if a.n < 2 or b.n < 2:
        return 0.0, 0.0, 0.0
    pooled_var = ((a.n - 1) * a.var + (b.n - 1) * b.var) / (a.n + b.n - 2)
    return b.mean - a.mean, a.var / a.n + b.var / b.n, (TAU_SD**2) * pooled_var


@dataclass(frozen=True)
class ArmData:
    """What the store tells about one arm's metric: count, sum and sum of squares of the values."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def var(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))


def sequential(arms: Sequence[ArmData], rate: bool, alpha: float = ALPHA) -> list[dict[str, float | bool | None]]:
    """mSPRT of every arm against arm 0; arm 0's entry is the control (no test)."""
    level = alpha / max(1, len(arms) - 1)
    out: list[dict[str, float | bool | None]] = [{"difference": None, "p_value": None, "significant": False}]
    control = arms[0]
    for arm in arms[1:]:
        if rate:
            d, v, t2 = (float(x) for x in rate_test_inputs(control.total, control.n, arm.total, arm.n))
        else:
            d, v, t2 = mean_test_inputs(control, arm)
        log_lam = float(msprt_log_lambda(d, v, t2))
        p = min(1.0, math.exp(-log_lam))
        out.append({"difference": d if v > 0 else None, "p_value": p, "significant": p <= level,
                    "alpha": level})
    return out


def srm(counts: Sequence[int], weights: Sequence[float]) -> dict[str, float | bool | None]:
    """Chi-square test of exposure counts against the weights; alarm when p < SRM_P."""
    total = sum(counts)
    if total == 0:
        return {"p_value": None, "alarm": False, "chi2": None}
    from scipy.stats import chi2  # noqa: PLC0415 - see mean_interval

    w = np.asarray(weights, float) / sum(weights)
    expected = total * w
    stat = float(((np.asarray(counts, float) - expected) ** 2 / expected).sum())
    p = float(chi2.sf(stat, len(counts) - 1))
    return {"p_value": p, "alarm": p < SRM_P, "chi2": stat}
