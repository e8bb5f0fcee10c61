"""Shared verifier errors (error_correlation ρ): best-of-N plateaus, a weak verifier over-optimises,
and the marginal AUC stays as configured (Gao et al. 2022, arXiv:2210.10760; Lightman et al. 2023).

The pools are read from the outcome simulator without texts and given short texts that state each
sample's answer, so the verifier (which grades and keys its shared errors by `tasks.answer_of`)
sees the same answers as the pool at a fraction of the cost of the simulator's filler text.
Seeds are fixed; tolerances are stated per test in standard errors over problems.
"""

import numpy as np
import pytest

from itslab import verifiers
from itslab.experiments.config import build_verifier, parse
from itslab.generators.simulated import make_suite, step_oracle
from itslab.pools import draw_pool
from itslab.scaling import best_of_k_matrix, pass_at_k_matrix, roc_auc
from itslab.scaling.binormal import auc_for_best_of_n, bon_matrix, peak_and_drop
from itslab.types import Problem
from itslab.verifiers.noisy import NoisyProcessVerifier, NoisyVerifier, binormal_scores, error_weights

N = 256
KS = [1, 4, 16, 64, 256]


def _texts(pool):
    return [
        [
            f"Sample {j}: nothing to report." if a is None else f"Sample {j}. The answer is \\boxed{{{a}}}."
            for j, a in enumerate(row)
        ]
        for row in pool.answers
    ]


@pytest.fixture(scope="module")
def big_pool():
    """300 problems × 256 samples of the default outcome simulator (8 distractors per problem)."""
    problems, gen = make_suite(300, seed=0, a=1.0, b=1.5)
    pool = draw_pool(gen, problems, N, seed=0)
    texts = _texts(pool)
    errors = np.stack([NoisyVerifier(seed=0).errors(p, t) for p, t in zip(problems, texts)])
    return problems, pool, texts, errors


def _gain(m, j0, j1):
    d = m[:, j1] - m[:, j0]
    return d.mean(), d.std(ddof=1) / np.sqrt(len(d))


def test_errors_reproduce_the_verifier_scores(big_pool):
    problems, pool, texts, errors = big_pool
    for rho, rho_p in ((0.0, 0.0), (0.6, 0.0), (0.5, 0.3)):
        v = NoisyVerifier(auc=0.7, error_correlation=rho, problem_correlation=rho_p, seed=0)
        got = np.array([[s for (s,) in v.score(p, t)] for p, t in zip(problems[:15], texts[:15])])
        want = binormal_scores(
            pool.correct[:15], errors[:15], auc=0.7, error_correlation=rho, problem_correlation=rho_p
        )
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # ρ = 0 keeps the draws the verifier made before correlated errors existed
    v0 = NoisyVerifier(auc=0.7, seed=0)
    from itslab.rng import keyed_normal

    z = keyed_normal(0, problems[0].id, "noisy-outcome", texts[0][0])
    d = verifiers.noisy.dprime_from_auc(0.7)
    expect = verifiers.noisy._phi(z + (d if pool.correct[0, 0] else 0.0) - d / 2)
    assert v0.score(problems[0], [texts[0][0]]) == [(expect,)]


def test_shared_errors_make_best_of_n_plateau_below_coverage(big_pool):
    # (a) a good verifier (AUC 0.9): with ρ = 0.9 best-of-N stops rising between N = 64 and 256 and
    # stays far below coverage; with independent errors (ρ = 0, the old verifier) it keeps rising.
    problems, pool, texts, errors = big_pool
    cover = pass_at_k_matrix(N, pool.correct.sum(axis=1), KS).mean(axis=0)
    shared = bon_matrix(pool.correct, errors, KS, auc=0.9, error_correlation=0.9)
    indep = bon_matrix(pool.correct, errors, KS, auc=0.9, error_correlation=0.0)
    g_shared, se_shared = _gain(shared, 3, 4)
    g_indep, se_indep = _gain(indep, 3, 4)
    assert abs(g_shared) < 0.015 and abs(g_shared) < 2 * se_shared, (g_shared, se_shared)
    assert cover[-1] - shared[:, -1].mean() > 0.15, (cover[-1], shared[:, -1].mean())
    assert g_indep > 0.02 and g_indep > 3 * se_indep, (g_indep, se_indep)


def test_weak_verifier_with_shared_errors_over_optimises(big_pool):
    # (b) AUC 0.6 and ρ = 0.9: every distinct wrong answer carries one persistent error draw, the
    # gold answer one; the more distinct wrong answers a larger N brings in, the likelier one of
    # them outscores the gold answer (the max of m shared draws grows like √(2 ln m) while the
    # separation d' = 0.36 stays put), so best-of-N peaks at small N and falls. With independent
    # errors a sample's error is not inherited by its answer, and best-of-N does not fall.
    problems, pool, texts, errors = big_pool
    weak = peak_and_drop(bon_matrix(pool.correct, errors, KS, auc=0.6, error_correlation=0.9), KS)
    assert weak.k_peak < N and weak.drop > 3 * weak.se and weak.drop > 0.05, weak
    indep = peak_and_drop(bon_matrix(pool.correct, errors, KS, auc=0.6, error_correlation=0.0), KS)
    assert indep.drop < 2 * indep.se + 1e-12, indep


def test_real_verifier_scores_show_the_same_over_optimisation(big_pool):
    # the same as (b) through NoisyVerifier.score itself, on a third of the pool
    problems, pool, texts, _ = big_pool
    sl = slice(0, 100)
    v = NoisyVerifier(auc=0.6, error_correlation=0.9, seed=0)
    scores = np.array([[s for (s,) in v.score(p, t)] for p, t in zip(problems[sl], texts[sl])])
    res = peak_and_drop(best_of_k_matrix(scores, pool.correct[sl], KS), KS)
    assert res.drop > 2 * res.se, res


@pytest.mark.parametrize("auc", [0.6, 0.8])
@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9, 1.0])
def test_marginal_auc_does_not_depend_on_rho(auc, rho):
    # (c) 1500 problems, each with 2 right and 2 wrong samples (distinct texts, one right and one
    # wrong answer): pooled AUC over all pairs; its SE here is < 0.01 even with shared errors
    probs = [Problem(id=f"toy/{i}", prompt=f"q{i}", answer="4") for i in range(1500)]
    texts = ["a #### 4", "b #### 4", "a #### 5", "b #### 5"]
    v = NoisyVerifier(auc=auc, error_correlation=rho, seed=3)
    scores = np.array([[s for (s,) in v.score(p, texts)] for p in probs])
    flags = np.tile([True, True, False, False], (len(probs), 1))
    assert abs(roc_auc(scores, flags) - auc) < 0.03
    if rho == 1.0:  # fully shared: samples with one answer get one score
        assert np.all(scores[:, 0] == scores[:, 1]) and np.all(scores[:, 2] == scores[:, 3])


def test_tpr_fpr_kept_under_shared_errors():
    probs = [Problem(id=f"toy/{i}", prompt=f"q{i}", answer="4") for i in range(1500)]
    v = NoisyVerifier(tpr=0.8, fpr=0.2, error_correlation=0.7, seed=5)
    s = np.array([[x for (x,) in v.score(p, ["a #### 4", "a #### 5", "b #### 5"])] for p in probs])
    assert abs(s[:, 0].mean() - 0.8) < 0.04 and abs(s[:, 1:].mean() - 0.2) < 0.04
    assert np.corrcoef(s[:, 1], s[:, 2])[0, 1] > 0.3  # one wrong answer, two texts: verdicts agree


def test_auc_calibration_hits_its_target(big_pool):
    problems, pool, texts, errors = big_pool
    auc = auc_for_best_of_n(0.6, pool.correct, errors, 64, error_correlation=0.5)
    got = bon_matrix(pool.correct, errors, [64], auc=auc, error_correlation=0.5).mean()
    assert 0.5 < auc < 1 and abs(got - 0.6) < 1e-3
    with pytest.raises(ValueError, match="outside"):
        auc_for_best_of_n(0.999, pool.correct, errors, 64, error_correlation=0.9)


def test_bad_correlations_are_refused():
    with pytest.raises(ValueError, match="error_correlation must be in"):
        NoisyVerifier(auc=0.7, error_correlation=1.5)
    with pytest.raises(ValueError, match="must be <= 1"):
        NoisyProcessVerifier(step_oracle, auc=0.7, error_correlation=0.6, problem_correlation=0.6)
    assert error_weights(0.0) == (1.0, 0.0, 0.0)


def test_yaml_config_builds_a_correlated_verifier():
    cfg = parse(
        {
            "task": {"name": "arithmetic", "limit": 2},
            "model": {"backend": "simulated"},
            "verifier": {"name": "noisy", "auc": 0.7, "error_correlation": 0.5},
            "strategies": [{"name": "best_of_n"}],
            "budgets": [2],
        }
    )
    v = build_verifier(cfg, None)
    assert isinstance(v, NoisyVerifier) and v.error_correlation == 0.5 and v.auc == 0.7


def _steps(values):
    return "\n\n".join(f"Step {i + 1}: some words so the running value is {v}." for i, v in enumerate(values))


def test_prm_shares_errors_by_step_claim_and_stays_prefix_stable():
    problems, gen = make_suite(2, seed=1, kind="stepwise", n_steps=4)
    p = problems[0]
    a, b = _steps([11, 22, 33, 44]), _steps([11, 22, 33, 44]).replace("some words", "other filler")
    full = NoisyProcessVerifier(step_oracle, auc=0.7, error_correlation=1.0, seed=0)
    assert full.score(p, [a])[0] == full.score(p, [b])[0]  # same claims, fully shared: same scores
    half = NoisyProcessVerifier(step_oracle, auc=0.7, error_correlation=0.5, seed=0)
    sa, sb = half.score(p, [a, b])
    assert sa != sb
    head = a.split("\n\n")[0] + "\n\n"
    assert half.score(p, [head])[0][0] == sa[0]  # a step's score depends only on the text up to it
