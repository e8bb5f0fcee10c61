"""Shared fixtures: a seeded rng, a handful of problems, and (when available) simulated backends."""

from __future__ import annotations

import os

import numpy as np
import pytest

from itslab.types import Problem

# Tests run offline against the shared benchmark copies when they sit beside the checkout.
_SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if not os.environ.get("ITSLAB_DATA_DIR") and os.path.isdir(_SHARED):
    os.environ["ITSLAB_DATA_DIR"] = os.path.abspath(_SHARED)
# torch's OpenMP threads spin against any other busy process (a notebook kernel, a server under
# test); one thread keeps the small-model tests predictable
os.environ.setdefault("ITSLAB_NUM_THREADS", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def problems() -> list[Problem]:
    return [
        Problem(id=f"toy/{i}", prompt=f"What is {i} + {i + 1}?", answer=str(2 * i + 1), meta={"difficulty": 1 + i % 3})
        for i in range(5)
    ]


@pytest.fixture(scope="session")
def sim_suite():
    """20 simulated problems and the outcome simulator that answers them (seed 0)."""
    from itslab.generators.simulated import make_suite

    return make_suite(20, seed=0, kind="outcome", mean_tokens=40.0)


@pytest.fixture(scope="session")
def stepwise_suite():
    """20 simulated step-by-step problems and the stepwise simulator (seed 0)."""
    from itslab.generators.simulated import make_suite

    return make_suite(20, seed=0, kind="stepwise")


@pytest.fixture(scope="session")
def oracle_verifier():
    """A perfect outcome verifier: 1 when the extracted answer equals the gold one."""
    from itslab.verifiers import ExactAnswer

    return ExactAnswer()


@pytest.fixture(scope="session")
def noisy_verifier():
    """An outcome verifier with TPR 0.8 and FPR 0.2 (deterministic per candidate, seed 0)."""
    from itslab.verifiers import NoisyVerifier

    return NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
