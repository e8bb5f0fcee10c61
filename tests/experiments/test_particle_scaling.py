"""`itslab.experiments.particle_scaling`: Puri et al. 2025 (arXiv:2502.01618) particle filter vs search sweeps
on the step-wise simulator, and their paired summaries (known answers on hand-made frames)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from itslab.experiments import particle_scaling


def _frame(acc: dict[tuple[str, int, float], list[float]]) -> pd.DataFrame:
    rows = [
        {
            "noise": nz,
            "rho": 0.0,
            "strategy": s,
            "budget": b,
            "problem_id": f"p{i}",
            "correct": c,
            "generated_tokens": 1,
        }
        for (s, b, nz), cs in acc.items()
        for i, c in enumerate(cs)
    ]
    return pd.DataFrame(rows)


def test_rollouts_to_match_interpolates_in_log_n():
    assert particle_scaling.rollouts_to_match([1, 4, 16], [0.5, 0.6, 0.7], 0.65) == pytest.approx(8.0)
    assert particle_scaling.rollouts_to_match([1, 4, 16], [0.5, 0.6, 0.7], 0.4) == 1.0
    assert math.isinf(particle_scaling.rollouts_to_match([1, 4, 16], [0.5, 0.6, 0.7], 0.9))
    # a dip does not count against a curve: the running maximum is used
    assert particle_scaling.rollouts_to_match([1, 2, 4], [0.6, 0.5, 0.7], 0.6) == 1.0


def test_paired_gap_and_gap_growth_by_hand():
    df = _frame(
        {
            ("particle_filter", 4, 1.0): [1, 1, 0, 1],
            ("beam_search", 4, 1.0): [1, 0, 0, 1],
            ("particle_filter", 4, 8.0): [1, 0, 0, 1],
            ("beam_search", 4, 8.0): [0, 0, 0, 0],
        }
    )
    gap, se = particle_scaling.paired_gap(df, "particle_filter", "beam_search", budgets=[4], noise=1.0)
    assert gap == pytest.approx(0.25) and se == pytest.approx(0.25)
    # lead 0.25 at noise 1, 0.5 at noise 8: beam search lost 0.25 more
    growth, _ = particle_scaling.gap_growth(df, "particle_filter", "beam_search", budget=4, low=1.0, high=8.0)
    assert growth == pytest.approx(0.25)
    with pytest.raises(KeyError, match="no rows"):
        particle_scaling.paired_gap(df, "dvts", "beam_search", budgets=[4], noise=1.0)


def test_scaling_ratio_counts_the_rollouts_search_needs():
    acc = {("particle_filter", b, 4.0): [a] * 4 for b, a in ((1, 0.5), (4, 0.7), (16, 0.8))}
    acc |= {("beam_search", b, 4.0): [a] * 4 for b, a in ((1, 0.5), (4, 0.6), (16, 0.8))}
    acc |= {("dvts", b, 4.0): [a] * 4 for b, a in ((1, 0.5), (4, 0.55), (16, 0.6))}
    assert particle_scaling.scaling_ratio(_frame(acc), noise=4.0) == pytest.approx(1.0)  # beam reaches 0.8 at 16
    acc |= {("beam_search", 16, 4.0): [0.7] * 4}
    assert math.isinf(particle_scaling.scaling_ratio(_frame(acc), noise=4.0))


def test_calibrated_suite_hits_its_target():
    problems, gen = particle_scaling.calibrated_suite(30, 0.7, seed=3, n_steps=(3, 5))
    assert particle_scaling.exact_pass_at_1(problems, gen) == pytest.approx(0.7, abs=1e-3)


def test_sweep_runs_every_strategy_on_the_same_problems_and_is_deterministic():
    problems, gen = particle_scaling.calibrated_suite(6, 0.7, seed=1, n_steps=3)
    a = particle_scaling.sweep(problems, gen, noises=[1.0], budgets=[1, 4])
    b = particle_scaling.sweep(problems, gen, noises=[1.0], budgets=[1, 4])
    pd.testing.assert_frame_equal(a, b)
    assert set(a["strategy"]) == set(particle_scaling.STRATEGIES)
    assert len(a) == 4 * 2 * 6
    c = particle_scaling.curves(a)
    assert np.all((c["accuracy"] >= 0) & (c["accuracy"] <= 1))
    # N rollouts cost about N solutions for every strategy (budgets matched in rollouts)
    tok = c.pivot_table(index="budget", columns="strategy", values="generated_tokens")
    assert (tok.loc[4] / tok.loc[1]).between(2.5, 5.5).all(), tok


def test_particle_run_records_a_genealogy():
    problems, gen = particle_scaling.calibrated_suite(3, 0.7, seed=1, n_steps=3)
    r = particle_scaling.particle_run(problems[0], gen, noise=2.0, n_particles=8)
    smc = [s.info for s in r.trace if s.kind == "smc"]
    assert smc and all(len(s["ancestors"]) == 8 for s in smc)
