"""Compute-optimal allocation by difficulty (Snell et al. 2024): known answers and split hygiene."""

import itertools

import numpy as np
import pandas as pd
import pytest

from itslab.scaling.allocation import (
    OptionTable,
    _knapsack,
    allocate,
    compare_to_baseline,
    compute_optimal_allocation,
    cross_fit,
)


def two_level_table(n=10):
    """Level-1 problems: A right, B wrong; level-2: the reverse; both cost 1."""
    acc = np.zeros((2 * n, 2))
    acc[:n, 0], acc[n:, 1] = 1.0, 1.0
    return OptionTable((("A", 1), ("B", 1)), acc, np.ones((2 * n, 2))), np.repeat([1, 2], n)


def test_allocator_picks_the_dominant_strategy_of_each_level():
    table, levels = two_level_table()
    p = allocate(table, levels, np.arange(20), compute=1)
    assert p.choice == {1: 0, 2: 1} and p.accuracy == 1.0 and p.cost == 1.0
    assert p.option_of(np.array([2, 1, 2])).tolist() == [1, 0, 1]


def test_allocator_moves_compute_to_the_level_that_gains_from_it():
    # easy level: k=1 0.9, k=4 0.92; hard level: k=1 0.2, k=4 0.8; cost = k
    acc = np.array([[0.9, 0.92]] * 5 + [[0.2, 0.8]] * 5)
    table = OptionTable((("s", 1), ("s", 4)), acc, np.tile([1.0, 4.0], (10, 1)))
    levels = np.repeat([1, 2], 5)
    p = allocate(table, levels, np.arange(10), compute=2.5)
    assert p.choice == {1: 0, 2: 1} and p.accuracy == pytest.approx(0.85) and p.cost == pytest.approx(2.5)
    shared = allocate(table, levels, np.arange(10), compute=2.5, share_budget=True)
    assert shared.choice == {1: 0, 2: 0} and shared.accuracy == pytest.approx(0.55)  # one k for all: k=4 won't fit
    with pytest.raises(ValueError, match="no option fits"):
        allocate(table, levels, np.arange(10), compute=0.5)


def test_knapsack_is_exact_against_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(20):
        acc, cost, w = rng.random((3, 5)), rng.integers(1, 9, (3, 5)).astype(float), rng.dirichlet(np.ones(3))
        budget = float(rng.uniform(2, 7))
        rows = [0, 1, 2]
        feasible = [c for c in itertools.product(range(5), repeat=3) if w @ cost[rows, list(c)] <= budget]
        got = _knapsack(acc, cost, w, budget)
        if not feasible:
            assert got is None
            continue
        assert got is not None and w @ cost[rows, list(got)] <= budget
        assert w @ acc[rows, list(got)] == pytest.approx(max(w @ acc[rows, list(c)] for c in feasible))


def test_allocate_reads_only_the_selection_problems():
    table, levels = two_level_table()
    sel = np.array([0, 1, 2, 10, 11, 12])
    messed = OptionTable(table.options, table.accuracy.copy(), table.cost)
    messed.accuracy[np.setdiff1d(np.arange(20), sel)] = 1.0 - messed.accuracy[np.setdiff1d(np.arange(20), sel)]
    assert allocate(messed, levels, sel, 1).choice == allocate(table, levels, sel, 1).choice


def noise_table(p=200, n_opt=10, seed=0):
    rng = np.random.default_rng(seed)
    acc = (rng.random((p, n_opt)) < 0.5).astype(float)  # no option is better than another
    return OptionTable(tuple(("s", k + 1) for k in range(n_opt)), acc, np.ones((p, n_opt))), rng.random(p)


def test_held_out_policies_are_fitted_without_their_problems():
    table, stat = noise_table()
    per, pol = cross_fit(table, stat, [1.0], n_folds=2, rng=np.random.default_rng(1))
    assert sorted(per["problem"]) == list(range(200))
    held0 = per.loc[per["fold"] == 0, "problem"].to_numpy()
    # rewriting fold 0's problems changes nothing about the policy that scores them ...
    acc2 = table.accuracy.copy()
    acc2[held0] = 1.0 - acc2[held0]
    stat2 = stat.copy()
    stat2[held0] = np.random.default_rng(9).random(len(held0))
    per2, pol2 = cross_fit(OptionTable(table.options, acc2, table.cost), stat2, [1.0], rng=np.random.default_rng(1))
    pd.testing.assert_frame_equal(pol[pol["fold"] == 0], pol2[pol2["fold"] == 0])
    # ... and the held-out scores are read from the held-out rows
    rows = per2[per2["fold"] == 0]
    k = rows["k"].to_numpy() - 1
    np.testing.assert_array_equal(rows["accuracy"].to_numpy(), acc2[rows["problem"].to_numpy(), k])


def test_selection_optimism_does_not_reach_the_held_out_score():
    """On pure noise the selected options look good on the problems that chose them, not on others:
    an evaluation that leaked the selection problems would report the optimistic number."""
    table, stat = noise_table(p=400)
    per, pol = cross_fit(table, stat, [1.0], n_bins=5, rng=np.random.default_rng(2))
    selected = pol.groupby("fold")["selection_accuracy"].first().mean()
    held = per["accuracy"].mean()
    assert selected > 0.58  # max of 10 noisy means per level (SD 0.05): optimistic
    assert abs(held - 0.5) < 0.06  # 400 held-out coin flips: SD 0.025


def test_compare_known_answer():
    # baseline curve 0.2, 0.4, 0.6 at cost 1, 2, 4; the allocator scores 0.5 at cost 2 on every problem
    p = 6
    acc = np.tile([0.2, 0.4, 0.6], (p, 1))
    table = OptionTable((("b", 1), ("b", 2), ("b", 4)), acc, np.tile([1.0, 2.0, 4.0], (p, 1)))
    per = pd.DataFrame({"problem": range(p), "compute": 2.0, "accuracy": 0.5, "cost": 2.0})
    out = compare_to_baseline(per, table, ["b"], n_boot=50, rng=np.random.default_rng(0)).iloc[0]
    assert out["baseline_accuracy"] == pytest.approx(0.4) and out["gain"] == pytest.approx(0.1)
    assert out["compute_ratio"] == pytest.approx(np.sqrt(2))  # 0.5 is reached at 2·√2, log-interpolated
    assert out["gain_se"] == pytest.approx(0.0, abs=1e-12) and out["p_never"] == 0.0
    per_hi = per.assign(accuracy=0.7)
    assert np.isinf(
        compare_to_baseline(per_hi, table, ["b"], n_boot=20, rng=np.random.default_rng(0))["compute_ratio"].iloc[0]
    )


def synthetic_pool(p=60, n=24, seed=0):
    """Easy problems answer right with p 0.8, hard ones 0.2; the score is a noisy copy of correctness."""
    rng = np.random.default_rng(seed)
    q = np.where(np.arange(p) < p // 2, 0.8, 0.2)[:, None]
    correct = rng.random((p, n)) < q
    wrong = rng.integers(1, 4, size=(p, n))
    answers = np.where(correct, "0", wrong.astype(str)).astype(object)
    scores = correct + rng.normal(0, 0.5, (p, n))
    return correct, answers, scores


def test_probe_and_pool_columns_are_disjoint_and_used_as_named():
    correct, answers, scores = synthetic_pool()
    kw = dict(ks=[1, 2, 4, 8], compute=[2, 4], n_probe=8, n_boot=20)
    r = compute_optimal_allocation(correct, answers, scores, rng=np.random.default_rng(5), **kw)
    assert set(r.probe).isdisjoint(r.pool) and len(r.probe) == 8
    # predicted difficulty reads scores on the probe only; strategies read the pool only
    c2, s2 = correct.copy(), scores.copy()
    c2[:, r.probe] = ~c2[:, r.probe]  # graded probe samples are never seen with predicted difficulty
    s2[:, r.pool] = s2[:, r.pool][:, ::-1]  # pool scores only reorder best-of-n inside the pool
    r2 = compute_optimal_allocation(c2, answers, scores, rng=np.random.default_rng(5), **kw)
    pd.testing.assert_frame_equal(r.per_problem, r2.per_problem)
    r3 = compute_optimal_allocation(correct, answers, s2, rng=np.random.default_rng(5), **kw)
    assert r3.per_problem["level"].tolist() == r.per_problem["level"].tolist()


def test_allocation_beats_majority_on_a_two_difficulty_pool():
    correct, answers, scores = synthetic_pool(p=80, seed=1)
    r = compute_optimal_allocation(
        correct, answers, scores, ks=[1, 2, 4, 8, 16], compute=[4], n_bins=2, n_boot=100, rng=np.random.default_rng(0)
    )
    row = r.summary.set_index("baseline").loc["majority_vote"]
    assert row["allocator_compute"] <= 4 + 1e-9
    assert row["gain"] > 2 * row["gain_se"]  # the scores separate right from wrong: votes weighted by them win


def test_runs_on_the_recorded_bank():
    from itslab import banks

    b = banks.load("arith-qwen05-t0.7")
    r = compute_optimal_allocation(
        b.correct, b.answers, b.logprob_mean, ks=[1, 4, 16], compute=[4], n_boot=50, rng=np.random.default_rng(0)
    )
    assert sorted(r.per_problem["problem"]) == list(range(len(b.problem_ids)))
    assert set(r.summary["baseline"]) == {"majority_vote", "best_of_n"}
    assert r.summary["allocator_accuracy"].between(0, 1).all() and (r.summary["allocator_compute"] <= 4).all()
