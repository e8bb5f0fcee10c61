"""Cross-problem batching: the Coalescer merges concurrent calls, and a batched sweep equals a sequential one."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from itslab import experiments
from itslab.experiments.batching import Coalescer
from itslab.generators.simulated import step_oracle
from itslab.types import Request
from itslab.verifiers import NoisyProcessVerifier


class Recording:
    """Wraps a generator, recording the size of every call it receives."""

    def __init__(self, inner):
        self.inner, self.model_id, self.n_params = inner, inner.model_id, inner.n_params
        self.sizes, self._lock = [], threading.Lock()

    def generate(self, requests):
        with self._lock:
            self.sizes.append(len(requests))
        return self.inner.generate(requests)


def _specs():
    return [
        experiments.StrategySpec("majority_vote", {"max_tokens": 1024}),
        experiments.StrategySpec("particle_filter", {"max_steps": 8}),
        experiments.StrategySpec("beam_search", {"beam_width": 2, "max_steps": 8}),
    ]


def test_batched_sweep_equals_sequential_and_makes_fewer_larger_calls(stepwise_suite):
    problems, gen = stepwise_suite
    prm = NoisyProcessVerifier(step_oracle, noise=0.5, seed=0)
    seq, bat = Recording(gen), Recording(gen)
    a = experiments.run(problems[:8], _specs(), [1, 4], [0, 1], seq, prm, budget_axis="rollouts", progress=False)
    b = experiments.run(
        problems[:8], _specs(), [1, 4], [0, 1], bat, prm, budget_axis="rollouts", progress=False, batch_units=8
    )
    pd.testing.assert_frame_equal(a.drop(columns="wall_time"), b.drop(columns="wall_time"))
    assert sum(seq.sizes) == sum(bat.sizes)  # the same requests, grouped differently
    assert len(bat.sizes) < len(seq.sizes) / 4
    assert max(bat.sizes) >= 8


def test_coalescer_hands_each_caller_its_own_completions(stepwise_suite):
    problems, gen = stepwise_suite
    co = Coalescer(Recording(gen), 3)
    reqs = [Request(prefix=f"{p.prompt}\n", n=2, max_tokens=64, seed=i) for i, p in enumerate(problems[:3])]
    want = [gen.generate([r])[0] for r in reqs]
    got = [None] * 3

    def call(i):
        got[i] = co.generate([reqs[i]])[0]
        co.leave()

    ts = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert got == want
    assert co.calls == 1 and co.inner.sizes == [3]


def test_a_failing_batch_reaches_every_caller_and_nobody_hangs():
    class Broken:
        model_id, n_params = "broken", 0.0

        def generate(self, requests):
            raise RuntimeError("engine fell over")

    co, errors = Coalescer(Broken(), 2), []

    def call():
        try:
            co.generate([Request(prefix="x", n=1, max_tokens=4, seed=0)])
        except RuntimeError as e:
            errors.append(str(e))
        finally:
            co.leave()

    ts = [threading.Thread(target=call) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert not any(t.is_alive() for t in ts)
    assert errors == ["engine fell over"] * 2


def test_a_strategy_error_in_one_unit_is_raised_and_the_sweep_stops(stepwise_suite):
    problems, gen = stepwise_suite
    with pytest.raises(ValueError, match="batch_units"):
        experiments.run(problems[:2], ["majority_vote"], [1], [0], gen, None, batch_units=0, progress=False)
    with pytest.raises(Exception):
        # best_of_n without a verifier fails inside every unit; the first error surfaces
        experiments.run(problems[:4], ["best_of_n"], [2], [0], gen, None, batch_units=4, progress=False)
