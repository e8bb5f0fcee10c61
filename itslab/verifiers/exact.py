"""Rule-based outcome verifiers: normalised exact match and math-verify equivalence.

`ExactAnswer` compares the extracted final answer with the gold one after normalisation
(numbers, fractions, units; Hendrycks et al. 2021 style); `MathEquivalence` adds LaTeX/sympy
equivalence through Hugging Face's ``math-verify`` (``\\frac{1}{2}`` = ``0.5``, intervals,
sets). Both are oracles for problems with a gold answer (and use the task's own checker for
Countdown / Game of 24). Scores are 1.0 (correct) or 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from itslab.protocols import Scores
from itslab.tasks.checking import is_correct
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, rule_cost


@dataclass(frozen=True)
class ExactAnswer:
    """Outcome verifier: 1.0 when the extracted answer equals the gold after normalisation."""

    name: str = "exact"
    symbolic: bool = False

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """``(1.0,)`` for each correct text, ``(0.0,)`` otherwise."""
        texts = as_texts(texts, f"{type(self).__name__}.score")
        return [(1.0 if is_correct(problem, t, symbolic=self.symbolic) else 0.0,) for t in texts]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One verifier call per text; no tokens or FLOPs (a rule, not a model)."""
        return rule_cost(as_texts(texts, f"{type(self).__name__}.cost"))


@dataclass(frozen=True)
class MathEquivalence(ExactAnswer):
    """Outcome verifier: `ExactAnswer`, then math-verify LaTeX/sympy equivalence."""

    name: str = "math_equivalence"
    symbolic: bool = True
