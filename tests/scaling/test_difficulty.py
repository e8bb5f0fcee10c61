"""Difficulty levels (Snell et al. 2024 §3): quantile levels fitted on one split, applied to another."""

import numpy as np
import pytest

from itslab.scaling.difficulty import bin_agreement, fit_difficulty, problem_statistic, split_columns


def test_distinct_values_give_equal_levels_easiest_first():
    stat = np.arange(10) / 10
    levels = fit_difficulty(stat, 5).level(stat)
    assert levels.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_tied_values_share_the_level_of_their_mid_rank():
    stat = np.array([0.0] * 4 + [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    levels = fit_difficulty(stat, 5).level(stat)
    assert set(levels[:4]) == {5}  # the zeros' mid-distribution is 0.2: all in the hardest fifth
    # F(0.5) = 0.45 -> level 3: the tie took the 40% below it, so level 4 stays empty
    assert levels[4:].tolist() == [3, 3, 2, 2, 1, 1]


def test_levels_are_fitted_on_one_split_and_applied_to_another():
    rng = np.random.default_rng(0)
    stat = rng.random(40)
    fit, held = np.arange(20), np.arange(20, 40)
    bins = fit_difficulty(stat[fit], 5)
    other = stat.copy()
    other[held] = rng.random(20)  # the held-out problems do not move the rule
    assert np.array_equal(fit_difficulty(other[fit], 5).reference, bins.reference)
    # a held-out value gets the level of its position among the fitting values
    x = np.sort(stat[fit])[[0, 9, 19]]
    assert bins.level(x).tolist() == [5, 3, 1]
    assert bins.level(np.array([-1.0, 2.0])).tolist() == [5, 1]


def test_perfect_scores_predict_the_oracle_levels():
    rng = np.random.default_rng(1)
    correct = rng.random((60, 16)) < rng.random((60, 1))
    probe, pool = split_columns(16, 8, rng)
    oracle = problem_statistic(correct, probe)
    predicted = problem_statistic(correct.astype(float), probe)  # a verifier that is always right
    fit = np.arange(30)
    a = fit_difficulty(predicted[fit]).level(predicted)
    b = fit_difficulty(oracle[fit]).level(oracle)
    assert np.array_equal(a, b)
    agree = bin_agreement(a, b)
    assert agree.exact == 1.0 and agree.kappa == pytest.approx(1.0)


def test_split_columns_is_a_disjoint_cover_and_seeded():
    probe, pool = split_columns(32, 8, np.random.default_rng(3))
    assert len(probe) == 8 and len(pool) == 24
    assert set(probe).isdisjoint(pool) and set(probe) | set(pool) == set(range(32))
    again = split_columns(32, 8, np.random.default_rng(3))
    assert np.array_equal(probe, again[0])
    with pytest.raises(ValueError):
        split_columns(4, 4, np.random.default_rng(0))


def test_bin_agreement_known_answer():
    agree = bin_agreement(np.array([1, 2, 3, 5]), np.array([1, 3, 3, 1]), n_bins=5)
    assert agree.exact == 0.5 and agree.within_one == 0.75
    assert agree.confusion[1, 2] == 1 and agree.confusion.sum() == 4
    # margins: a = (1, 1, 1, 0, 1)/4, b = (2, 0, 2, 0, 0)/4 -> chance = (2 + 2) / 16
    assert agree.chance == pytest.approx(0.25)
    assert agree.kappa == pytest.approx((0.5 - 0.25) / 0.75)


def test_problem_statistic_refuses_missing_scores():
    with pytest.raises(ValueError, match="no score"):
        problem_statistic(np.array([[0.1, np.nan]]))
    assert problem_statistic(np.array([[1.0, 0.0, 1.0]]), [0, 2]).tolist() == [1.0]
