"""Inference Scaling fLaws (Stroebl et al. 2024): closed form vs Monte Carlo resample-until-pass."""

import numpy as np
import pytest

from itslab.scaling import (
    expected_attempts,
    expected_utility,
    optimal_k,
    resample_until_pass_at_k,
    resampling_accuracy,
    resampling_ceiling,
    resampling_curve,
)


def simulate(p: np.ndarray, tpr: float, fpr: float, k: int, rng: np.random.Generator):
    """Resample-until-pass on problems with accuracies p (one trial each): (correct, fp, attempts)."""
    t = len(p)
    correct = rng.random((t, k)) < p[:, None]
    passed = np.where(correct, rng.random((t, k)) < tpr, rng.random((t, k)) < fpr)
    any_pass = passed.any(axis=1)
    first = np.argmax(passed, axis=1)
    chosen_ok = correct[np.arange(t), first] & any_pass
    attempts = np.where(any_pass, first + 1, k)
    return chosen_ok, any_pass & ~chosen_ok, attempts


@pytest.mark.parametrize(
    "p,tpr,fpr,k",
    [(0.3, 0.95, 0.1, 1), (0.3, 0.95, 0.1, 5), (0.1, 0.8, 0.05, 20), (0.6, 1.0, 0.3, 3), (0.05, 0.9, 0.0, 50)],
)
def test_closed_form_matches_monte_carlo_homogeneous(p, tpr, fpr, k):
    rng = np.random.default_rng(0)
    ok, fp, att = simulate(np.full(100_000, p), tpr, fpr, k, rng)  # se <= 0.0016
    assert abs(ok.mean() - resampling_accuracy(k, p, tpr, fpr)) < 0.01
    curve = resampling_curve([k], p, tpr, fpr)
    assert abs(fp.mean() - curve["false_positive"].iloc[0]) < 0.01
    assert abs(att.mean() - expected_attempts(k, p, tpr, fpr)) < 0.01 * k


def test_closed_form_matches_monte_carlo_heterogeneous_and_ceiling():
    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 1.0, 100_000)
    tpr, fpr = 0.9, 0.1
    for k in (1, 4, 32):
        ok, _, _ = simulate(p, tpr, fpr, k, rng)
        assert abs(ok.mean() - resampling_accuracy(k, p, tpr, fpr)) < 0.01
    # by k = 200 every problem has converged (rejection rate <= 0.9 per attempt): the ceiling
    ok, _, _ = simulate(p[:20_000], tpr, fpr, 200, rng)
    assert abs(ok.mean() - resampling_ceiling(p[:20_000], tpr, fpr)) < 0.01
    np.testing.assert_allclose(resampling_accuracy(np.inf, p, tpr, fpr), resampling_ceiling(p, tpr, fpr))


def test_ceiling_formula_and_perfect_verifier():
    assert resampling_ceiling(0.3, 1.0, 0.1) == pytest.approx(0.3 / (0.3 + 0.07))
    # perfect verifier: accuracy = pass@k = 1 - (1-p)^k, ceiling 1
    ks = np.array([1, 2, 10])
    np.testing.assert_allclose(resampling_accuracy(ks, 0.2, 1.0, 0.0), 1 - 0.8**ks)
    assert resampling_ceiling(0.2, 1.0, 0.0) == 1.0
    curve = resampling_curve(ks, 0.2, 1.0, 0.0)
    np.testing.assert_allclose(curve["accuracy"] + curve["false_positive"] + curve["abstain"], 1.0)
    assert resampling_accuracy(5, 0.0, 1.0, 0.0) == 0.0 and resampling_accuracy(np.inf, 0.0, 1.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="fpr"):
        resampling_accuracy(1, 0.5, 1.0, 1.5)


def test_expected_utility_and_optimal_k():
    # one difficulty, no sample cost: utility monotone -> k* is 0 (flukes too costly) or k_max
    assert optimal_k(0.3, 1.0, 0.1, fp_cost=1.0, k_max=50)[0] == 50
    assert optimal_k(0.3, 1.0, 0.1, fp_cost=10.0, k_max=50) == (0, 0.0)
    # the paper's two-type example (easy 0.87 w.p. 0.58, hard 0.13 w.p. 0.42; TPR 1, FPR 0.25):
    # with false positives costing 2x a true positive, the optimum is a small finite k
    p, w = np.array([0.87, 0.13]), np.array([0.58, 0.42])
    k_star, u = optimal_k(p, 1.0, 0.25, fp_cost=2.0, weights=w, k_max=1000)
    assert 1 <= k_star <= 10 and u > 0
    u_all = expected_utility(np.arange(0, 30), p, 1.0, 0.25, fp_cost=2.0, weights=w)
    assert u_all.argmax() == k_star and u_all[-1] < u_all[k_star]
    # a per-sample cost also makes k finite for one difficulty
    assert 0 < optimal_k(0.3, 1.0, 0.0, fp_cost=0.0, sample_cost=0.01, k_max=500)[0] < 500


def test_empirical_resample_until_pass_on_pools_matches_simulation():
    rng = np.random.default_rng(2)
    n, problems = 50, 400
    correct = rng.random((problems, n)) < rng.uniform(0.05, 0.6, (problems, 1))
    passed = np.where(correct, rng.random(correct.shape) < 0.9, rng.random(correct.shape) < 0.15)
    ks = [1, 5, 50]
    frame = resample_until_pass_at_k(correct, passed, ks)
    for k, acc in zip(ks, frame["accuracy"]):  # random orderings of each pool, 200 per problem
        hits = []
        for _ in range(200):
            order = rng.permuted(np.tile(np.arange(n), (problems, 1)), axis=1)[:, :k]
            pas, cor = np.take_along_axis(passed, order, 1), np.take_along_axis(correct, order, 1)
            first = np.argmax(pas, axis=1)
            hits.append((pas.any(axis=1) & cor[np.arange(problems), first]).mean())
        assert abs(np.mean(hits) - acc) < 0.01
    np.testing.assert_allclose(frame["accuracy"] + frame["false_positive"] + frame["abstain"], 1.0)
