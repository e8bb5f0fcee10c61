"""NoisyVerifier hits its TPR/FPR and AUC; the simulated PRM is deterministic, prefix-stable and calibrated."""

import numpy as np
import pytest

from itslab.budget import CostModel
from itslab.types import Problem
from itslab.verifiers import NoisyProcessVerifier, NoisyVerifier
from itslab.verifiers.base import approx_tokens

N = 2000  # texts per class; a rate's standard error is <= sqrt(0.25 / 2000) = 0.011
P = Problem(id="toy/noisy", prompt="What is 2 + 2?", answer="4")


def fake_oracle(problem, text):
    return text.startswith("good")  # our own oracle: no dependence on the simulated generator


def fake_step_oracle(problem, text):
    # "ok" steps stay correct until the first "bad" step; everything after it is wrong
    flags, alive = [], True
    for step in text.split("\n\n"):
        alive = alive and not step.startswith("bad")
        flags.append(alive)
    return flags


GOOD = [f"good {i}" for i in range(N)]
BAD = [f"bad {i}" for i in range(N)]


def _auc(pos, neg):
    # Mann-Whitney estimate of P(score(pos) > score(neg)), ties counted half
    pos, neg = np.asarray(pos), np.sort(np.asarray(neg))
    lo, hi = np.searchsorted(neg, pos, "left"), np.searchsorted(neg, pos, "right")
    return float((lo + 0.5 * (hi - lo)).sum() / (len(pos) * len(neg)))


@pytest.mark.parametrize("tpr,fpr", [(0.9, 0.1), (0.6, 0.3), (1.0, 0.0)])
def test_tpr_fpr_within_tolerance(tpr, fpr):
    v = NoisyVerifier(fake_oracle, tpr=tpr, fpr=fpr, seed=1)
    got_tpr = np.mean([s for (s,) in v.score(P, GOOD)])
    got_fpr = np.mean([s for (s,) in v.score(P, BAD)])
    assert abs(got_tpr - tpr) < 0.04 and abs(got_fpr - fpr) < 0.04  # ~3.5 standard errors


@pytest.mark.parametrize("auc", [0.6, 0.75, 0.9])
def test_auc_within_tolerance(auc):
    v = NoisyVerifier(fake_oracle, auc=auc, seed=2)
    pos = [s for (s,) in v.score(P, GOOD)]
    neg = [s for (s,) in v.score(P, BAD)]
    assert abs(_auc(pos, neg) - auc) < 0.025  # AUC's standard error here is < 0.007
    assert all(0.0 < s < 1.0 for s in pos + neg)


def test_same_candidate_same_score_any_order():
    v = NoisyVerifier(fake_oracle, auc=0.7, seed=3)
    texts = ["good a", "bad b", "good c"]
    first = v.score(P, texts)
    assert v.score(P, texts[::-1]) == first[::-1]
    assert v.score(P, ["good c"]) == [first[2]]
    assert NoisyVerifier(fake_oracle, auc=0.7, seed=4).score(P, texts) != first
    other = Problem(id="toy/other", prompt=P.prompt, answer="4")
    assert v.score(other, texts) != first


def test_bad_configuration():
    with pytest.raises(ValueError, match="either tpr/fpr or auc"):
        NoisyVerifier(fake_oracle, tpr=0.9, auc=0.8)
    with pytest.raises(ValueError, match="tpr must be a probability"):
        NoisyVerifier(fake_oracle, tpr=1.5)
    with pytest.raises(ValueError, match=r"auc must be in \(0, 1\)"):
        NoisyVerifier(fake_oracle, auc=1.0)


def test_default_oracle_is_the_task_check():
    v = NoisyVerifier(tpr=1.0, fpr=0.0)
    assert v.score(P, ["#### 4", "#### 5"]) == [(1.0,), (0.0,)]


def test_cost_counts_prompt_and_text_tokens():
    v = NoisyVerifier(fake_oracle, tpr=0.9, fpr=0.1, cost_model=CostModel(verifier_params=1e6))
    u = v.cost(P, ["good", "bad one"])
    n = 2 * approx_tokens(P.prompt) + approx_tokens("good") + approx_tokens("bad one")
    assert (u.verifier_calls, u.verifier_tokens, u.verifier_flops) == (2, n, 2e6 * n)


def test_prm_scores_one_per_step_and_prefix_stable():
    prm = NoisyProcessVerifier(fake_step_oracle, noise=1.0, bias=0.0, seed=5)
    full = "ok 1\n\nok 2\n\nbad 3\n\nok 4"
    (scores,) = prm.score(P, [full])
    assert len(scores) == 4
    (partial,) = prm.score(P, ["ok 1\n\nok 2"])
    assert partial == scores[:2]  # extending a solution never changes earlier step scores
    assert prm.score(P, [full]) == [scores]


def test_prm_step_auc_and_bias():
    ok = [f"ok {i}" for i in range(N)]
    bad = [f"bad {i}" for i in range(N)]
    prm = NoisyProcessVerifier(fake_step_oracle, noise=1.5, auc=0.8, seed=6)
    pos = [s[0] for s in prm.score(P, ok)]
    neg = [s[0] for s in prm.score(P, bad)]
    assert abs(_auc(pos, neg) - 0.8) < 0.025
    optimistic = NoisyProcessVerifier(fake_step_oracle, noise=1.0, bias=2.0, seed=6)
    assert np.mean([s[0] for s in optimistic.score(P, bad)]) > np.mean(neg) + 0.2
    noiseless = NoisyProcessVerifier(fake_step_oracle, noise=0.0, separation=4.0)
    assert noiseless.score(P, ["ok\n\nbad"]) == [
        (pytest.approx(1 / (1 + np.exp(-2))), pytest.approx(1 / (1 + np.exp(2))))
    ]


def test_prm_rejects_bad_arguments():
    with pytest.raises(TypeError, match="step_oracle must be callable"):
        NoisyProcessVerifier(None)
    with pytest.raises(ValueError, match="auc needs noise > 0"):
        NoisyProcessVerifier(fake_step_oracle, noise=0.0, auc=0.7)
