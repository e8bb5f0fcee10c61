"""Shared bits of the step-level strategy tests: a stepwise suite, PRMs, a request-recording generator."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from itslab.types import Completion, Request


@lru_cache(maxsize=None)
def stepwise_suite(n_problems: int = 12, seed: int = 0, **params: Any):
    """(problems, StepwiseSimGenerator) from `make_suite`."""
    from itslab.generators.simulated import make_suite

    return make_suite(n_problems, seed=seed, kind="stepwise", **params)


def noisy_prm(noise: float, seed: int = 0):
    """The simulated PRM: per-step scores from the simulator's step oracle, logit noise `noise`."""
    from itslab.generators.simulated import step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    return NoisyProcessVerifier(step_oracle, noise=noise, seed=seed)


class Recorder:
    """Wraps a generator and records every `generate` call's requests (one list per call)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[Request]] = []
        self.model_id, self.n_params = inner.model_id, inner.n_params

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        self.calls.append(list(requests))
        return self.inner.generate(requests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
