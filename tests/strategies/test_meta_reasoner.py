"""Known-answer tests for `meta_reasoner` (Sui et al. 2025, arXiv:2502.19918), on the refinement
simulator with an exact evaluator: with one arm it is the fixed strategy that arm names (only
restart = repeated sampling, in closed form; only continue = one revision chain); the bandit
learns to restart when refinement cannot help and to refine when it can; LinUCB by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.rng import problem_rng
from itslab.strategies.meta_reasoner import LinUCB, arm_shares, progress_context
from itslab.strategies.refinement import ROOT, width_share
from itslab.verifiers.partial import ConstraintScore

N_PROBLEMS = 300  # tolerance: 3 binomial SEs over these, seed 0


def _suite(**kw):
    return make_suite(N_PROBLEMS, seed=0, kind="refine", a=1.0, b=3.0, n_constraints=4, **kw)


def _runs(problems, gen, n, **hyper):
    fn, v = strategies.get("meta_reasoner"), ConstraintScore()
    return [fn(p, gen, v, Budget(samples=n), problem_rng(0, p.id), n=n, max_tokens=200, **hyper) for p in problems]


def test_only_restart_is_repeated_sampling():
    problems, gen = _suite(p_fix=0.9)
    rs = _runs(problems, gen, 8, arms=("restart",))
    assert all(width_share(r) == 1.0 for r in rs)
    acc = float(np.mean([r.correct for r in rs]))
    expected = float(np.mean([1 - (1 - p.meta["p_correct"]) ** 8 for p in problems]))
    assert abs(acc - expected) <= 3 * np.sqrt(expected * (1 - expected) / len(problems)), (acc, expected)


def test_only_continue_is_one_revision_chain():
    problems, gen = _suite(p_fix=0.3, p_break=0.1)
    for r in _runs(problems[:30], gen, 6, arms=("continue",), stop_score=None):
        parents = [c.meta["parent"] for c in r.candidates]
        assert parents == [ROOT] + list(range(len(parents) - 1))  # each refines the one before
        assert arm_shares(r)["continue"] == 1.0


def test_the_bandit_restarts_when_refinement_cannot_help():
    """p_fix = 0: a refinement only breaks constraints, so only restarts improve the best; with
    p_fix = 0.8 refinements improve almost always. The share of restarts among the bandit's choices
    (made while the plan is unsolved) must follow."""
    problems, _ = _suite()
    share = {}
    for p_fix in (0.0, 0.8):
        _, gen = _suite(p_fix=p_fix, p_break=0.1)
        rs = _runs(problems[:60], gen, 24)
        share[p_fix] = float(np.nanmean([arm_shares(r)["restart"] for r in rs]))
    assert share[0.0] > share[0.8] + 0.1, share  # measured 0.43 against 0.22


def test_with_no_context_the_bandit_is_plain_ucb():
    problems, gen = _suite(p_fix=0.5)
    r = _runs(problems[:1], gen, 12, contextual=False, stop_score=None)[0]
    assert sum(s.kind == "strategy" for s in r.trace) == 12
    assert progress_context(0.5, 0.2, 3, contextual=False).tolist() == [1.0]


def test_linucb_by_hand():
    b = LinUCB(2, 2, alpha=0.0)
    x = np.array([1.0, 0.5])
    b.update(0, x, 1.0)  # theta_0 = (I + x x^T)^-1 x: its value at x is |x|^2 / (1 + |x|^2)
    assert b.bounds(x)[0] == pytest.approx(1.25 / 2.25) and b.bounds(x)[1] == 0.0
    assert b.choose(x, [0, 1], np.random.default_rng(0)) == 0
    assert b.choose(x, [1], np.random.default_rng(0)) == 1  # only allowed arms
    wide = LinUCB(2, 1, alpha=1.0)
    wide.update(0, np.ones(1), 0.0)  # a tried arm's bound shrinks: the untried one is explored
    assert wide.choose(np.ones(1), [0, 1], np.random.default_rng(0)) == 1


@pytest.mark.parametrize("arms", [(), ("jump",), ("restart", "restart")])
def test_bad_arms_are_refused(arms):
    problems, gen = _suite()
    with pytest.raises(ValueError, match="meta_reasoner: arms"):
        _runs(problems[:1], gen, 4, arms=arms)
