"""pass@k and best-of-k: brute-force enumeration, Monte Carlo, stability, shapes and errors."""

from itertools import combinations
from math import comb

import numpy as np
import pytest

from itslab.scaling import (
    best_of_k,
    best_of_k_matrix,
    counts_from_flags,
    default_ks,
    pass_at_k,
    pass_at_k_from_counts,
    pass_at_k_matrix,
)


def brute_pass_at_k(flags: np.ndarray, k: int) -> float:
    subsets = list(combinations(range(len(flags)), k))
    return float(np.mean([flags[list(s)].any() for s in subsets]))


def brute_best_of_k(scores: np.ndarray, flags: np.ndarray, k: int, tie: str) -> float:
    total = 0.0
    subsets = list(combinations(range(len(flags)), k))
    for s in subsets:
        s = np.array(s)
        top = scores[s].max()
        tied = s[scores[s] == top]
        total += flags[tied].mean() if tie == "random" else float(flags[tied.min()])
    return total / len(subsets)


def test_pass_at_k_equals_brute_force_on_small_pools():
    rng = np.random.default_rng(0)
    flags = rng.random((12, 8)) < rng.random((12, 1))  # mixed difficulty, some all-wrong/all-right rows
    flags[0] = False
    flags[1] = True
    got = pass_at_k_matrix(*counts_from_flags(flags), list(range(1, 9)))
    want = np.array([[brute_pass_at_k(row, k) for k in range(1, 9)] for row in flags])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_pass_at_k_matches_exact_comb_and_monte_carlo_on_large_pools():
    n, c = 2000, np.array([0, 1, 7, 300, 1999, 2000])
    ks = [1, 3, 50, 999, 2000]
    got = pass_at_k_matrix(n, c, ks)
    exact = np.array([[1 - comb(n - ci, k) / comb(n, k) for k in ks] for ci in c])
    np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-13)
    # Monte Carlo: the number of correct samples in a random 50-subset of a pool with c of n
    # correct is hypergeometric; 100,000 draws per c -> se <= 0.0016
    rng = np.random.default_rng(1)
    for row, ci in enumerate(c[1:5], start=1):
        draws = rng.hypergeometric(int(ci), int(n - ci), 50, size=100_000) > 0
        assert abs(draws.mean() - got[row, 2]) < 0.006


def test_pass_at_k_stable_at_n_1e5_k_1e4():
    n = 100_000
    c = np.array([0, 1, 2, 10, 5_000, 90_000, 99_999, 100_000])
    ks = [1, 10, 1_000, 10_000]
    got = pass_at_k_matrix(n, c, ks)
    assert np.all(np.isfinite(got)) and np.all((got >= 0) & (got <= 1))
    # c = 1: pass@k = k/n exactly; c = 2: 1 - (n-k)(n-k-1)/(n(n-1))
    np.testing.assert_allclose(got[1], np.array(ks) / n, rtol=1e-10)
    k = np.array(ks, dtype=float)
    np.testing.assert_allclose(got[2], 1 - (n - k) * (n - k - 1) / (n * (n - 1)), rtol=1e-9)
    assert np.all(np.diff(got, axis=1) >= 0) and np.all(np.diff(got, axis=0) >= 0)


def test_pass_at_k_frame_columns_se_and_bootstrap():
    rng = np.random.default_rng(2)
    flags = rng.random((200, 16)) < rng.beta(0.5, 1.5, (200, 1))
    frame = pass_at_k(flags, [1, 4, 16], rng=rng, n_boot=300)
    assert list(frame.columns) == ["k", "metric", "value", "se", "n_problems", "method", "ci_low", "ci_high"]
    per = pass_at_k_matrix(*counts_from_flags(flags), [1, 4, 16])
    np.testing.assert_allclose(frame["value"], per.mean(axis=0))
    np.testing.assert_allclose(frame["se"], per.std(axis=0, ddof=1) / np.sqrt(200))
    np.testing.assert_allclose(frame["value"][0], flags.mean())  # pass@1 = mean accuracy
    assert np.all(frame["ci_low"] < frame["value"]) and np.all(frame["value"] < frame["ci_high"])
    # a 95% bootstrap interval is about +-1.96 se wide (tolerance 25%)
    np.testing.assert_allclose(frame["ci_high"] - frame["ci_low"], 2 * 1.96 * frame["se"], rtol=0.25)


def test_pass_at_k_from_counts_heterogeneous_n_and_errors():
    frame = pass_at_k_from_counts(np.array([10, 20]), np.array([5, 0]), [1, 10])
    np.testing.assert_allclose(frame["value"], [0.25, 0.5 * (1 - comb(5, 10) / comb(10, 10))])
    with pytest.raises(ValueError, match="k=11"):
        pass_at_k_from_counts(np.array([10, 20]), np.array([5, 0]), [1, 11])
    with pytest.raises(ValueError, match="problem 1 has c=21"):
        pass_at_k_matrix(20, np.array([3, 21]), [1])
    with pytest.raises(ValueError, match="shape"):
        counts_from_flags(np.ones(5, dtype=bool))


def test_default_ks():
    assert default_ks(10).tolist() == [1, 2, 4, 8, 10]
    assert default_ks(16).tolist() == [1, 2, 4, 8, 16]


@pytest.mark.parametrize("tie", ["random", "first"])
def test_best_of_k_equals_brute_force_with_ties(tie):
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, (10, 7)).astype(float)  # few distinct values: many ties
    flags = rng.random((10, 7)) < 0.4
    got = best_of_k_matrix(scores, flags, list(range(1, 8)), tie=tie)
    want = np.array([[brute_best_of_k(s, f, k, tie) for k in range(1, 8)] for s, f in zip(scores, flags)])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_best_of_k_with_oracle_scores_is_pass_at_k_and_large_pool_is_finite():
    rng = np.random.default_rng(4)
    flags = rng.random((30, 64)) < 0.1
    oracle = best_of_k_matrix(flags.astype(float), flags, [1, 8, 64])
    np.testing.assert_allclose(oracle, pass_at_k_matrix(*counts_from_flags(flags), [1, 8, 64]), atol=1e-12)
    big = best_of_k_matrix(rng.random((2, 20_000)), rng.random((2, 20_000)) < 0.3, [1, 100, 10_000, 20_000])
    assert np.all(np.isfinite(big))
    frame = best_of_k(flags.astype(float), flags, [1, 8], rng=rng, n_boot=50)
    assert frame["metric"].unique().tolist() == ["bon@k"] and "ci_low" in frame


def test_best_of_k_rejects_bad_input():
    with pytest.raises(ValueError, match=r"scores\[0, 1\]"):
        best_of_k_matrix(np.array([[0.1, np.nan]]), np.array([[True, False]]), [1])
    with pytest.raises(ValueError, match="tie"):
        best_of_k_matrix(np.zeros((1, 2)), np.zeros((1, 2), bool), [1], tie="last")
