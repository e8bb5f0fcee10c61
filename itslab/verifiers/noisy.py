"""Imperfect verifiers simulated from an oracle: given TPR/FPR, given ROC AUC, or a noisy PRM.

These drive the imperfect-verifier studies: with a verifier of false-positive rate > 0,
resampling until the verifier accepts has an accuracy ceiling (Stroebl, Kapoor & Narayanan
2024, "Inference Scaling fLaws: The Limits of LLM Resampling with Imperfect Verifiers").

Scores are deterministic per (seed, problem id, text): the same candidate always gets the same
score, in any call order or process, as a real verifier would. The randomness is derived from a
hash of those three through `itslab.rng.keyed_uniform` / `keyed_normal`.

- TPR/FPR mode: a binary verifier; a correct text is accepted (score 1) with probability `tpr`,
  an incorrect one with probability `fpr`.
- AUC mode: the equal-variance binormal model of signal detection theory: scores of incorrect
  texts ~ N(0, 1), of correct ones ~ N(d', 1) with d' = √2·Φ⁻¹(AUC), so that
  P(score(correct) > score(incorrect)) = AUC; reported through Φ(x − d'/2) in (0, 1).
- `NoisyProcessVerifier`: a simulated PRM; per step, sigmoid(±separation/2 + bias + noise·ε),
  + when the step oracle says the solution is still correct at that step. A step's score depends
  only on the text up to that step, so extending a partial solution never changes earlier scores.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable, Sequence

from itslab.budget import CostModel
from itslab.protocols import STEP_DELIMITER, Scores
from itslab.rng import keyed_normal, keyed_uniform
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, model_cost, read_tokens, split_steps

Oracle = Callable[[Problem, str], bool]
StepOracle = Callable[[Problem, str], Sequence[bool]]
_STD = NormalDist()


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def dprime_from_auc(auc: float) -> float:
    """Separation d' of the equal-variance binormal model with ROC AUC `auc` (AUC = Φ(d'/√2))."""
    if not 0.0 < auc < 1.0:
        raise ValueError(f"auc must be in (0, 1), got {auc!r}")
    return math.sqrt(2.0) * _STD.inv_cdf(auc)


def _default_oracle(problem: Problem, text: str) -> bool:
    from itslab.tasks.checking import is_correct

    return is_correct(problem, text)


def _prob(name: str, v: float | None) -> float | None:
    if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    return None if v is None else float(v)


class NoisyVerifier:
    """An outcome oracle degraded to a given TPR/FPR, or to a score distribution of a given ROC AUC.

    ``NoisyVerifier(tpr=0.9, fpr=0.1)`` or ``NoisyVerifier(auc=0.8)``; `oracle(problem, text)`
    says whether a text is correct (default: the task's exact-answer check). `cost_model` gives
    FLOPs for the simulated model (``verifier_params``); tokens are estimated from text length.
    """

    def __init__(
        self,
        oracle: Oracle | None = None,
        *,
        tpr: float | None = None,
        fpr: float | None = None,
        auc: float | None = None,
        seed: int = 0,
        cost_model: CostModel | None = None,
        name: str | None = None,
    ) -> None:
        if auc is not None and (tpr is not None or fpr is not None):
            raise ValueError("NoisyVerifier takes either tpr/fpr or auc, not both")
        self.tpr, self.fpr = _prob("tpr", tpr), _prob("fpr", fpr)
        self.auc = auc
        self.dprime = dprime_from_auc(auc) if auc is not None else None
        if auc is None:
            self.tpr = 1.0 if self.tpr is None else self.tpr
            self.fpr = 0.0 if self.fpr is None else self.fpr
        self.oracle = oracle or _default_oracle
        self.seed = int(seed)
        self.cost_model = cost_model
        self.name = name or (f"noisy(auc={auc:g})" if auc is not None else f"noisy(tpr={self.tpr:g},fpr={self.fpr:g})")

    def _score1(self, problem: Problem, text: str) -> float:
        correct = bool(self.oracle(problem, text))
        if self.dprime is None:
            assert self.tpr is not None and self.fpr is not None  # the constructor sets both, or dprime
            u = keyed_uniform(self.seed, problem.id, "noisy-outcome", text)
            return 1.0 if u < (self.tpr if correct else self.fpr) else 0.0
        z = keyed_normal(self.seed, problem.id, "noisy-outcome", text) + (self.dprime if correct else 0.0)
        return _phi(z - self.dprime / 2.0)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """One score per text: 0/1 in TPR/FPR mode, in (0, 1) in AUC mode."""
        return [(self._score1(problem, t),) for t in as_texts(texts, f"{self.name}.score")]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text, reading the prompt and the text (estimated tokens)."""
        texts = as_texts(texts, f"{self.name}.cost")
        return model_cost(len(texts), read_tokens(problem, texts), self.cost_model)


class NoisyProcessVerifier:
    """A simulated process reward model: noisy, biased per-step scores from a step oracle.

    `step_oracle(problem, text)` returns one flag per step: whether the solution is still
    correct after that step (e.g. `itslab.generators.simulated.step_oracle`). Step i scores
    ``sigmoid(±separation/2 + bias + noise·ε_i)``; `bias` > 0 makes an over-optimistic PRM.
    Given `auc`, the separation is set so a single step's score has that ROC AUC
    (AUC = Φ(separation / (√2·noise))).
    """

    def __init__(
        self,
        step_oracle: StepOracle,
        *,
        noise: float = 1.0,
        bias: float = 0.0,
        separation: float = 3.0,
        auc: float | None = None,
        seed: int = 0,
        delimiter: str = STEP_DELIMITER,
        cost_model: CostModel | None = None,
        name: str | None = None,
    ) -> None:
        if not callable(step_oracle):
            raise TypeError(f"step_oracle must be callable(problem, text) -> list[bool], got {step_oracle!r}")
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise!r}")
        if auc is not None:
            if noise == 0:
                raise ValueError("auc needs noise > 0 (with no noise the scores separate perfectly)")
            separation = noise * dprime_from_auc(auc)
        self.step_oracle = step_oracle
        self.noise, self.bias, self.separation = float(noise), float(bias), float(separation)
        self.seed, self.delimiter, self.cost_model = int(seed), delimiter, cost_model
        self.name = name or f"noisy_prm(noise={noise:g},bias={bias:g},sep={self.separation:.3g})"

    def _scores1(self, problem: Problem, text: str) -> Scores:
        flags = [bool(f) for f in self.step_oracle(problem, text)] or [False]
        steps = split_steps(text, self.delimiter)
        aligned = len(steps) == len(flags)
        out, key = [], ""
        for i, ok in enumerate(flags):
            # key the noise on the text up to this step, so partial and full solutions agree
            if aligned:
                key = steps[0] if i == 0 else key + self.delimiter + steps[i]  # delimiter.join(steps[:i + 1])
            else:
                key = f"{i}\x00{text}"
            eps = self._eps(problem.id, key)
            mean = self.separation / 2.0 if ok else -self.separation / 2.0
            out.append(_sigmoid(mean + self.bias + self.noise * eps))
        return tuple(out)

    def _eps(self, problem_id: str, key: str) -> float:
        # step-level search re-scores every earlier step of a growing text; memoising the noise of
        # each (problem, prefix) makes that linear instead of quadratic in the number of steps
        cache = self.__dict__.setdefault("_eps_cache", {})
        k = (problem_id, key)
        eps = cache.get(k)
        if eps is None:
            if len(cache) > 500_000:
                cache.clear()
            eps = cache[k] = keyed_normal(self.seed, problem_id, "noisy-process", key)
        return eps

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Per text, one score in (0, 1) per step flagged by the step oracle."""
        return [self._scores1(problem, t) for t in as_texts(texts, f"{self.name}.score")]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text (a PRM scores all steps in one forward pass), prompt + text tokens."""
        texts = as_texts(texts, f"{self.name}.cost")
        return model_cost(len(texts), read_tokens(problem, texts), self.cost_model)
