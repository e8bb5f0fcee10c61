"""Coverage of a model δ logits stronger on Beta-difficulty problems, and the break-even gap."""

import numpy as np
import pytest

from itslab.scaling import break_even_gap, get_law, shifted_pass_at_k

BETA = get_law("beta_difficulty").fn
KS = np.array([1.0, 2.0, 7.0, 100.0, 1e4])


@pytest.mark.parametrize("a,b", [(0.122, 0.645), (0.4, 3.0), (2.0, 2.0)])
def test_no_gap_is_the_beta_closed_form(a, b):
    assert np.allclose(shifted_pass_at_k(KS, a, b, 0.0), BETA(KS, a, b), atol=1e-7)


def test_a_gap_matches_monte_carlo_over_problems():
    """p ~ Beta(0.4, 3), shifted by 2 logits as `pools.shift_skill` does; 400k problems, tolerance 4 SE."""
    rng = np.random.default_rng(0)
    p = rng.beta(0.4, 3.0, 400_000)
    q = 1.0 / (1.0 + np.exp(-(np.log(p) - np.log1p(-p) + 2.0)))
    per_problem = 1.0 - (1.0 - q[:, None]) ** np.array([1.0, 5.0, 50.0])
    mc, se = per_problem.mean(axis=0), per_problem.std(axis=0) / np.sqrt(len(p))
    assert np.all(np.abs(shifted_pass_at_k([1, 5, 50], 0.4, 3.0, 2.0) - mc) <= 4 * se)


def test_coverage_rises_with_the_gap_and_with_k():
    by_gap = [shifted_pass_at_k(1, 0.4, 3.0, d)[0] for d in (-2.0, 0.0, 2.0, 5.0)]
    assert np.all(np.diff(by_gap) > 0) and by_gap[-1] < 1.0
    assert np.all(np.diff(shifted_pass_at_k(KS, 0.4, 3.0, 1.0)) > 0)


def test_break_even_gap_equalises_one_strong_sample_and_k_weak_samples():
    gap = break_even_gap(0.4, 3.0, 7)
    assert shifted_pass_at_k(1, 0.4, 3.0, gap)[0] == pytest.approx(BETA(7.0, 0.4, 3.0), abs=1e-7)
    assert break_even_gap(0.4, 3.0, 1) == pytest.approx(0.0, abs=1e-6)
    assert break_even_gap(0.4, 3.0, 3) < gap  # more weak samples per strong one: a larger gap to break even
    assert break_even_gap(0.4, 3.0, 1, k_strong=4) < 0  # the "strong" model must be weaker to lose at 4 vs 1


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="Beta shapes must be > 0"):
        shifted_pass_at_k(1, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="finite k >= 0"):
        shifted_pass_at_k(-1, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="no crossing"):
        break_even_gap(1.0, 1.0, 1e6, bracket=1.0)
