"""maj@k and weighted maj@k: exact paths against brute force, Monte Carlo against exact."""

from itertools import combinations

import numpy as np
import pytest

from itslab.scaling import encode_answers, majority_at_k, majority_at_k_matrix, weighted_majority_at_k


def brute_vote(answers, flags, weights, k) -> float:
    """Average over all k-subsets of the (weighted) vote; ties split uniformly; None abstains."""
    total, subsets = 0.0, list(combinations(range(len(answers)), k))
    for s in subsets:
        votes: dict = {}
        for i in s:
            if answers[i] is not None:
                votes.setdefault(answers[i], [0.0, flags[i]])[0] += weights[i]
        if votes:
            top = max(v[0] for v in votes.values())
            tied = [v[1] for v in votes.values() if v[0] >= top - 1e-12]
            total += np.mean(tied)
    return total / len(subsets)


def pool(rng, p, n, n_wrong=3, abstain=0.1):
    """Pools whose correct answer is "A"; wrong answers "w0".."w{n_wrong-1}"; some abstentions."""
    ans = np.empty((p, n), dtype=object)
    ok = rng.random((p, n)) < rng.uniform(0.1, 0.7, (p, 1))
    ans[ok] = "A"
    ans[~ok] = [f"w{j}" for j in rng.integers(0, n_wrong, (~ok).sum())]
    gone = (rng.random((p, n)) < abstain) & ~ok
    ans[gone] = None
    return ans, ok


def test_majority_exact_equals_brute_force():
    rng = np.random.default_rng(0)
    ans, ok = pool(rng, 8, 9)
    values, mc_var, exact = majority_at_k_matrix(ans, ok, list(range(1, 10)), method="exact")
    want = np.array([[brute_vote(a, f, np.ones(9), k) for k in range(1, 10)] for a, f in zip(ans, ok)])
    np.testing.assert_allclose(values, want, atol=1e-12)
    assert exact.all() and not mc_var.any()


def test_weighted_majority_exact_equals_brute_force():
    rng = np.random.default_rng(1)
    ans, ok = pool(rng, 6, 8)
    w = np.round(rng.random((6, 8)), 1)  # coarse weights: exact ties occur
    frame = weighted_majority_at_k(ans, ok, w, list(range(1, 9)), method="exact", rng=rng)
    want = np.array([[brute_vote(a, f, wi, k) for k in range(1, 9)] for a, f, wi in zip(ans, ok, w)])
    np.testing.assert_allclose(frame["value"], want.mean(axis=0), atol=1e-12)
    assert (frame["method"] == "exact").all() and frame["metric"].iloc[0] == "wmaj@k"


def test_monte_carlo_matches_exact_within_its_stated_error():
    rng = np.random.default_rng(2)
    ans, ok = pool(rng, 5, 40, n_wrong=4)
    ks = [3, 7, 15]
    exact, _, is_exact = majority_at_k_matrix(ans, ok, ks, method="exact", max_exact=10**6)
    mc, mc_var, is_mc = majority_at_k_matrix(ans, ok, ks, method="mc", n_mc=4000, rng=rng)
    assert is_exact.all() and not is_mc.any()
    # within 4.5 of its own standard errors (floored at 1/n_mc: an all-hit run reports variance 0)
    z = np.abs(mc - exact) / np.maximum(np.sqrt(mc_var), 1 / 4000)
    assert np.all(z < 4.5), z
    assert np.all(np.sqrt(mc_var) < 0.01)


def test_auto_falls_back_to_monte_carlo_and_reports_mc_se():
    rng = np.random.default_rng(3)
    ans, ok = pool(rng, 3, 200, n_wrong=30)
    frame = majority_at_k(ans, ok, [1, 20, 200], rng=rng, max_exact=500, n_mc=500, n_boot=100)
    assert frame["method"].tolist() == ["exact", "mc", "exact"]
    assert frame["mc_se"].iloc[0] == 0 and 0 < frame["mc_se"].iloc[1] < 0.05
    assert {"ci_low", "ci_high"} <= set(frame.columns)
    with pytest.raises(ValueError, match="infeasible"):
        majority_at_k(ans, ok, [20], method="exact", max_exact=500)
    with pytest.raises(ValueError, match="no rng"):
        majority_at_k(ans, ok, [20], max_exact=500)


def test_vote_edge_cases():
    ans = np.array([[None, None, None], ["A", "B", "B"]], dtype=object)
    ok = np.array([[False, False, False], [True, False, False]])
    v, _, _ = majority_at_k_matrix(ans, ok, [1, 2, 3], method="exact")
    np.testing.assert_allclose(v[0], 0.0)  # nothing extracted: always wrong
    np.testing.assert_allclose(v[1], [1 / 3, (0.5 + 0.5 + 0) / 3, 0.0])  # k=2: {A,B} ties in 2 of 3 pairs
    with pytest.raises(ValueError, match="flagged both correct and incorrect"):
        encode_answers(np.array([["A", "A"]], dtype=object), np.array([[True, False]]))
    with pytest.raises(ValueError, match="non-negative"):
        weighted_majority_at_k(ans, ok, -np.ones((2, 3)), [1])
