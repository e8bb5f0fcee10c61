"""Aggregating process (per-step) scores into one solution score.

"last", "min" and "prod" are the aggregations compared by Lightman et al. 2023 and Snell et al.
2024 ("last" works best for PRMs trained on Monte-Carlo rollouts, Math-Shepherd, Wang et al.
2024, use "min"); "mean" completes the set.

>>> aggregate([0.9, 0.5, 0.8], how="min")
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from itslab.protocols import Scores
from itslab.types import Problem, Usage

AGGREGATIONS: tuple[str, ...] = ("last", "min", "prod", "mean")


def aggregate(step_scores: Sequence[float], how: str = "last") -> float:
    """One score from per-step scores: ``last``, ``min``, ``prod`` or ``mean`` (Lightman et al. 2023)."""
    xs = [float(x) for x in step_scores]
    if not xs:
        raise ValueError("aggregate needs at least one step score, got none")
    if how == "last":
        return xs[-1]
    if how == "min":
        return min(xs)
    if how == "prod":
        return math.prod(xs)
    if how == "mean":
        return sum(xs) / len(xs)
    raise ValueError(f"unknown aggregation {how!r}; valid: {', '.join(AGGREGATIONS)}")


@dataclass(frozen=True)
class Aggregated:
    """A process verifier used as an outcome verifier: its step scores aggregated with `how`.

    Best-of-N with a PRM (Lightman et al. 2023) is best-of-N with ``Aggregated(prm, how="min")``.
    """

    verifier: Any
    how: str = "last"

    def __post_init__(self) -> None:
        if self.how not in AGGREGATIONS:
            raise ValueError(f"Aggregated.how must be one of {AGGREGATIONS}, got {self.how!r}")

    @property
    def name(self) -> str:
        """The wrapped verifier's name with the aggregation, e.g. ``prm[min]``."""
        return f"{self.verifier.name}[{self.how}]"

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """``(aggregate(step scores),)`` per text."""
        return [(aggregate(s, self.how),) for s in self.verifier.score(problem, texts)]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """The wrapped verifier's cost."""
        return self.verifier.cost(problem, texts)
