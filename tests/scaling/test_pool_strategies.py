"""Per-problem accuracy and cost of sample-based strategies from one pool."""

import numpy as np
import pytest

from itslab.scaling import majority_at_k_matrix, pass_at_k_matrix
from itslab.scaling.pool_strategies import expected_cost, strategy_accuracy, vote_weights


def pool(seed=0, p=12, n=8):
    rng = np.random.default_rng(seed)
    answers = rng.integers(0, 3, size=(p, n)).astype(str).astype(object)
    correct = answers == "0"
    return correct, answers, rng.normal(size=(p, n))


def test_best_of_n_with_perfect_scores_is_coverage():
    correct, answers, _ = pool()
    acc = strategy_accuracy(correct, answers, correct.astype(float), [1, 2, 4, 8], rng=np.random.default_rng(0))
    np.testing.assert_allclose(acc["best_of_n"], acc["pass_at_k"])
    np.testing.assert_allclose(acc["pass_at_k"], pass_at_k_matrix(8, correct.sum(axis=1), [1, 2, 4, 8]))
    ref = majority_at_k_matrix(answers, correct, [1, 2, 4, 8], rng=np.random.default_rng(0), n_mc=500)[0]
    np.testing.assert_allclose(acc["majority_vote"], ref)


def test_vote_weights_keep_probabilities_and_exponentiate_logprobs():
    p = np.array([[0.2, 0.9]])
    assert vote_weights(p) is not None and np.array_equal(vote_weights(p), p)
    w = vote_weights(np.array([[-1.0, -3.0]]))
    np.testing.assert_allclose(w, [[1.0, np.exp(-2.0)]])


def test_expected_cost_is_fixed_plus_k_times_mean_unit():
    u = np.array([[1.0, 3.0], [2.0, 2.0]])
    np.testing.assert_allclose(expected_cost(u, [1, 2], fixed=[10.0, 0.0]), [[12, 14], [2, 4]])


def test_unknown_strategy_and_missing_scores_raise():
    correct, answers, _ = pool()
    with pytest.raises(ValueError, match="unknown"):
        strategy_accuracy(correct, answers, None, [1], strategies=("beam",))
    with pytest.raises(ValueError, match="need scores"):
        strategy_accuracy(correct, answers, None, [1], strategies=("best_of_n",))
