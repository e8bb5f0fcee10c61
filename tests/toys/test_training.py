"""`itslab.toys.training`: gradient descent, checkpoints, and the curves through them (exact and
measured by the library's unbiased estimators)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.toys import losses
from itslab.toys.policy import pass_at_n
from itslab.toys.tasks import synthetic_task
from itslab.toys.training import checkpoint_curves, gradient, train


@pytest.fixture
def task(rng):
    return synthetic_task(40, rng, n_candidates=8, n_features=6, signal=1.5)


def test_descent_lowers_the_loss_and_keeps_checkpoints(task):
    run = train(task, losses.cross_entropy(), steps=50, lr=0.5, checkpoints=[0, 10, 50])
    assert run.checkpoints == (0, 10, 50) and run.weights.shape == (3, 6)
    assert np.all(run.at(0) == 0)
    assert run.trace["loss"].iloc[-1] < run.trace["loss"].iloc[0]
    assert len(run.trace) == 50
    # the step-0 loss is the base model's
    assert run.trace["loss"].iloc[0] == pytest.approx(gradient(task, losses.cross_entropy(), np.zeros(6))[0])


def test_one_step_is_one_gradient_step(task):
    run = train(task, losses.direct_coverage(8), steps=1, lr=0.3)
    _, g = gradient(task, losses.direct_coverage(8), np.zeros(6))
    assert run.final == pytest.approx(-0.3 * g)


def test_same_rng_same_run_for_a_sampled_loss(task):
    loss = losses.reinforce_best_of_n(4, n_groups=3)
    a = train(task, loss, steps=5, lr=0.5, rng=np.random.default_rng(1))
    b = train(task, loss, steps=5, lr=0.5, rng=np.random.default_rng(1))
    assert np.array_equal(a.weights, b.weights)
    with pytest.raises(ValueError, match="samples; pass an rng"):
        train(task, loss, steps=5, lr=0.5)


def test_bad_protocol_is_named(task):
    with pytest.raises(ValueError, match="lr > 0"):
        train(task, losses.cross_entropy(), steps=5, lr=0)
    with pytest.raises(ValueError, match=r"checkpoints must lie in 0\.\.5"):
        train(task, losses.cross_entropy(), steps=5, lr=1, checkpoints=[7])
    run = train(task, losses.cross_entropy(), steps=2, lr=1)
    with pytest.raises(ValueError, match="no checkpoint at step 1"):
        run.at(1)


def test_curves_exact_and_measured_agree(task, rng):
    run = train(task, losses.cross_entropy(), steps=20, lr=0.5, checkpoints=[0, 20])
    ns = [1, 4, 16]
    c = checkpoint_curves(run, task, ns, n_samples=64, rng=rng)
    passes = c[c.metric == "pass@k"]
    assert set(c.metric) == {"pass@k", "bon@k", "confidence"}
    last = passes[passes.step == 20].set_index("k")["value"]
    assert last.to_numpy() == pytest.approx(pass_at_n(task, run.final, ns).mean(axis=0))
    # the unbiased estimator from 64 samples per problem lands within 4 of its SEs of the exact value
    z = (passes["measured"] - passes["value"]).abs() / passes["measured_se"]
    assert (z < 4).all()
    with pytest.raises(ValueError, match="n_samples >= max"):
        checkpoint_curves(run, task, [1, 128], n_samples=64, rng=rng)
