"""The experiment statistics, checked by seeded simulation: the sequential test keeps its false
positive rate under continuous monitoring and still finds real differences; the SRM alarm fires
on skewed splits only; hashing assigns stably and in proportion to the weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tenbin.prompts import stats

RUNS, LOOKS, BATCH = 400, 20, 200


def _ever_significant(p_a: float, p_b: float, seed: int, alpha: float = stats.ALPHA) -> np.ndarray:
    """For each simulated run: did the mSPRT reject at any of the LOOKS looks?"""
    rng = np.random.default_rng(seed)
    s_a = rng.binomial(BATCH, p_a, size=(RUNS, LOOKS)).cumsum(axis=1)
    s_b = rng.binomial(BATCH, p_b, size=(RUNS, LOOKS)).cumsum(axis=1)
    n = np.broadcast_to(BATCH * np.arange(1, LOOKS + 1), (RUNS, LOOKS))
    log_lam = stats.msprt_log_lambda(*stats.rate_test_inputs(s_a, n, s_b, n))
    return (log_lam >= math.log(1 / alpha)).any(axis=1)


def _binomial_slack(p: float, n: int) -> float:
    """Three standard errors of a rate p estimated from n runs: the simulation's own noise."""
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_sequential_test_false_positive_rate_stays_under_alpha_when_checked_every_batch(rate: float) -> None:
    rejected = _ever_significant(rate, rate, seed=int(rate * 1000))
    assert rejected.mean() <= stats.ALPHA + _binomial_slack(stats.ALPHA, RUNS)


def test_peeking_with_a_fixed_horizon_z_test_would_inflate_false_positives() -> None:
    """The control: the naive test looked at after every batch rejects far more often than 5%."""
    rng = np.random.default_rng(7)
    s_a = rng.binomial(BATCH, 0.2, size=(RUNS, LOOKS)).cumsum(axis=1)
    s_b = rng.binomial(BATCH, 0.2, size=(RUNS, LOOKS)).cumsum(axis=1)
    n = BATCH * np.arange(1, LOOKS + 1)
    diff, var, _ = stats.rate_test_inputs(s_a, n, s_b, n)
    naive = (np.abs(diff) / np.sqrt(var) > stats.Z95).any(axis=1).mean()
    assert naive > 2 * stats.ALPHA


def test_sequential_test_detects_a_real_difference() -> None:
    rejected = _ever_significant(0.10, 0.13, seed=11)
    assert rejected.mean() >= 0.9


def test_sequential_result_per_arm_reports_significance_against_control() -> None:
    a = stats.ArmData(n=5000, total=500, total_sq=500)
    b = stats.ArmData(n=5000, total=700, total_sq=700)
    same = stats.ArmData(n=5000, total=505, total_sq=505)
    result = stats.sequential([a, b, same], rate=True)
    assert result[0]["p_value"] is None
    assert result[1]["significant"] and result[1]["difference"] == pytest.approx(0.04)
    assert not result[2]["significant"] and result[1]["alpha"] == pytest.approx(stats.ALPHA / 2)


def test_sequential_test_on_means_keeps_alpha_and_finds_a_shift() -> None:
    rng = np.random.default_rng(3)
    def run(shift: float) -> bool:
        a, b = rng.normal(0.6, 0.2, 2000), rng.normal(0.6 + shift, 0.2, 2000)
        for k in range(100, 2001, 100):
            arms = [stats.ArmData(k, a[:k].sum(), (a[:k] ** 2).sum()), stats.ArmData(k, b[:k].sum(), (b[:k] ** 2).sum())]
            if stats.sequential(arms, rate=False)[1]["significant"]:
                return True
        return False
    null_rate = np.mean([run(0.0) for _ in range(150)])
    assert null_rate <= stats.ALPHA + _binomial_slack(stats.ALPHA, 150)
    assert np.mean([run(0.05) for _ in range(30)]) >= 0.9


def test_srm_alarm_fires_on_a_skewed_split_and_not_on_a_fair_one() -> None:
    assert stats.srm([5200, 4800], [0.5, 0.5])["alarm"]
    assert not stats.srm([5030, 4970], [0.5, 0.5])["alarm"]
    assert stats.srm([0, 0], [0.5, 0.5]) == {"p_value": None, "alarm": False, "chi2": None}


def test_srm_false_alarm_rate_on_fair_splits_is_near_its_threshold() -> None:
    rng = np.random.default_rng(5)
    counts = rng.multinomial(10_000, [0.5, 0.3, 0.2], size=2000)
    alarms = sum(stats.srm(c.tolist(), [0.5, 0.3, 0.2])["alarm"] for c in counts)
    assert alarms / 2000 <= stats.SRM_P + _binomial_slack(stats.SRM_P, 2000) + 1 / 2000
    skewed = rng.multinomial(10_000, [0.53, 0.27, 0.2], size=50)
    assert all(stats.srm(c.tolist(), [0.5, 0.3, 0.2])["alarm"] for c in skewed)


def test_assignment_is_sticky_per_unit_and_follows_the_weights() -> None:
    weights = [0.5, 0.3, 0.2]
    units = [f"user-{i}" for i in range(30_000)]
    arms = np.array([stats.assign(42, u, weights) for u in units])
    assert [stats.assign(42, u, weights) for u in units[:500]] == arms[:500].tolist()
    shares = np.bincount(arms, minlength=3) / len(units)
    for share, w in zip(shares, weights, strict=True):
        assert abs(share - w) <= 4 * math.sqrt(w * (1 - w) / len(units))
    assert not stats.srm(np.bincount(arms).tolist(), weights)["alarm"]
    other = np.array([stats.assign(43, u, weights) for u in units[:2000]])
    assert (other != arms[:2000]).mean() > 0.3


def test_wilson_interval_stays_inside_zero_and_one_and_covers_the_rate() -> None:
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == pytest.approx(1.0)
    lo, hi = stats.wilson(30, 100)
    assert lo < 0.3 < hi and hi - lo == pytest.approx(0.177, abs=0.002)
    assert stats.wilson(0, 0) is None


def test_mean_interval_uses_student_t() -> None:
    lo, hi = stats.mean_interval(4, 1.0, 1.0)
    assert hi - 1.0 == pytest.approx(3.182446 * 0.5, rel=1e-5)
    assert stats.mean_interval(1, 1.0, 0.0) is None


def test_probability_to_be_best_favours_the_better_arm_and_is_reproducible() -> None:
    p = stats.prob_best_rates([100, 130], [1000, 1000])
    assert p == stats.prob_best_rates([100, 130], [1000, 1000])
    assert sum(p) == pytest.approx(1.0) and p[1] > 0.95
    even = stats.prob_best_means([0.5, 0.5, 0.5], [0.01, 0.01, 0.01])
    assert all(abs(x - 1 / 3) < 0.02 for x in even)
