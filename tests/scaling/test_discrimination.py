"""ROC AUC of verifier scores: known answers, agreement with scipy's Mann–Whitney U, and the problem bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from itslab.scaling import roc_auc, roc_auc_interval


def test_known_answers():
    y = np.array([True, True, False, False])
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), y) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), y) == 0.0
    assert roc_auc(np.full(4, 0.5), y) == 0.5  # all tied: chance
    assert roc_auc(np.array([0.9, 0.2, 0.5, 0.1]), y) == 0.75  # 3 of 4 (right, wrong) pairs ordered
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([True, True])))


def test_agrees_with_mann_whitney_with_ties():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, size=300).astype(float)  # many ties
    y = rng.random(300) < 0.3 + 0.1 * s
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert roc_auc(s, y) == pytest.approx(u / (y.sum() * (~y).sum()))


def test_weights_equal_repeating_samples():
    rng = np.random.default_rng(1)
    s, y = rng.random(20), rng.random(20) < 0.5
    w = rng.integers(0, 4, size=20)
    assert roc_auc(s, y, w) == pytest.approx(roc_auc(np.repeat(s, w), np.repeat(y, w)))


def test_interval_brackets_the_estimate_and_shrinks_with_problems():
    rng = np.random.default_rng(2)

    def bank(p):
        y = rng.random((p, 16)) < 0.4
        return y + rng.normal(0, 1.0, size=y.shape), y

    small = roc_auc_interval(*bank(30), rng=np.random.default_rng(0), n_boot=300)
    large = roc_auc_interval(*bank(600), rng=np.random.default_rng(0), n_boot=300)
    for iv in (small, large):
        assert iv.ci_low < iv.auc < iv.ci_high
        assert 0.6 < iv.auc < 0.9  # unit separation with unit noise: AUC = Φ(1/√2) ≈ 0.76
    assert large.ci_high - large.ci_low < (small.ci_high - small.ci_low) / 2


def test_within_problem_ignores_difficulty():
    # the score only tells problems apart (easy problems score high), never samples within one
    y = np.array([[True, True, True, False], [False, False, False, True]])
    s = np.array([[0.9, 0.9, 0.9, 0.9], [0.1, 0.1, 0.1, 0.1]])
    pooled = roc_auc_interval(s, y, rng=np.random.default_rng(0), n_boot=50)
    within = roc_auc_interval(s, y, rng=np.random.default_rng(0), n_boot=50, within_problem=True)
    assert pooled.auc == 0.75 and within.auc == 0.5  # pooled: 9 ordered + 6 tied halves of 16 pairs
    # pairs pooled over problems: problem 0 has 3 pairs (all ordered), problem 1 has 3 (none ordered)
    s2 = np.array([[0.9, 0.9, 0.9, 0.1], [0.9, 0.9, 0.9, 0.1]])
    assert roc_auc_interval(s2, y, rng=np.random.default_rng(0), n_boot=50, within_problem=True).auc == 0.5


def test_bad_input_names_what_is_wrong():
    with pytest.raises(ValueError, match="differ in shape"):
        roc_auc(np.zeros(3), np.zeros(4, bool))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([np.nan, 1.0]), np.array([True, False]))
    with pytest.raises(ValueError, match=r"\[problems, n\]"):
        roc_auc_interval(np.zeros(3), np.zeros(3, bool), rng=np.random.default_rng(0))
