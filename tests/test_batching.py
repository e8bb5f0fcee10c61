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


class Concurrent(Recording):
    """A generator that says it batches concurrent calls itself: records how many overlap."""

    admits_concurrent_calls = True

    def __init__(self, inner):
        super().__init__(inner)
        self.inside = self.most = 0
        self.arrived = threading.Barrier(2)

    def generate(self, requests):
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            try:
                self.arrived.wait(timeout=2)  # hold the first two calls until both are inside
            except threading.BrokenBarrierError:
                pass
            return super().generate(requests)
        finally:
            with self._lock:
                self.inside -= 1


def test_an_engine_that_batches_concurrent_calls_gets_them_without_a_coalescer(stepwise_suite):
    problems, gen = stepwise_suite
    prm = NoisyProcessVerifier(step_oracle, noise=0.5, seed=0)
    seq, con = Recording(gen), Concurrent(gen)
    a = experiments.run(problems[:6], _specs(), [1, 4], [0], seq, prm, budget_axis="rollouts", progress=False)
    b = experiments.run(
        problems[:6], _specs(), [1, 4], [0], con, prm, budget_axis="rollouts", progress=False, batch_units=3
    )
    pd.testing.assert_frame_equal(a.drop(columns="wall_time"), b.drop(columns="wall_time"))
    # the calls came one unit at a time (no merging), and two were inside the engine at once
    assert sorted(con.sizes) == sorted(seq.sizes) and con.most >= 2


def test_engine_counter_counts_overlapping_calls_once():
    import time

    from itslab.experiments.pool_memo import EngineCounter

    class Slow:
        model_id, n_params, admits_concurrent_calls = "slow", 0.0, True

        def generate(self, requests):
            time.sleep(0.3)
            return [[] for _ in requests]

    counter = EngineCounter(Slow())
    assert counter.admits_concurrent_calls
    assert not EngineCounter(Recording(Slow())).admits_concurrent_calls  # only what the engine says
    ts = [threading.Thread(target=counter.generate, args=([Request("x", n=1, max_tokens=1)],)) for _ in range(3)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    wall = time.perf_counter() - t0
    assert counter.calls == 3 and 0.3 <= counter.seconds <= wall  # summed, it would be 0.9 s or more
