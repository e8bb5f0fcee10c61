"""`itslab.toys.tasks`: the synthetic population's calibrated base model, and the base model read
from a recorded bank's answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from itslab.toys.policy import log_probs, pass_at_n
from itslab.toys.tasks import bank_answer_distribution, synthetic_task, task_from_bank


def test_the_base_model_is_calibrated(rng):
    # the right answer is a draw from the base distribution: P(candidate k right) = pi_k, so the
    # mean probability on the right answer equals the mean over problems of sum_k pi_k^2
    task = synthetic_task(20_000, rng, n_candidates=8, n_features=2, spread=1.0)
    pi = np.exp(log_probs(task, np.zeros(2)))
    p = (pi * task.correct).sum(axis=1)
    assert p.mean() == pytest.approx((pi**2).sum(axis=1).mean(), abs=0.01)  # SE about 0.002


def test_features_confidence_cue_and_memory(rng):
    task = synthetic_task(2000, rng, n_candidates=4, n_features=10, signal=2.0, memory=3.0)
    f = task.features
    assert np.array_equal(f[:, :, 0], task.base_logits)  # the confidence coordinate
    cue = f[:, :, 1]
    assert cue[task.correct].mean() - cue[~task.correct].mean() == pytest.approx(2.0, abs=0.1)
    assert (f[:, :, 2:] ** 2).sum(axis=2).mean() == pytest.approx(9.0, rel=0.05)
    with pytest.raises(ValueError, match="n_features >= 2"):
        synthetic_task(3, rng, n_features=1)


def test_same_rng_same_base_model_whatever_the_features(rng):
    a = synthetic_task(5, np.random.default_rng(3), n_features=2)
    b = synthetic_task(5, np.random.default_rng(3), n_features=50, signal=3.0)
    assert np.array_equal(a.base_logits, b.base_logits) and np.array_equal(a.correct, b.correct)


def _bank():
    answers = np.array([["4", "4", "5", None], ["7", "8", "8", "9"]], dtype=object)
    correct = np.array([[True, True, False, False], [False, False, False, False]])
    return SimpleNamespace(answers=answers, correct=correct)


def test_bank_answer_distribution_by_hand():
    logp, right = bank_answer_distribution(_bank(), smoothing=0.5)
    p = np.exp(logp)
    # problem 0: answers 4 (x2, right), 5, no answer: (2.5, 1.5, 1.5) / 5.5; a padded slot
    assert p[0] == pytest.approx([2.5 / 5.5, 1.5 / 5.5, 1.5 / 5.5, 0.0])
    assert right[0].tolist() == [True, False, False, False]
    # problem 1: 7, 8 (x2), 9 and the unseen right answer with count 0: (1.5, 2.5, 1.5, 0.5) / 6
    assert p[1] == pytest.approx([1.5 / 6, 2.5 / 6, 1.5 / 6, 0.5 / 6])
    assert right[1].tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="smoothing = 0"):
        bank_answer_distribution(_bank(), smoothing=0)


def test_task_from_bank_keeps_the_measured_distribution(rng):
    task = task_from_bank(_bank(), rng, n_features=4)
    logp, right = bank_answer_distribution(_bank())
    assert np.exp(log_probs(task, np.zeros(4))) == pytest.approx(np.exp(logp))
    assert pass_at_n(task, np.zeros(4), [1])[:, 0] == pytest.approx([2.5 / 5.5, 0.5 / 6])
    assert np.all(task.features[~np.isfinite(logp)] == 0)


def test_task_from_a_real_bank():
    from itslab import banks

    bank = banks.load("arith-qwen05-t0.7")
    logp, right = bank_answer_distribution(bank)
    assert logp.shape[0] == 100 and right.any(axis=1).all()
    # plug-in pass@1 of the smoothed distribution sits near the bank's measured pass@1 (38 %)
    p1 = (np.exp(logp) * right).sum(axis=1).mean()
    assert 0.3 < p1 < bank.correct.mean() + 0.01
