"""Resampling schemes are unbiased; systematic and stratified beat multinomial on variance."""

import numpy as np
import pytest

from itslab.strategies.resampling import SCHEMES, ess, resample

W = np.array([0.4, 0.05, 0.3, 0.15, 0.1])
REPS = 4000  # seed 0; tolerance: 5 standard errors of the mean offspring count


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_unbiased_offspring_counts(scheme):
    rng = np.random.default_rng(0)
    n = W.size
    counts = np.array([np.bincount(resample(W, rng, scheme), minlength=n) for _ in range(REPS)])
    mean, se = counts.mean(0), counts.std(0) / np.sqrt(REPS) + 1e-9
    assert np.all(np.abs(mean - n * W) < 5 * se + 1e-3), (scheme, mean, n * W)
    assert counts.sum(1).min() == n == counts.sum(1).max()


@pytest.mark.parametrize("scheme", ["stratified", "systematic", "residual"])
def test_lower_variance_than_multinomial(scheme):
    rng = np.random.default_rng(1)

    def var(s):
        return np.array([np.bincount(resample(W, rng, s), minlength=W.size) for _ in range(REPS)]).var(0).sum()

    assert var(scheme) < 0.8 * var("multinomial")


def test_ess_and_errors():
    assert ess(np.ones(4)) == pytest.approx(4.0)
    assert ess(np.array([1.0, 0, 0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown resampling scheme 'bogus'"):
        resample(W, np.random.default_rng(0), "bogus")
    with pytest.raises(ValueError, match="non-negative"):
        ess(np.array([0.5, -0.1]))
