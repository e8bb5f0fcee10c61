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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def problems() -> list[Problem]:
    return [
        Problem(id=f"toy/{i}", prompt=f"What is {i} + {i + 1}?", answer=str(2 * i + 1), meta={"difficulty": 1 + i % 3})
        for i in range(5)
    ]
