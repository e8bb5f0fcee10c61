"""`itslab.toys.losses`: every loss's gradient against finite differences, and the known answers
that tie them together (capped CE = CE below the cap, DCO at n = 1 = CE, the BoN objective at
n = 1 = the expected reward and with an oracle = pass@n, REINFORCE unbiased)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.toys import losses
from itslab.toys.policy import AnswerTask, best_of_n, log_p_correct, log_probs, pass_at_n
from itslab.toys.tasks import synthetic_task
from itslab.toys.training import gradient

DETERMINISTIC = [
    losses.cross_entropy(),
    losses.capped_cross_entropy(0.3),
    losses.direct_coverage(1),
    losses.direct_coverage(8),
    losses.direct_coverage(256),
    losses.best_of_n_objective(1),
    losses.best_of_n_objective(4),
    losses.best_of_n_objective(32),
]


@pytest.fixture
def task(rng):
    return synthetic_task(12, rng, n_candidates=6, n_features=5, spread=1.5)


def _mean_loss(task, loss, w):
    return float(loss(task, log_probs(task, w))[0].mean())


@pytest.mark.parametrize("loss", DETERMINISTIC, ids=lambda x: x.label)
def test_gradient_matches_finite_differences(task, loss, rng):
    w = rng.normal(size=task.n_features) * 0.5
    _, g = gradient(task, loss, w)
    eps = 1e-6
    fd = np.array(
        [
            (_mean_loss(task, loss, w + eps * e) - _mean_loss(task, loss, w - eps * e)) / (2 * eps)
            for e in np.eye(len(w))
        ]
    )
    assert g == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_capped_equals_ce_below_the_cap_and_stops_above(task, rng):
    w = rng.normal(size=task.n_features) * 0.5
    logpi = log_probs(task, w)
    p = np.exp(log_p_correct(task, logpi))
    cap = float(np.median(p))
    ce_v, ce_g = losses.cross_entropy()(task, logpi)
    cap_v, cap_g = losses.capped_cross_entropy(cap)(task, logpi)
    below = p < cap
    assert below.any() and (~below).any()
    assert cap_v[below] == pytest.approx(ce_v[below]) and cap_g[below] == pytest.approx(ce_g[below])
    assert cap_v[~below] == pytest.approx(-np.log(cap)) and np.all(cap_g[~below] == 0)


def test_cap_of_one_is_ce(task, rng):
    logpi = log_probs(task, rng.normal(size=task.n_features))
    for a, b in zip(losses.capped_cross_entropy(1.0)(task, logpi), losses.cross_entropy()(task, logpi)):
        assert a == pytest.approx(b)


def test_dco_at_one_is_ce_and_its_value_is_minus_log_pass_at_n(task, rng):
    w = rng.normal(size=task.n_features)
    logpi = log_probs(task, w)
    for a, b in zip(losses.direct_coverage(1)(task, logpi), losses.cross_entropy()(task, logpi)):
        assert a == pytest.approx(b)
    value, _ = losses.direct_coverage(16)(task, logpi)
    assert value == pytest.approx(-np.log(pass_at_n(task, w, [16])[:, 0]))


def test_coverage_factor_known_values():
    # F(n, p) = n p (1-p)^(n-1) / (1 - (1-p)^n): 1 at n = 1, -> 1 as p -> 0, 0 at p = 1
    assert losses.coverage_factor(1, np.array([0.3])) == pytest.approx([1.0])
    assert losses.coverage_factor(2, np.array([0.5])) == pytest.approx([2 * 0.5 * 0.5 / 0.75])
    assert losses.coverage_factor(64, np.array([1e-12, 1.0])) == pytest.approx([1.0, 0.0])
    assert losses.coverage_cap(32) * 32 == pytest.approx(1.264, abs=1e-3)
    assert losses.coverage_factor(32, np.array([losses.coverage_cap(32)])) == pytest.approx([0.5])


def test_dco_is_finite_at_extreme_confidence():
    b = np.array([[0.0, -800.0], [0.0, 800.0]])  # p = 1 and p = e^-800 (underflows)
    task = AnswerTask(b, np.zeros((2, 2, 1)), np.array([[True, False], [True, False]]))
    value, g = losses.direct_coverage(32)(task, log_probs(task, np.zeros(1)))
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(g))
    assert value[0] == pytest.approx(0.0) and value[1] == pytest.approx(800 - np.log(32))


def test_bon_objective_at_one_is_expected_reward_and_with_oracle_is_pass_at_n(task, rng):
    w = rng.normal(size=task.n_features)
    logpi = log_probs(task, w)
    value, _ = losses.best_of_n_objective(1)(task, logpi)
    assert -value == pytest.approx((np.exp(logpi) * task.correct).sum(axis=1))
    value, _ = losses.best_of_n_objective(8)(task, logpi)
    assert -value == pytest.approx(best_of_n(task, w, [8])[:, 0])
    oracle = AnswerTask(task.base_logits, task.features, task.correct)
    value, _ = losses.best_of_n_objective(8)(oracle, logpi)
    assert -value == pytest.approx(pass_at_n(oracle, w, [8])[:, 0])


def test_reinforce_is_unbiased(rng):
    task = synthetic_task(4, rng, n_candidates=5, n_features=3, spread=1.0)
    logpi = log_probs(task, rng.normal(size=3))
    exact_value, exact = losses.best_of_n_objective(4)(task, logpi)
    value, est = losses.reinforce_best_of_n(4, n_groups=4000)(task, logpi, rng)
    # 4000 groups: the reward's SE is below 0.008 and the gradient's per logit below 0.01; 0.03 is over 3 SE
    assert value == pytest.approx(exact_value, abs=0.03)
    assert est == pytest.approx(exact, abs=0.03)


def test_reinforce_needs_an_rng_and_two_groups(task):
    logpi = log_probs(task, np.zeros(task.n_features))
    with pytest.raises(ValueError, match="needs an rng"):
        losses.reinforce_best_of_n(4)(task, logpi)
    with pytest.raises(ValueError, match="n_groups must be >= 2"):
        losses.reinforce_best_of_n(4, n_groups=1)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.get("nope"), "unknown loss 'nope'; valid: cross_entropy"),
        (lambda: losses.direct_coverage(0), "positive integer"),
        (lambda: losses.best_of_n_objective(2.5), "positive integer"),
        (lambda: losses.capped_cross_entropy(0.0), r"cap must be in \(0, 1\]"),
    ],
)
def test_bad_hyper_parameters_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_get_and_labels():
    assert losses.get("direct_coverage", n=256).label == "direct_coverage(n=256)"
    assert losses.get("cross_entropy").label == "cross_entropy"
