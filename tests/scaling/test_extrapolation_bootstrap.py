"""The held-out error of a law fitted on small k, judged against its bootstrap SE over problems."""

import numpy as np
import pytest

from itslab.scaling import default_ks, extrapolation_bootstrap


@pytest.fixture(scope="module")
def heavy_tail():
    """Exact per-problem coverage 1 − (1 − p)^k of 2000 problems with p ~ Beta(0.122, 0.645) (seed 0)."""
    ks = default_ks(10_000).astype(float)
    p = np.random.default_rng(0).beta(0.122, 0.645, 2000)
    return ks, 1.0 - (1.0 - p[:, None]) ** ks


def test_the_true_law_extrapolates_within_its_noise(heavy_tail):
    ks, per_problem = heavy_tail
    frame = extrapolation_bootstrap("beta_difficulty", ks, per_problem, fit_max=100, rng=np.random.default_rng(1))
    assert list(frame.columns) == ["x", "error", "se", "z"] and frame["x"].min() > 100
    assert np.all(frame["se"] > 0) and np.all(frame["z"].abs() < 3), frame


def test_a_misspecified_law_is_caught(heavy_tail):
    """The exponentiated power law bends away from this heavy-tailed Beta curve: beyond 3 SE at large k."""
    ks, per_problem = heavy_tail
    frame = extrapolation_bootstrap("exp_power_law", ks, per_problem, fit_max=100, rng=np.random.default_rng(1))
    assert frame["z"].abs().max() > 3, frame


def test_shape_is_checked():
    with pytest.raises(ValueError, match=r"must be \[problems, 3\]"):
        extrapolation_bootstrap("exp_power_law", [1, 2, 4], np.ones((5, 2)), fit_max=2, rng=np.random.default_rng(0))
