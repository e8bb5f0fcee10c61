"""Known-answer tests for search with feedback: ab_mcts, mcts, evolutionary_search, sequential_revision.

With an exact evaluator (`ConstraintScore` on `RefineSimGenerator`) a search that only widens is
repeated sampling, whose success on a problem with pass@1 p is 1 - (1 - p)^n; sequential revision
with one call is one sample; the closed-form chain matches the simulated one.
"""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.generators.simulated.refine import chain_hit
from itslab.rng import problem_rng
from itslab.strategies.refinement import ROOT, refine_prefix, width_share
from itslab.strategies.tree_search import ABMCTSTree, Posterior
from itslab.verifiers.partial import ConstraintScore, CountdownDistance

N_PROBLEMS = 300  # the accuracy tests' tolerance is 3 binomial SEs over these, seed 0


def _suite(**kw):
    return make_suite(N_PROBLEMS, seed=0, kind="refine", a=1.0, b=3.0, n_constraints=4, **kw)


def _accuracy(name, problems, gen, n, **hyper):
    fn, v = strategies.get(name), ConstraintScore()
    rs = [fn(p, gen, v, Budget(samples=n), problem_rng(0, p.id), n=n, max_tokens=200, **hyper) for p in problems]
    return float(np.mean([r.correct for r in rs])), rs


def _within(acc, expected, n):
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs(acc - expected) <= 3 * se + 1e-9, (acc, expected, se)


@pytest.mark.parametrize(
    "name,hyper",
    [
        ("ab_mcts", {"policy": "wider"}),
        ("mcts", {"n_children": 8}),
        ("evolutionary_search", {"n_islands": 2, "n_convs": 4, "n_seq": 1}),
    ],
)
def test_only_widening_is_repeated_sampling(name, hyper):
    problems, gen = _suite(p_fix=0.9)
    acc, rs = _accuracy(name, problems, gen, 8, **hyper)
    assert all(width_share(r) == 1.0 for r in rs)  # every candidate fresh from the prompt
    expected = float(np.mean([1 - (1 - p.meta["p_correct"]) ** 8 for p in problems]))
    _within(acc, expected, len(problems))


def test_sequential_revision_with_one_call_is_one_sample():
    problems, gen = _suite()
    v = ConstraintScore()
    for p in problems[:20]:
        a = strategies.get("sequential_revision")(
            p, gen, v, Budget(samples=1), problem_rng(5, p.id), n=1, max_tokens=200
        )
        b = strategies.get("best_of_n")(p, gen, v, Budget(samples=1), problem_rng(5, p.id), n=1, max_tokens=200)
        assert a.candidates[0].text == b.candidates[0].text and a.answer == b.answer


def test_sequential_revision_matches_the_closed_form_chain():
    problems, gen = _suite(p_fix=0.3, p_break=0.1)
    acc, _ = _accuracy("sequential_revision", problems, gen, 6)
    expected = float(np.mean(chain_hit(np.array([p.meta["p_correct"] for p in problems]), 4, 0.3, 0.1, 6)))
    _within(acc, expected, len(problems))


def test_refinement_that_always_fixes_makes_depth_win():
    """p_fix = 1, p_break = 0: one refinement solves any problem, so a search that goes deeper
    with 2 calls beats repeated sampling's 1 - (1 - p)^2."""
    problems, gen = _suite(p_fix=1.0, p_break=0.0)
    acc, _ = _accuracy("sequential_revision", problems[:50], gen, 2)
    assert acc == 1.0


def test_ab_mcts_adapts_its_width_to_the_refinement():
    """With useless refinements (p_fix = 0) AB-MCTS widens more than with strong ones."""
    problems, _ = _suite()
    shares = []
    for p_fix in (0.0, 0.8):
        _, gen = make_suite(N_PROBLEMS, seed=0, kind="refine", a=1.0, b=3.0, n_constraints=4, p_fix=p_fix, p_break=0.1)
        _, rs = _accuracy("ab_mcts", problems[:60], gen, 24, stop_score=None)
        shares.append(np.mean([width_share(r) for r in rs]))
    assert shares[0] > shares[1] + 0.1, shares


def test_ab_mcts_tree_backs_up_scores():
    t = ABMCTSTree("beta")
    t.tell(ROOT, 0, 0.5)
    t.tell(0, 1, 1.0)
    assert t.gen[ROOT].n == 1 and t.gen[0].n == 1 and t.cont[ROOT].n == 1
    assert t.arm[0].n == 2 and t.arm[0].total == 1.5 and t.arm[1].n == 1
    rng = np.random.default_rng(0)
    assert t.ask(rng, "wider") == ROOT


@pytest.mark.parametrize("dist", ["beta", "gaussian"])
def test_posterior_concentrates_on_the_mean(dist):
    post, rng = Posterior(dist), np.random.default_rng(0)
    for x in [0.7] * 400:
        post.add(x)
    draws = [post.draw(rng) for _ in range(200)]
    assert abs(np.mean(draws) - 0.7) < 0.03 and np.std(draws) < 0.05


def test_refine_prefix_carries_the_parent_to_the_simulator():
    problems, gen = _suite(p_fix=1.0, p_break=0.0)
    from itslab.types import Request

    prefix = refine_prefix(problems[0].prompt, "x\nChecks: 0000\n", "Constraints 1, 2, 3, 4 are violated.")
    [c] = gen.generate([Request(prefix, n=1, seed=0)])[0]
    assert "Checks: 1111" in c.text and c.meta["sim_correct"]


def test_countdown_distance_scores_partial_credit():
    from itslab.tasks import load

    [p] = load("countdown", limit=1, difficulty=2, seed=0)
    v = CountdownDistance()
    nums, t = p.meta["numbers"], p.meta["target"]
    (right,), (wrong_numbers,), (none,) = v.score(p, [f"\\boxed{{{p.answer}}}", "\\boxed{1+1}", "no idea"])
    assert right == 1.0 and wrong_numbers == 0.0 and none == 0.0
    near = "+".join(str(x) for x in nums)
    (s,) = v.score(p, [f"\\boxed{{{near}}}"])[0]
    assert 0.0 <= s <= 1.0 and str(t) in v.feedback(p, f"\\boxed{{{near}}}")
