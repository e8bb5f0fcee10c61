"""Closed-form majority vote over easy/hard mixtures (Chen et al. 2024): brute force, sampling, optimum."""

from __future__ import annotations

import dataclasses
from itertools import product
from math import comb

import numpy as np
import pytest
from scipy.special import betainc

from itslab.scaling.vote_mixture import (
    mixture_vote_accuracy,
    stratified_mean,
    two_level_curve,
    vote_accuracy,
    vote_optimum,
)


def brute(p: float, k: int) -> float:
    """Sum over vote counts; a tie counts one half."""
    total = 0.0
    for right in range(k + 1):
        pr = comb(k, right) * p**right * (1 - p) ** (k - right)
        total += pr * (1.0 if 2 * right > k else 0.5 if 2 * right == k else 0.0)
    return total


@pytest.mark.parametrize("p", [0.0, 0.2, 0.45, 0.5, 0.62, 0.9, 1.0])
def test_vote_accuracy_is_the_binomial_majority(p):
    ks = np.arange(1, 16)
    got = vote_accuracy(p, ks)
    assert np.allclose(got, [brute(p, int(k)) for k in ks], atol=1e-12)
    odd = ks[ks % 2 == 1]
    assert np.allclose(got[ks % 2 == 1], betainc((odd + 1) / 2, (odd + 1) / 2, p))  # I_p((K+1)/2, (K+1)/2)
    assert np.allclose(got[1::2], got[0::2][: len(got[1::2])])  # an even K adds nothing


def test_mixture_is_the_weighted_sum_and_checks_its_input():
    ks = [1, 3, 9]
    got = mixture_vote_accuracy(ks, [0.8, 0.3, 0.55], [0.5, 0.3, 0.2])
    want = [0.5 * brute(0.8, k) + 0.3 * brute(0.3, k) + 0.2 * brute(0.55, k) for k in ks]
    assert np.allclose(got, want)
    frame = two_level_curve(ks, 0.6, 0.85, 0.45)
    assert list(frame.columns) == ["k", "value", "easy", "hard"]
    assert np.allclose(frame["value"], 0.6 * frame["easy"] + 0.4 * frame["hard"])
    with pytest.raises(ValueError, match="summing to 1"):
        mixture_vote_accuracy(ks, [0.8, 0.3], [0.5, 0.4])
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        vote_accuracy(1.2, 3)
    with pytest.raises(ValueError, match="integers >= 1"):
        vote_accuracy(0.5, [0, 3])
    with pytest.raises(ValueError, match="easy fraction"):
        two_level_curve(ks, 1.5, 0.8, 0.3)


@pytest.mark.parametrize(
    "alpha,p_easy,p_hard", list(product([0.1, 0.35, 0.6, 0.85], [0.55, 0.7, 0.85, 0.95], [0.05, 0.3, 0.45, 0.49]))
)
def test_optimum_is_the_argmax_of_the_closed_form(alpha, p_easy, p_hard):
    """The classified shape and best odd K agree with the curve itself, evaluated out to K = 4001."""
    opt = vote_optimum(alpha, p_easy, p_hard)
    ks = np.arange(1, 4002, 2)
    f = mixture_vote_accuracy(ks, [p_easy, p_hard], [alpha, 1 - alpha])
    steps = np.diff(f)
    assert opt.accuracy_one == pytest.approx(f[0])
    assert opt.accuracy_limit == pytest.approx(alpha)
    if opt.shape == "inverse-U":
        i = int(np.argmax(f))
        assert ks[i] == opt.k_best and opt.accuracy_best == pytest.approx(f[i])
        assert np.all(steps[:i] > 0) and np.all(steps[i:] <= 1e-15)
        assert p_easy + p_hard > 1 and alpha > opt.alpha_threshold  # the paper's inverse-U condition
        assert abs(opt.k_star - opt.k_best) <= 2  # the continuous optimum 2 m* sits beside the best odd K
    elif opt.shape == "decreasing":
        assert opt.k_best == 1 and np.all(steps <= 1e-15)
    elif opt.shape == "increasing":
        assert opt.k_best is None and np.all(steps >= -1e-15)
    else:
        assert opt.shape == "U"
        i = int(np.ceil(opt.m_star)) - 1  # the minimum, at K = 2⌈m*⌉ − 1
        assert np.all(steps[:i] <= 1e-15) and np.all(steps[i:] >= -1e-15) and steps[0] < 0
        assert opt.k_best == (None if alpha > f[0] else 1)


def test_the_alpha_threshold_switches_the_shape():
    p_easy, p_hard = 0.8, 0.4  # p1 + p2 > 1: the hard queries decline more slowly
    thr = vote_optimum(0.5, p_easy, p_hard).alpha_threshold
    assert vote_optimum(thr - 0.01, p_easy, p_hard).shape == "decreasing"
    assert vote_optimum(thr + 0.01, p_easy, p_hard).shape == "inverse-U"
    assert vote_optimum(0.5, 0.9, 0.6).shape == "increasing"  # every query easy
    assert vote_optimum(0.5, 0.4, 0.2).shape == "decreasing"  # every query hard
    assert vote_optimum(0.5, 0.5, 0.5).shape == "flat"


def test_direct_sampling_agrees_with_the_closed_form():
    rng = np.random.default_rng(0)
    alpha, p_easy, p_hard, trials = 0.6, 0.85, 0.45, 40_000
    for k in (1, 7, 31):
        p = np.where(rng.random(trials) < alpha, p_easy, p_hard)
        right = rng.binomial(k, p)
        won = np.where(2 * right > k, 1.0, np.where(2 * right == k, 0.5, 0.0))
        se = won.std(ddof=1) / np.sqrt(trials)
        assert abs(won.mean() - mixture_vote_accuracy(k, [p_easy, p_hard], [alpha, 1 - alpha])[0]) < 4 * se


def test_the_simulator_with_one_distractor_votes_as_the_closed_form():
    """A binary simulated task (gold or one distractor): maj@k from a pool matches F(K)."""
    from itslab.generators.simulated import SimulatedGenerator, make_problems
    from itslab.pools import draw_pool
    from itslab.scaling import majority_at_k_matrix

    alpha, p_easy, p_hard, n = 0.5, 0.85, 0.4, 64
    base = make_problems(60, seed=3)
    p = np.where(np.arange(len(base)) < alpha * len(base), p_easy, p_hard)
    problems = [dataclasses.replace(pr, meta={**pr.meta, "p_correct": float(q)}) for pr, q in zip(base, p)]
    gen = SimulatedGenerator(problems, seed=3, n_distractors=1)
    pool = draw_pool(gen, problems, n, seed=3)
    assert len({a for row in pool.answers for a in row}) <= 2 * len(problems)  # gold or the one distractor
    ks = [1, 5, 15, 63]
    values, _, exact = majority_at_k_matrix(pool.answers, pool.correct, ks)
    assert exact.all()
    mean, se = stratified_mean(values, p > 0.5)
    closed = mixture_vote_accuracy(ks, [p_easy, p_hard], [alpha, 1 - alpha])
    assert np.all(np.abs(mean - closed) < 4 * se)


def test_stratified_mean_removes_the_between_group_spread():
    values = np.array([[1.0, 0.9], [0.8, 1.0], [0.0, 0.1], [0.2, 0.1]])
    groups = np.array([1, 1, 0, 0])
    mean, se = stratified_mean(values, groups)
    assert np.allclose(mean, values.mean(axis=0))
    want = np.sqrt(sum((0.5**2) * values[groups == g].var(axis=0, ddof=1) / 2 for g in (0, 1)))
    assert np.allclose(se, want)
    assert np.all(se < values.std(axis=0, ddof=1) / 2)  # the naive SE counts the easy/hard gap as noise
    with pytest.raises(ValueError, match="one group label per row"):
        stratified_mean(values, [0, 1])


def test_plurality_accuracy_is_exact():
    from itertools import product as cartesian

    from itslab.scaling.vote_mixture import plurality_accuracy

    q = np.array([[0.5, 0.3, 0.2], [0.2, 0.45, 0.35], [1.0, 0.0, 0.0]])
    for k in (1, 2, 5):
        want = []
        for row in q:
            total = 0.0
            for draw in cartesian(range(3), repeat=k):  # every ordered sequence of k votes
                counts = np.bincount(draw, minlength=3)
                top = counts.max()
                total += np.prod(row[list(draw)]) * (counts[0] == top) / (counts == top).sum()
            want.append(total)
        assert np.allclose(plurality_accuracy(q, k), want)
    two = np.array([[0.62, 0.38], [0.3, 0.7]])
    assert np.allclose(plurality_accuracy(two, 9), vote_accuracy(two[:, 0], 9))  # two answers: the binomial vote
    with pytest.raises(ValueError, match="max_states"):
        plurality_accuracy(np.full((1, 9), 1 / 9), 40)
    with pytest.raises(ValueError, match="sum to 1"):
        plurality_accuracy(np.array([[0.5, 0.2]]), 3)
