"""`itslab.toys.policy`: the softmax answer policy's exact pass@N and best-of-N against hand
computations and Monte Carlo, sampling, and validation."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.toys.policy import AnswerTask, best_of_n, log_probs, pass_at_n, sample_answers
from itslab.toys.tasks import synthetic_task


def _task(probs, correct, scores=None, d=1):
    probs = np.asarray(probs, float)
    with np.errstate(divide="ignore"):
        b = np.log(probs)
    return AnswerTask(b, np.zeros(probs.shape + (d,)), np.asarray(correct, bool), scores)


def test_pass_at_n_by_hand():
    t = _task([[0.5, 0.25, 0.25], [0.1, 0.9, 0.0]], [[True, False, False], [True, False, False]])
    got = pass_at_n(t, np.zeros(1), [1, 2, 3])
    assert got[0] == pytest.approx([0.5, 0.75, 0.875])
    assert got[1] == pytest.approx([0.1, 0.19, 1 - 0.9**3])


def test_padded_candidate_has_no_mass():
    t = _task([[0.5, 0.0, 0.5]], [[True, False, False]])
    assert np.exp(log_probs(t, np.zeros(1)))[0] == pytest.approx([0.5, 0.0, 0.5])


def test_best_of_n_by_hand():
    # scores order the candidates 1 < 2 < 0; the verifier prefers the wrong candidate 0
    t = _task([[0.2, 0.5, 0.3]], [[False, True, False]], scores=[[3.0, 1.0, 2.0]])
    # best of 2 is correct iff both draws are candidate 1 (the lowest score)
    assert best_of_n(t, np.zeros(1), [1, 2])[0] == pytest.approx([0.5, 0.25])


def test_best_of_n_with_an_oracle_is_pass_at_n(rng):
    task = synthetic_task(50, rng, n_candidates=8, n_features=4)
    oracle = AnswerTask(task.base_logits, task.features, task.correct)  # scores default to correctness
    w = rng.normal(size=4)
    ns = [1, 3, 17]
    assert best_of_n(oracle, w, ns) == pytest.approx(pass_at_n(oracle, w, ns))


def test_best_of_n_matches_monte_carlo(rng):
    task = synthetic_task(6, rng, n_candidates=5, n_features=3)
    w = rng.normal(size=3)
    n, draws = 4, 40_000
    exact = best_of_n(task, w, [n])[:, 0]
    idx = sample_answers(task, w, n * draws, rng).reshape(6, draws, n)
    scores = np.take_along_axis(task.scores[:, None, :].repeat(draws, 1), idx, axis=2)
    pick = np.take_along_axis(idx, scores.argmax(axis=2)[..., None], axis=2)[..., 0]
    mc = np.take_along_axis(task.correct, pick, axis=1).mean(axis=1)
    assert mc == pytest.approx(exact, abs=0.012)  # 4.5 SE at 40,000 draws


def test_sample_answers_frequencies(rng):
    t = _task([[0.5, 0.0, 0.2, 0.3]], [[True, False, False, False]])
    idx = sample_answers(t, np.zeros(1), 50_000, rng)
    freq = np.bincount(idx[0], minlength=4) / 50_000
    assert freq[1] == 0.0
    assert freq == pytest.approx([0.5, 0.0, 0.2, 0.3], abs=0.01)  # 4.5 SE


def test_subset_keeps_rows(rng):
    task = synthetic_task(10, rng, n_candidates=4, n_features=3)
    sub = task.subset([3, 7])
    assert np.array_equal(sub.base_logits, task.base_logits[[3, 7]])
    assert np.array_equal(sub.scores, task.scores[[3, 7]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(base_logits=np.zeros((2, 3)), features=np.zeros((2, 3, 1)), correct=np.zeros((2, 3), bool)),
            "no correct",
        ),
        (dict(base_logits=np.zeros((2, 3)), features=np.zeros((2, 2, 1)), correct=np.ones((2, 3), bool)), "features"),
        (dict(base_logits=np.zeros((2, 3)), features=np.zeros((2, 3, 1)), correct=np.ones((2, 3))), "boolean"),
        (
            dict(base_logits=np.full((1, 2), np.nan), features=np.zeros((1, 2, 1)), correct=np.ones((1, 2), bool)),
            "finite",
        ),
    ],
)
def test_bad_task_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AnswerTask(**kwargs)


def test_bad_weights_and_ns_are_named():
    t = _task([[0.5, 0.5]], [[True, False]])
    with pytest.raises(ValueError, match=r"w must have shape \(1,\)"):
        pass_at_n(t, np.zeros(2), [1])
    with pytest.raises(ValueError, match="positive integers"):
        pass_at_n(t, np.zeros(1), [0])
