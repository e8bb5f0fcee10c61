"""Shortest Majority Vote (Zeng et al. 2025, "Revisiting the Test-Time Scaling of o1-like Models",
arXiv:2502.12215): majority voting that prefers answers reached by shorter solutions.

Zeng et al. find that an o1-like model's correct solutions are often shorter than its wrong ones
for the same question, and fold that into the vote: solutions are grouped by final answer, and
group i with c_i solutions of mean length l_i scores ``c_i / log(l_i)`` (our reading of their
method section; the paper's text was not re-read here). Lengths below 2 tokens count as 2, so the
logarithm stays positive. Ties go to the answer seen first, as in `majority_vote`.

>>> shortest_majority(["7", "9", "9", "7"], [100, 900, 800, 120])[0]
'7'
>>> shortest_majority(["7", "9", "9", "9"], [100, 900, 800, 700])[0]
'9'
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.sampling import _tally, _vote, pooled_vote
from itslab.trace import Result
from itslab.types import Problem

VOTES = ("majority", "shortest_majority")


def shortest_majority(
    answers: Sequence[str | None], lengths: Sequence[float], problem: Problem | None = None
) -> tuple[str | None, dict[str, Any]]:
    """Zeng et al.'s Shortest Majority Vote: the answer maximising count / log(mean length) (arXiv:2502.12215)."""
    if len(answers) != len(lengths):
        raise ValueError(f"shortest_majority: {len(answers)} answers but {len(lengths)} lengths")
    count, total, first = _tally(answers, lengths, problem)
    if not count:
        return None, {"n_classes": 0}
    score = {c: count[c] / math.log(max(2.0, total[c] / count[c])) for c in count}
    best = max(score, key=lambda c: (score[c], -first[c]))
    return answers[first[best]], {
        "n_classes": len(count),
        "winner_votes": count[best],
        "winner_mean_length": total[best] / count[best],
        "winner_score": score[best],
    }


def select(
    vote: str, answers: Sequence[str | None], lengths: Sequence[float], problem: Problem | None = None
) -> tuple[str | None, dict[str, Any]]:
    """The final answer by `vote` ("majority" or "shortest_majority") and what the vote saw."""
    if vote == "majority":
        return _vote(answers, [1.0] * len(answers), problem)
    if vote == "shortest_majority":
        return shortest_majority(answers, lengths, problem)
    raise ValueError(f"vote must be one of {VOTES}, got {vote!r}")


@register("shortest_majority_vote")
def shortest_majority_vote(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Sample N solutions and return Zeng et al.'s shortest-majority answer (arXiv:2502.12215)."""
    return pooled_vote(
        "shortest_majority_vote",
        problem,
        generator,
        budget,
        rng,
        lambda cands, pool: shortest_majority([c.answer for c in cands], [c.n_tokens for c in pool], problem),
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
    )
