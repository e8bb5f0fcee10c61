"""The authors' easy/hard model (itslab.scaling.two_class; Stroebl, Kapoor & Narayanan, arXiv:2411.17501)."""

import math

import numpy as np
import pytest

from itslab.scaling import optimal_k
from itslab.scaling.two_class import TwoClassModel

LLAMA_8B = dict(r_easy=0.8738, r_hard=0.1382, fpr=0.2484)  # the authors' HumanEval estimates for Llama 3.1 8B


def simulate(m: TwoClassModel, k: int, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Resample-until-pass on n problems drawn from the model: (accuracy, false-positive share)."""
    easy = rng.random(n) < m.share_easy
    r = np.where(easy, m.r_easy, m.r_hard)[:, None]
    f = np.where(easy, m.fpr_easy, m.fpr_hard)[:, None]
    correct = rng.random((n, k)) < r
    passed = np.where(correct, rng.random((n, k)) < m.tpr, rng.random((n, k)) < f)
    first = np.argmax(passed, axis=1)
    hit = passed.any(axis=1)
    ok = hit & correct[np.arange(n), first]
    return float(ok.mean()), float((hit & ~ok).mean())


@pytest.mark.parametrize("k", [1, 3, 10, 60])
def test_accuracy_matches_monte_carlo_with_class_specific_fpr(k):
    m = TwoClassModel(r_easy=0.8, r_hard=0.1, share_easy=0.4, fpr_easy=0.05, fpr_hard=0.3, tpr=0.9)
    acc, fp = simulate(m, k, 100_000, np.random.default_rng(k))  # SE <= 0.0016: tolerance 0.008 is 5 SE
    curve = m.curve(np.array([k]))
    assert abs(acc - m.accuracy(k)) < 0.008
    assert abs(fp - curve["false_positive"].iloc[0]) < 0.008
    if k == 60:  # by k = 60 both classes have converged (rejection rate <= 0.65 per attempt)
        assert abs(acc - float(m.ceiling())) < 0.008


def test_ceiling_by_hand_and_pooled_fpr():
    m = TwoClassModel(r_easy=0.9, r_hard=0.2, share_easy=0.5, fpr_easy=0.1, fpr_hard=0.4)
    by_hand = 0.5 * 0.9 / (0.9 + 0.1 * 0.1) + 0.5 * 0.2 / (0.2 + 0.8 * 0.4)
    assert float(m.ceiling()) == pytest.approx(by_hand)
    assert m.pooled_fpr == pytest.approx((0.5 * 0.1 * 0.1 + 0.5 * 0.8 * 0.4) / (0.5 * 0.1 + 0.5 * 0.8))
    assert m.pass_at_1 == pytest.approx(0.55)
    assert float(m.accuracy(np.inf)) == pytest.approx(by_hand)


def test_from_pass_at_1_fits_the_class_share():
    m = TwoClassModel.from_pass_at_1(0.5502, **LLAMA_8B)
    assert m.share_easy == pytest.approx(0.560, abs=5e-4) and m.pass_at_1 == pytest.approx(0.5502)
    assert m.fpr_easy == m.fpr_hard == m.pooled_fpr == pytest.approx(0.2484)
    with pytest.raises(ValueError, match="outside"):
        TwoClassModel.from_pass_at_1(0.95, **LLAMA_8B)
    with pytest.raises(ValueError, match="r_hard < r_easy"):
        TwoClassModel.from_pass_at_1(0.5, r_easy=0.1, r_hard=0.2, fpr=0.1)
    with pytest.raises(ValueError, match="fpr_hard"):
        TwoClassModel(0.9, 0.1, 0.5, 0.1, 1.5)


def test_closed_form_optimal_k_matches_grid_search():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        r_e, r_h = sorted(rng.uniform(0, 1, 2))[::-1]
        m = TwoClassModel(
            r_e, r_h, rng.uniform(0.05, 0.95), rng.uniform(0, 0.6), rng.uniform(0, 0.6), rng.uniform(0.5, 1)
        )
        cost = float(rng.choice([0.3, 1.0, 2.0, 5.0]))
        k_closed = m.optimal_k(fp_cost=cost)
        k_grid, u_grid = optimal_k(m.p, m.tpr, m.fprs, fp_cost=cost, weights=m.weights, k_max=3000)
        if math.isinf(k_closed):  # utility climbs to its limit: the grid stops where float increments vanish
            seen.add("inf")
            assert k_grid >= 5 and u_grid == pytest.approx(float(m.utility(np.inf, fp_cost=cost)), abs=1e-9)
        else:
            seen.add("0" if k_closed == 0 else "finite")
            assert float(m.utility(k_closed, fp_cost=cost)) >= u_grid - 1e-12, (m, cost)
            if k_closed <= 20:  # beyond, increments fall below float resolution and the grid's argmax stops early
                assert k_closed == k_grid, (m, cost)
    assert seen == {"0", "finite", "inf"}  # every branch was exercised


def test_authors_parameters_give_a_handful_of_attempts():
    # their theory notebook: r = 0.87 / 0.13, shares 0.58 / 0.42, c = 1, s = 0.75; FP costs 0.7, 1, 2 x TP benefit
    m = TwoClassModel(r_easy=0.87, r_hard=0.13, share_easy=0.58, fpr_easy=0.25, fpr_hard=0.25)
    assert [m.optimal_k(fp_cost=c) for c in (0.7, 1.0, 2.0)] == [3, 2, 1]
    # below the hard class's critical cost 0.13 / (0.87 * 0.25) = 0.598 resampling never stops paying
    assert m.critical_cost()[1] == pytest.approx(0.13 / (0.87 * 0.25))
    assert math.isinf(m.optimal_k(fp_cost=0.59)) and m.optimal_k(fp_cost=0.61) < 10
    assert m.optimal_k(fp_cost=100.0) == 0


def test_easy_belief_starts_at_the_prior_and_falls():
    m = TwoClassModel(r_easy=0.87, r_hard=0.13, share_easy=0.58, fpr_easy=0.25, fpr_hard=0.25)
    b = m.easy_belief(np.arange(1, 8))
    assert b[0] == pytest.approx(0.58) and np.all(np.diff(b) < 0) and b[-1] < 0.01


def test_from_pool_recovers_the_parameters():
    rng = np.random.default_rng(3)
    truth = TwoClassModel(r_easy=0.85, r_hard=0.15, share_easy=0.3, fpr_easy=0.1, fpr_hard=0.35, tpr=0.9)
    n_prob, n = 4000, 64
    easy = rng.random(n_prob) < truth.share_easy
    correct = rng.random((n_prob, n)) < np.where(easy, truth.r_easy, truth.r_hard)[:, None]
    f = np.where(easy, truth.fpr_easy, truth.fpr_hard)[:, None]
    passed = np.where(correct, rng.random(correct.shape) < truth.tpr, rng.random(correct.shape) < f)
    fit = TwoClassModel.from_pool(correct, passed)
    for name in ("r_easy", "r_hard", "share_easy", "fpr_easy", "fpr_hard", "tpr"):
        assert getattr(fit, name) == pytest.approx(getattr(truth, name), abs=0.02), name
    with pytest.raises(ValueError, match="one class"):
        TwoClassModel.from_pool(np.ones((3, 4), bool), np.ones((3, 4), bool))


def test_with_ceiling_solves_the_hard_class_fpr():
    m = TwoClassModel.from_pass_at_1(0.5502, **LLAMA_8B)
    hi = m.with_ceiling(0.8246)
    assert float(hi.ceiling()) == pytest.approx(0.8246, abs=1e-9)
    assert hi.fpr_hard < m.fpr_hard and hi.fpr_easy == m.fpr_easy and hi.pooled_fpr < 0.15
    with pytest.raises(ValueError, match="reachable"):
        m.with_ceiling(0.99)
