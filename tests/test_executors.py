"""The Ray executor gives the same frame as the local one, on a local ``ray.init(num_cpus=2)``."""

from __future__ import annotations

import contextlib
import gc
import os
import warnings

import pandas as pd
import pytest

from itslab import experiments
from itslab.generators.simulated import make_suite, step_oracle
from itslab.verifiers import NoisyProcessVerifier

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")  # a dependency of ray


@pytest.fixture(scope="module")
def local_ray():
    # workers import the factories below from this test module, as a user's workers import theirs
    path = os.pathsep.join(x for x in (os.path.dirname(__file__), os.environ.get("PYTHONPATH")) if x)
    # Ray waits a hard-coded 30 s for its raylet (ray/_private/node.py, not configurable); on a loaded
    # 2-core CI machine the start once ran past it and failed the run, so a timed-out start is retried
    # after its half-started processes are killed and reaped (else their Popen objects warn later).
    for attempt in range(3):
        before = {c.pid for c in psutil.Process().children(recursive=True)}
        try:
            ray.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}}
            )
            break
        except Exception as e:  # Ray raises a bare Exception for this
            ray.shutdown()
            if "timed out during startup" not in str(e) or attempt == 2:
                raise
        # outside the except block, so the traceback no longer holds the half-made node's Popen objects
        stray = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
        for c in stray:
            with contextlib.suppress(psutil.NoSuchProcess):
                c.kill()
        psutil.wait_procs(stray, timeout=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    yield
    ray.shutdown()


def _suite():
    return make_suite(6, seed=0, kind="stepwise")


SPECS = [
    experiments.StrategySpec("majority_vote", {"max_tokens": 1024}),
    experiments.StrategySpec("best_of_n", {"max_tokens": 1024, "agg": "last"}),
    experiments.StrategySpec("particle_filter", {"max_steps": 8}),
]


def test_ray_frame_equals_local_for_the_same_seeds(local_ray, tmp_path):
    problems, gen = _suite()
    prm = NoisyProcessVerifier(step_oracle, noise=0.5, seed=0)
    local = experiments.run(problems, SPECS, [1, 2, 4], [0, 1], gen, prm, budget_axis="rollouts", progress=False)
    # instances are shipped to the workers; the frame is reassembled in unit order
    shipped = experiments.run(
        problems,
        SPECS,
        [1, 2, 4],
        [0, 1],
        gen,
        prm,
        budget_axis="rollouts",
        progress=False,
        executor="ray",
        keep_results=True,
    )
    # factories build one generator and verifier per worker (how in-process engines load weights)
    built = experiments.run(
        problems,
        SPECS,
        [1, 2, 4],
        [0, 1],
        lambda: _suite()[1],
        lambda g: NoisyProcessVerifier(step_oracle, noise=0.5, seed=0),
        budget_axis="rollouts",
        progress=False,
        executor="ray",
        ray_workers=2,
    )
    # wall_time is measured, not computed: everything else must match exactly
    want = local.drop(columns="wall_time")
    pd.testing.assert_frame_equal(want, shipped.drop(columns="wall_time"))
    pd.testing.assert_frame_equal(want, built.drop(columns="wall_time"))
    assert len(shipped.attrs["results"]) == len(shipped)


def test_ray_workers_share_a_store_and_a_rerun_generates_nothing(local_ray, tmp_path):
    from itslab.generators.store import SampleStore

    problems, gen = _suite()
    prm = NoisyProcessVerifier(step_oracle, noise=0.5, seed=0)
    path = tmp_path / "samples.db"
    first = experiments.run(
        problems,
        SPECS[:1],
        [4],
        [0],
        gen,
        prm,
        budget_axis="rollouts",
        progress=False,
        executor="ray",
        store=SampleStore(path),
    )
    with SampleStore(path) as store:
        n = store.count()
    again = experiments.run(
        problems,
        SPECS[:1],
        [4],
        [0],
        gen,
        prm,
        budget_axis="rollouts",
        progress=False,
        executor="ray",
        store=SampleStore(path),
    )
    pd.testing.assert_frame_equal(first.drop(columns="wall_time"), again.drop(columns="wall_time"))
    with SampleStore(path) as store:
        assert store.count() == n == 6 * 4  # every sample once: the rerun was served from the store
