"""Step-level speculation (SpecReason, Pan et al. 2025, arXiv:2504.07891) in closed form: the ends
of the threshold by hand, the acceptance rates against the simulated PRM they describe, and the
`speculative_reasoning` strategy on two step-wise simulators against the closed form (seeded,
tolerance stated)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.experiments import speculative_sim as sp
from itslab.generators.simulated import n_steps, step_oracle
from itslab.scaling import step_speculation as ss
from itslab.verifiers import NoisyProcessVerifier


def test_threshold_ends_by_hand():
    m = ss.StepSpeculation(drafter=0.2, scorer=0.1, auc=0.8)
    eps_d, eps_t, s = np.array([0.2, 0.1]), np.array([0.05, 0.02]), np.array([4, 6])
    keep_all = ss.solve(m, 0.0, eps_d, eps_t, s)  # every draft kept, unscored: the drafter alone
    assert np.allclose(keep_all["accuracy"], (1 - eps_d) ** s) and np.allclose(keep_all["latency"], 0.2 * s)
    target = ss.solve(m, 10.0, eps_d, eps_t, s)  # nothing drafted: the target alone
    assert np.allclose(target["accuracy"], (1 - eps_t) ** s) and np.allclose(target["latency"], s)
    never = ss.solve(m, 9.0, eps_d, eps_t, s)  # drafted and scored, never kept: slower than the target
    assert np.allclose(never["accuracy"], target["accuracy"]) and np.allclose(never["latency"], 1.3 * s)
    assert ss.summary(m, 10.0, eps_d, eps_t, s)["speedup"] == pytest.approx(1.0)


def test_accept_rates_match_the_simulated_prm():
    # the PRM's score of a correct / broken last step, thresholded at 9 * score >= 5 (8k draws, 4 SE)
    m = ss.StepSpeculation(auc=0.8)
    ac, aw = ss.accept_rates(m, 5.0)
    prm = NoisyProcessVerifier(lambda p, t: [t.startswith("ok")], noise=1.0, auc=0.8, seed=0)
    from itslab.types import Problem

    p = Problem(id="x", prompt="q", answer="1")
    good = np.array([prm.score(p, [f"ok {i}"])[0][-1] for i in range(8_000)]) * 9 >= 5
    bad = np.array([prm.score(p, [f"no {i}"])[0][-1] for i in range(8_000)]) * 9 >= 5
    for got, want in ((good.mean(), ac), (bad.mean(), aw)):
        assert abs(got - want) <= 4 * np.sqrt(want * (1 - want) / 8_000)
    assert ac > aw


def test_strategy_on_simulators_matches_the_closed_form():
    # 240 problems, seed 0: accuracy and the share of drafts kept within 3.5 binomial SEs
    problems, pair, prm = sp.sim_pair(240, seed=0, drafter_power=3.0, auc=0.8)
    eps_d = np.array([pair.drafter.step_error(pair.drafter.problem_for(p.prompt)) for p in problems])
    eps_t = np.array([pair.target.step_error(p) for p in problems])
    s = np.array([n_steps(p) for p in problems])
    m = ss.StepSpeculation(auc=0.8)
    df = sp.run_sim(problems, pair, prm, [4.0])
    want = ss.summary(m, 4.0, eps_d, eps_t, s)
    acc_se = np.sqrt(want["accuracy"] * (1 - want["accuracy"]) / len(problems))
    assert abs(df["correct"].mean() - want["accuracy"]) <= 3.5 * acc_se
    kept = df["n_kept"].sum() / df["n_steps"].sum()
    assert abs(kept - want["kept"]) <= 3.5 * np.sqrt(want["kept"] * (1 - want["kept"]) / df["n_steps"].sum())
    assert (df["n_steps"].to_numpy() == s).all()  # the simulators always write all S steps
    assert isinstance(prm, NoisyProcessVerifier) and prm.step_oracle is step_oracle


def test_threshold_for_speedup_inverts_summary():
    eps_d, eps_t, s = np.full(50, 0.15), np.full(50, 0.05), np.full(50, 5)
    m = ss.StepSpeculation(drafter=0.1, scorer=0.05, auc=0.85)
    t = ss.threshold_for_speedup(m, 1.5, eps_d, eps_t, s)
    assert 0 < t < 9 and ss.summary(m, t, eps_d, eps_t, s)["speedup"] == pytest.approx(1.5, rel=1e-6)
    with pytest.raises(ValueError, match="outside"):
        ss.threshold_for_speedup(m, 50.0, eps_d, eps_t, s)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="auc"):
        ss.StepSpeculation(auc=1.0)
    with pytest.raises(ValueError, match="times"):
        ss.StepSpeculation(drafter=-1.0)
