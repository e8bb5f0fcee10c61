"""Known answers of `allocate_configs` and the failure tables, a split-leak test, and the simulated
population's correlation knob (Zhang et al. 2024, OSCA)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import comb

from itslab.rng import as_rng
from itslab.scaling.config_allocation import (
    METHODS,
    allocate_configs,
    budget_to_match,
    coverage,
    evaluate_allocation,
    failure_from_counts,
    failure_from_p,
    failure_posterior,
    split_problems,
)
from itslab.scaling.config_population import (
    config_grid,
    oracle_ratio,
    samples_to_match,
    simulate_config_population,
)


@pytest.mark.parametrize("method", ["hill_climb", "greedy", "best_single"])
def test_a_configuration_best_on_every_problem_takes_every_sample(method):
    rng = as_rng(0)
    weak = rng.uniform(0.0, 0.3, size=(50, 3))
    p = np.column_stack([weak, weak.max(axis=1) + 0.2])  # config 3 dominates on every problem
    alloc = allocate_configs(failure_from_p(p, 12), 12, method=method)
    assert alloc.counts.tolist() == [0, 0, 0, 12]


def test_disjoint_specialists_split_the_budget_and_beat_the_best_single():
    # each configuration solves its own half of the problems with certainty: one sample of each covers all
    p = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5)
    fail = failure_from_p(p, 4)
    for method in ("hill_climb", "greedy"):
        alloc = allocate_configs(fail, 4, method=method)
        assert alloc.counts.min() >= 1 and alloc.train_coverage == 1.0
    assert allocate_configs(fail, 4, method="best_single").train_coverage == 0.5
    assert allocate_configs(fail, 4, method="uniform").counts.tolist() == [2, 2]


def test_greedy_pays_per_cost():
    # the same success rate at a quarter of the price: the cheap configuration takes the budget
    p = np.full((20, 2), 0.3)
    alloc = allocate_configs(failure_from_p(p, 16), 8.0, method="greedy", costs=[1.0, 4.0])
    assert alloc.counts.tolist() == [8, 0] and alloc.cost == 8.0
    assert allocate_configs(failure_from_p(p, 16), 8.0, method="hill_climb", costs=[1.0, 4.0]).cost <= 8.0


def test_hill_climbing_is_never_worse_than_its_start_on_train():
    p = simulate_config_population(
        config_grid({"a": 0.0, "b": -0.5}, {"t": 0.0}, {"x": 0.0, "y": 0.3}), 300, rho=0.3, seed=1
    )
    fail = failure_from_p(p, 16)
    hill = allocate_configs(fail, 16, method="hill_climb")
    assert hill.train_coverage >= allocate_configs(fail, 16, method="best_single").train_coverage - 1e-12
    assert hill.counts.sum() == 16


def test_failure_from_counts_is_the_hypergeometric():
    s, n = np.array([[3, 0], [32, 10]]), 32
    f = failure_from_counts(s, n)
    for i, j, k in [(0, 0, 5), (1, 1, 7), (0, 1, 32), (1, 0, 1)]:
        assert f[i, j, k] == pytest.approx(comb(n - s[i, j], k) / comb(n, k))
    assert np.all(f[:, :, 0] == 1.0)


def test_failure_posterior_approaches_the_true_rate():
    f = failure_posterior(np.array([[300]]), 1000, 4)
    assert f[0, 0, 4] == pytest.approx(0.7**4, rel=0.01)


def test_coverage_rejects_counts_outside_the_table():
    with pytest.raises(ValueError, match="counts"):
        coverage(failure_from_p(np.full((2, 2), 0.5), 3), [4, 0])


def test_split_leak_evaluation_reads_held_out_problems_only():
    """The allocation learned on train and scored on test must not change when train problems change."""
    rng = as_rng(3)
    p = rng.uniform(0, 0.5, size=(40, 3))
    train, test = split_problems(40, 0.5, as_rng(1))
    assert not set(train) & set(test) and len(train) + len(test) == 40
    alloc = allocate_configs(failure_from_p(p[train], 8), 8)
    before = evaluate_allocation(failure_from_p(p[test], 8), alloc.counts)
    poisoned = p.copy()
    poisoned[train] = 1.0  # train problems become trivially solved: the held-out score cannot move
    assert evaluate_allocation(failure_from_p(poisoned[test], 8), alloc.counts) == before


@pytest.mark.parametrize("method", METHODS)
def test_allocations_stay_in_budget(method):
    p = as_rng(5).uniform(0, 0.6, size=(30, 4))
    alloc = allocate_configs(failure_from_p(p, 10), 10.0, method=method, costs=[1, 2, 3, 1.5])
    assert alloc.cost <= 10.0 + 1e-9 and np.all(alloc.counts >= 0)


def test_budget_to_match_and_samples_to_match_agree_on_whole_numbers():
    p = as_rng(2).uniform(0.05, 0.5, size=(200, 1))
    fail = failure_from_p(p, 64)
    target = 1.0 - fail[:, 0, 8].mean()
    assert budget_to_match(fail, 0, target) == pytest.approx(8.0)
    assert samples_to_match(p[:, 0], target) == pytest.approx(8.0, rel=1e-4)
    assert budget_to_match(fail, 0, 1.01) == float("inf")


def test_correlation_knob_one_means_mixing_cannot_help():
    cfg = config_grid({"a": 0.0}, {"t1": 0.0, "t2": 0.0}, {"x": 0.0})
    p = simulate_config_population(cfg, 500, rho=1.0, seed=0)
    assert np.allclose(p[:, 0], p[:, 1])
    assert oracle_ratio(p, 8)[0] == pytest.approx(1.0, rel=1e-3)
    low = simulate_config_population(cfg, 2000, rho=0.0, seed=0)
    assert abs(np.corrcoef(low[:, 0], low[:, 1])[0, 1]) < 0.1  # statistical: 2000 problems, seed 0
    assert oracle_ratio(low, 8)[0] > 1.5
