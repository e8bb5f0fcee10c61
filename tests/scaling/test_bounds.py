"""Balachandran et al.'s aggregators (worst / average / majority / oracle): hand-derived values on a tiny
pool, the per-problem ordering on random pools, paired gaps and the cross-fitted gain by difficulty."""

import numpy as np
import pytest

from itslab.scaling.bounds import AGGREGATORS, aggregator_bounds, aggregator_matrix, bound_gaps, gain_by_difficulty


def tiny():
    # problem 0: right answer "1" twice, two different wrong ones; problem 1: all four right
    ok = np.array([[True, True, False, False], [True, True, True, True]])
    ans = np.array([["1", "1", "2", "3"], ["5", "5", "5", "5"]], dtype=object)
    return ok, ans


def test_exact_values_on_a_hand_made_pool():
    ok, ans = tiny()
    m = aggregator_matrix(ok, ans, [1, 2, 4])
    # worst-of-2 = C(2,2)/C(4,2) = 1/6; oracle@2 = 1 - C(2,2)/C(4,2) = 5/6; maj@2: (1,1) wins, the four
    # mixed pairs tie (half right), (2,3) loses: (1 + 4 * 0.5) / 6 = 0.5; maj@4: "1" has two votes
    assert m["worst"][0] == pytest.approx([0.5, 1 / 6, 0.0])
    assert m["average"][0] == pytest.approx([0.5, 0.5, 0.5])
    assert m["majority"][0] == pytest.approx([0.5, 0.5, 1.0])
    assert m["oracle"][0] == pytest.approx([0.5, 5 / 6, 1.0])
    for a in AGGREGATORS:
        assert m[a][1] == pytest.approx([1.0, 1.0, 1.0])
    frame = aggregator_bounds(ok, ans, [2])
    row = frame.set_index("aggregator").loc["worst"]
    assert row["value"] == pytest.approx((1 / 6 + 1) / 2) and row["n_problems"] == 2


def test_ordering_per_problem_on_random_pools():
    rng = np.random.default_rng(3)
    p = rng.beta(0.7, 1.0, size=60)
    ok = rng.random((60, 8)) < p[:, None]
    wrong = rng.integers(0, 3, size=(60, 8)).astype(str)
    ans = np.where(ok, "gold", wrong).astype(object)
    m = aggregator_matrix(ok, ans, [1, 2, 3, 5, 8], rng=rng)
    eps = 1e-12
    assert np.all(m["worst"] <= m["average"] + eps) and np.all(m["average"] <= m["oracle"] + eps)
    assert np.all(m["worst"] <= m["majority"] + eps) and np.all(m["majority"] <= m["oracle"] + eps)
    assert np.allclose(m["worst"][:, 0], m["oracle"][:, 0]) and np.allclose(m["majority"][:, 0], ok.mean(axis=1))


def test_gaps_are_paired_differences_and_the_majority_share():
    ok, ans = tiny()
    g = bound_gaps(ok, ans, 2).set_index("gap")
    assert g.loc["oracle - average", "value"] == pytest.approx((5 / 6 - 0.5) / 2)
    assert g.loc["majority - average", "value"] == pytest.approx(0.0)
    assert g.loc["oracle - majority", "se"] == pytest.approx(np.std([5 / 6 - 0.5, 0.0], ddof=1) / np.sqrt(2))
    assert g["majority_share"].iloc[0] == pytest.approx(0.0)


def test_gain_by_difficulty_sees_voting_fail_on_hard_problems():
    rng = np.random.default_rng(0)
    n = 32
    easy = rng.random((40, n)) < 0.7  # the right answer is the mode: voting helps
    hard = rng.random((40, n)) < 0.3  # one wrong answer holds 70%: voting hurts
    ok = np.vstack([easy, hard])
    ans = np.where(ok, "gold", "wrong").astype(object)
    g = gain_by_difficulty(ok, ans, 8, np.random.default_rng(1), n_levels=2).set_index("level")
    assert g.loc["1", "gain"] > 0.1 and g.loc["2", "gain"] < -0.1
    assert g.loc["easiest - hardest", "gain"] == pytest.approx(g.loc["1", "gain"] - g.loc["2", "gain"])
    with pytest.raises(ValueError, match="k=20 must lie in 1..n/2=16"):
        gain_by_difficulty(ok, ans, 20, np.random.default_rng(1))
