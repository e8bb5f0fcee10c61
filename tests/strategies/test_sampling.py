"""Known-answer tests for the sampling strategies against the simulator's closed forms.

Tolerances: 4 standard errors of the mean over problems (seeded, so the test is deterministic).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.rng import problem_rng
from itslab.verifiers import ExactAnswer, NoisyVerifier

T = 1.0
N_PROBLEMS = 300


@pytest.fixture(scope="module")
def suite():
    return make_suite(
        N_PROBLEMS, seed=11, kind="outcome", mean_tokens=20.0, n_distractors=3, distractor_concentration=0.5
    )


def _run(name, problems, gen, ver, n, **kw):
    fn = strategies.get(name)
    return [
        fn(p, gen, ver, Budget(samples=n), problem_rng(5, p.id), n=n, temperature=T, max_tokens=200, **kw)
        for p in problems
    ]


def _check(observed: np.ndarray, expected: np.ndarray):
    se = np.sqrt(np.sum(expected * (1 - expected))) / len(expected)
    assert abs(observed.mean() - expected.mean()) < 4 * se + 1e-9, (observed.mean(), expected.mean(), se)


@pytest.mark.parametrize("n", [1, 4, 16])
def test_best_of_n_with_oracle_matches_coverage(suite, n):
    problems, gen = suite
    res = _run("best_of_n", problems, gen, ExactAnswer(), n)
    p = np.array([gen.p_correct(q, temperature=T) for q in problems])
    _check(np.array([r.correct for r in res], float), 1 - (1 - p) ** n)
    assert all(r.usage.samples == n and r.usage.verifier_calls == n for r in res)


def test_oracle_pass_at_n_equals_best_of_n_with_oracle(suite):
    problems, gen = suite
    a = _run("best_of_n", problems[:60], gen, ExactAnswer(), 8)
    b = _run("oracle_pass_at_n", problems[:60], gen, None, 8)
    assert [r.correct for r in a] == [r.correct for r in b]
    assert all(r.usage.verifier_calls == 0 for r in b)


def _majority_closed_form(probs: np.ndarray, n: int) -> float:
    """P(vote picks answer 0): enumerate every sequence; ties go to the answer seen first (as `_vote`)."""
    k = len(probs)
    total = 0.0
    for seq in itertools.product(range(k), repeat=n):
        counts = np.bincount(seq, minlength=k)
        top = counts.max()
        winner = next(a for a in seq if counts[a] == top)
        if winner == 0:
            total += float(np.prod(probs[list(seq)]))
    return total


@pytest.mark.parametrize("n", [3, 5])
def test_majority_vote_matches_closed_form(suite, n):
    problems, gen = suite
    res = _run("majority_vote", problems, gen, None, n)
    expected = np.array(
        [_majority_closed_form(np.array(list(gen.answer_distribution(q, temperature=T).values())), n) for q in problems]
    )
    _check(np.array([r.correct for r in res], float), expected)


def test_majority_vote_hurts_with_peaked_distractors():
    # a problem whose mode is a distractor: voting converges to it, so maj@32 < pass@1
    problems, gen = make_suite(
        200, seed=3, kind="outcome", a=1.0, b=3.0, mean_tokens=10.0, n_distractors=2, distractor_concentration=0.05
    )
    hard = [q for q in problems if max(list(gen.answer_distribution(q).values())[1:]) > gen.p_correct(q) + 0.1][:40]
    assert len(hard) >= 20
    res = _run("majority_vote", hard, gen, None, 32)
    assert np.mean([r.correct for r in res]) < np.mean([gen.p_correct(q, temperature=T) for q in hard])


def test_weighted_votes_and_resample_until_pass_run(suite):
    problems, gen = suite
    ver = NoisyVerifier(tpr=0.9, fpr=0.1, seed=0)
    w = _run("weighted_best_of_n", problems[:30], gen, ver, 8)
    assert all(len(r.candidates) == 8 and r.answer is not None for r in w)
    wm = _run("weighted_majority_vote", problems[:30], gen, None, 8)
    assert all(c.score is not None and 0 < c.score <= 1 for r in wm for c in r.candidates)
    fn = strategies.get("resample_until_pass")
    r = [
        fn(p, gen, ExactAnswer(), Budget(samples=8), problem_rng(5, p.id), temperature=T, max_tokens=200)
        for p in problems
    ]
    p = np.array([gen.p_correct(q, temperature=T) for q in problems])
    _check(np.array([x.correct for x in r], float), 1 - (1 - p) ** 8)
    assert all(x.usage.samples <= 8 and x.usage.samples == x.usage.verifier_calls for x in r)
