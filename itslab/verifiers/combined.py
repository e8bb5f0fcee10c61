"""Two verifiers voting together, and how correlated their errors are (CoT + PoT verification).

Liang et al. 2024, *Improving LLM Reasoning through Scaling Inference Computation with
Collaborative Verification* (arXiv:2410.05318): a chain-of-thought (CoT) judgement and a
program-of-thought (PoT) check of the same solution fail on different solutions, so together they
verify better than either alone ("CoTnPoT"). How much better depends on how correlated their
errors are; `error_correlation` measures it (the phi coefficient of the two error indicators).

- `CombinedVerifier`: weighted mean of its parts' outcome scores; cost = the sum of their costs.
- `CorrelatedNoisyVerifier`: a 0/1 verdict at a TPR/FPR whose latent error is shared with every
  other part of the same `seed` by a share ρ (a Gaussian copula), for simulated CoT/PoT parts.
- `part_errors`, `error_correlation`: each part's errors on graded texts, and their correlation.

>>> import numpy as np
>>> round(error_correlation(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool)), 3)
0.577
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Callable, Sequence

import numpy as np

from itslab.budget import CostModel
from itslab.protocols import Scores
from itslab.rng import keyed_normal
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, model_cost, read_tokens


def _oracle(problem: Problem, text: str) -> bool:
    from itslab.tasks.checking import is_correct

    return is_correct(problem, text)


class CorrelatedNoisyVerifier:
    """Accept a correct text with probability `tpr`, a wrong one with `fpr`; errors shared across parts.

    The verdict is ``Φ(√(1-ρ)·ε_part + √ρ·ε_text) < tpr (or fpr)``, with unit normals keyed by
    (seed, problem, text) and, for ε_part, the part's name. Two parts with one seed and ρ = 0 err
    independently; with ρ = 1 their latent errors coincide (their verdicts still differ when their
    TPR/FPR do). Marginal TPR and FPR stay as set for every ρ.
    """

    def __init__(
        self,
        part: str,
        *,
        tpr: float,
        fpr: float,
        shared: float = 0.0,
        seed: int = 0,
        oracle: Callable[[Problem, str], bool] | None = None,
        cost_model: CostModel | None = None,
    ) -> None:
        for label, v in (("tpr", tpr), ("fpr", fpr), ("shared", shared)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {v!r}")
        self.part, self.tpr, self.fpr, self.shared, self.seed = part, float(tpr), float(fpr), float(shared), int(seed)
        self.oracle, self.cost_model = oracle or _oracle, cost_model
        self.name = f"{part}(tpr={tpr:g},fpr={fpr:g},rho={shared:g})"

    def _u(self, problem: Problem, text: str) -> float:
        e = math.sqrt(1.0 - self.shared) * keyed_normal(self.seed, problem.id, "part", self.part, text)
        if self.shared:
            e += math.sqrt(self.shared) * keyed_normal(self.seed, problem.id, "shared", text)
        return NormalDist().cdf(e)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """1.0 (accept) or 0.0 per text."""
        out: list[Scores] = []
        for t in as_texts(texts, f"{self.name}.score"):
            rate = self.tpr if self.oracle(problem, t) else self.fpr
            out.append((1.0 if self._u(problem, t) < rate else 0.0,))
        return out

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text, reading the prompt and the text (estimated tokens)."""
        texts = as_texts(texts, f"{self.name}.cost")
        return model_cost(len(texts), read_tokens(problem, texts), self.cost_model)


class CombinedVerifier:
    """Score = weighted mean of the parts' outcome scores (default: equal weights); all parts charged."""

    def __init__(self, parts: Sequence[Any], weights: Sequence[float] | None = None, name: str | None = None) -> None:
        if len(parts) < 1:
            raise ValueError("CombinedVerifier needs at least one part")
        w = [1.0] * len(parts) if weights is None else [float(x) for x in weights]
        if len(w) != len(parts) or min(w) < 0 or sum(w) <= 0:
            raise ValueError(f"weights must be {len(parts)} non-negative numbers with a positive sum, got {weights!r}")
        self.parts, self.weights = tuple(parts), tuple(x / sum(w) for x in w)
        self.name = name or "+".join(p.name for p in parts)

    def part_scores(self, problem: Problem, texts: Sequence[str]) -> np.ndarray:
        """Outcome score of each part, [len(texts), n_parts] (process scores: the last step)."""
        texts = as_texts(texts, f"{self.name}.part_scores")
        cols = [[float(s[-1]) for s in p.score(problem, texts)] for p in self.parts]
        return np.array(cols, dtype=float).T.reshape(len(texts), len(self.parts))

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """The weighted mean of the parts' scores, per text."""
        return [(float(row @ np.array(self.weights)),) for row in self.part_scores(problem, texts)]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """The sum of the parts' costs."""
        texts = as_texts(texts, f"{self.name}.cost")
        return sum((p.cost(problem, texts) for p in self.parts), start=Usage())


def part_errors(
    verifier: CombinedVerifier, problem: Problem, texts: Sequence[str], correct: Sequence[bool], threshold: float = 0.5
) -> np.ndarray:
    """Error flags [len(texts), n_parts]: a part errs when (its score > `threshold`) differs from `correct`."""
    accept = verifier.part_scores(problem, texts) > threshold
    return accept != np.asarray(correct, dtype=bool)[:, None]


def error_correlation(errors_a: np.ndarray, errors_b: np.ndarray) -> float:
    """Phi coefficient (Pearson correlation of two 0/1 error indicators); NaN when either is constant."""
    a, b = np.asarray(errors_a, dtype=float).ravel(), np.asarray(errors_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"error_correlation: shapes differ, {a.shape} vs {b.shape}")
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
