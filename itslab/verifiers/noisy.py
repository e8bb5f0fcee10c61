"""Imperfect verifiers simulated from an oracle: given TPR/FPR, given ROC AUC, or a noisy PRM.

They drive the imperfect-verifier studies (Stroebl, Kapoor & Narayanan 2024, arXiv:2411.17501):
with a false-positive rate > 0, resampling until the verifier accepts has an accuracy ceiling.
Scores are deterministic per (seed, problem id, text), in any call order or process, as a real
verifier's would be (`itslab.rng.keyed_uniform` / `keyed_normal`).

- TPR/FPR mode: a correct text is accepted with probability `tpr`, an incorrect one with `fpr`.
- AUC mode: the equal-variance binormal model, d' = √2·Φ⁻¹(AUC).
- `NoisyProcessVerifier`: a simulated PRM scoring each step from the step oracle plus noise.
- ``error_correlation`` / ``problem_correlation``: errors shared by samples with the same answer
  or problem (Gao, Schulman & Hilton 2022, arXiv:2210.10760), marginal AUC unchanged.

The models and their formulas are in docs/methods.md (verifiers/noisy.py).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable, Sequence

import numpy as np
from scipy.special import ndtr

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


def answer_key(problem: Problem, text: str) -> str:
    """The key of the error shared by samples with one answer: `tasks.answer_of`, normalised.

    A text with no answer gets a key of its own (its text), so its error is not shared.
    """
    from itslab.tasks import answer_of, normalize_answer

    a = answer_of(problem, text)
    return "\x00no answer\x00" + text if a is None else normalize_answer(a)


def error_weights(error_correlation: float, problem_correlation: float = 0.0) -> tuple[float, float, float]:
    """Weights (sample, answer, problem) of the unit-normal error: ``(√(1-ρ-ρ_p), √ρ, √ρ_p)``.

    Their squares sum to 1, so the error stays N(0, 1) and the verifier's marginal AUC is unchanged
    (the shared-error model of reward over-optimisation, Gao et al. 2022, arXiv:2210.10760).
    """
    for name, v in (("error_correlation", error_correlation), ("problem_correlation", problem_correlation)):
        if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    if error_correlation + problem_correlation > 1.0 + 1e-12:
        raise ValueError(
            f"error_correlation + problem_correlation must be <= 1, got {error_correlation} + {problem_correlation}"
        )
    rest = max(0.0, 1.0 - error_correlation - problem_correlation)
    return math.sqrt(rest), math.sqrt(error_correlation), math.sqrt(problem_correlation)


def binormal_scores(
    correct: np.ndarray,
    errors: np.ndarray,
    *,
    auc: float,
    error_correlation: float = 0.0,
    problem_correlation: float = 0.0,
) -> np.ndarray:
    """Scores of `NoisyVerifier(auc=..., error_correlation=...)` from cached draws, vectorised.

    `errors` [..., 3] are the unit-normal draws (sample, answer, problem) of `NoisyVerifier.errors`
    for samples flagged `correct` [...]. Recombining cached draws for another AUC or correlation
    takes milliseconds, which is what a slider needs. The score model is the equal-variance
    binormal one above; notebook 05 calibrates it to the ORM of Lightman et al. 2023 (arXiv:2305.20050).
    """
    d = dprime_from_auc(auc)
    w = np.array(error_weights(error_correlation, problem_correlation))
    z = np.asarray(errors, dtype=float) @ w + d * np.asarray(correct, dtype=float)
    return ndtr(z - d / 2.0)


def _prob(name: str, v: float | None) -> float | None:
    if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    return None if v is None else float(v)


class NoisyVerifier:
    """An outcome oracle degraded to a given TPR/FPR, or to a score distribution of a given ROC AUC.

    ``NoisyVerifier(tpr=0.9, fpr=0.1)`` or ``NoisyVerifier(auc=0.8)``; `oracle(problem, text)`
    says whether a text is correct (default: the task's exact-answer check). `error_correlation`
    ρ shares that part of the error variance among all samples of a problem with the same
    normalised answer (`answer_key`), `problem_correlation` among all samples of a problem; the
    marginal TPR/FPR or AUC stays as set (Gao et al. 2022, arXiv:2210.10760). `cost_model` gives
    FLOPs for the simulated model (``verifier_params``); tokens are estimated from text length.
    """

    def __init__(
        self,
        oracle: Oracle | None = None,
        *,
        tpr: float | None = None,
        fpr: float | None = None,
        auc: float | None = None,
        error_correlation: float = 0.0,
        problem_correlation: float = 0.0,
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
        self.weights = error_weights(error_correlation, problem_correlation)
        self.error_correlation, self.problem_correlation = float(error_correlation), float(problem_correlation)
        self.oracle = oracle or _default_oracle
        self.seed = int(seed)
        self.cost_model = cost_model
        rho = "".join(f",{k}={v:g}" for k, v in (("rho", error_correlation), ("rho_problem", problem_correlation)) if v)
        self.name = name or (
            f"noisy(auc={auc:g}{rho})" if auc is not None else f"noisy(tpr={self.tpr:g},fpr={self.fpr:g}{rho})"
        )

    def errors(self, problem: Problem, texts: Sequence[str]) -> np.ndarray:
        """The unit-normal draws [len(texts), 3] behind the scores: per sample, per (problem, answer),
        per problem. Deterministic; `binormal_scores` turns them into scores for any AUC and ρ."""
        texts = as_texts(texts, f"{self.name}.errors")
        pid, shared = problem.id, {}
        out = np.empty((len(texts), 3))
        out[:, 2] = keyed_normal(self.seed, pid, "noisy-outcome-problem")
        for i, t in enumerate(texts):
            key = answer_key(problem, t)
            if key not in shared:
                shared[key] = keyed_normal(self.seed, pid, "noisy-outcome-answer", key)
            out[i, :2] = keyed_normal(self.seed, pid, "noisy-outcome", t), shared[key]
        return out

    def _error(self, problem: Problem, text: str) -> float:
        """The sample's unit-normal error; the shared parts are only computed when weighted."""
        w_sample, w_answer, w_problem = self.weights
        e = w_sample * keyed_normal(self.seed, problem.id, "noisy-outcome", text)
        if w_answer:
            e += w_answer * keyed_normal(self.seed, problem.id, "noisy-outcome-answer", answer_key(problem, text))
        if w_problem:
            e += w_problem * keyed_normal(self.seed, problem.id, "noisy-outcome-problem")
        return e

    def _score1(self, problem: Problem, text: str) -> float:
        correct = bool(self.oracle(problem, text))
        if self.dprime is None:
            assert self.tpr is not None and self.fpr is not None  # the constructor sets both, or dprime
            if self.weights[0] == 1.0:  # independent errors: the uniform itself (same draws as before ρ existed)
                u = keyed_uniform(self.seed, problem.id, "noisy-outcome", text)
            else:  # a Gaussian copula keeps the TPR/FPR and shares the error
                u = _phi(self._error(problem, text))
            return 1.0 if u < (self.tpr if correct else self.fpr) else 0.0
        z = self._error(problem, text) + (self.dprime if correct else 0.0)
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
    (AUC = Φ(separation / (√2·noise))). With `error_correlation` ρ, a share ρ of a step's error
    variance is keyed by the step's claim — its index and the answer extracted from the step's
    text — so solutions that reach the same intermediate value (at the last step: the same final
    answer) share it; `problem_correlation` shares a part per problem (Gao et al. 2022).
    """

    def __init__(
        self,
        step_oracle: StepOracle,
        *,
        noise: float = 1.0,
        bias: float = 0.0,
        separation: float = 3.0,
        auc: float | None = None,
        error_correlation: float = 0.0,
        problem_correlation: float = 0.0,
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
        self.weights = error_weights(error_correlation, problem_correlation)
        self.error_correlation, self.problem_correlation = float(error_correlation), float(problem_correlation)
        self.seed, self.delimiter, self.cost_model = int(seed), delimiter, cost_model
        rho = "".join(f",{k}={v:g}" for k, v in (("rho", error_correlation), ("rho_problem", problem_correlation)) if v)
        self.name = name or f"noisy_prm(noise={noise:g},bias={bias:g},sep={self.separation:.3g}{rho})"

    def _scores1(self, problem: Problem, text: str) -> Scores:
        flags = [bool(f) for f in self.step_oracle(problem, text)] or [False]
        steps = split_steps(text, self.delimiter)
        aligned = len(steps) == len(flags)
        out, key = [], ""
        w_sample, w_claim, w_problem = self.weights
        for i, ok in enumerate(flags):
            # key the noise on the text up to this step, so partial and full solutions agree
            if aligned:
                key = steps[0] if i == 0 else key + self.delimiter + steps[i]  # delimiter.join(steps[:i + 1])
            else:
                key = f"{i}\x00{text}"
            eps = w_sample * self._eps(problem.id, key)
            if w_claim:
                eps += w_claim * self._claim_eps(problem, i, steps[i] if aligned else text)
            if w_problem:
                eps += w_problem * keyed_normal(self.seed, problem.id, "noisy-process-problem")
            mean = self.separation / 2.0 if ok else -self.separation / 2.0
            out.append(_sigmoid(mean + self.bias + self.noise * eps))
        return tuple(out)

    def _cached(self, k: tuple[str, ...], draw: Callable[[], float]) -> float:
        # step-level search re-scores every earlier step of a growing text; memoising the noise of
        # each (problem, prefix) makes that linear instead of quadratic in the number of steps
        cache = self.__dict__.setdefault("_eps_cache", {})
        eps = cache.get(k)
        if eps is None:
            if len(cache) > 500_000:
                cache.clear()
            eps = cache[k] = draw()
        return eps

    def _eps(self, problem_id: str, key: str) -> float:
        return self._cached((problem_id, key), lambda: keyed_normal(self.seed, problem_id, "noisy-process", key))

    def _claim_eps(self, problem: Problem, i: int, step: str) -> float:
        """The error shared by every solution whose step `i` claims the same value (`answer_key` of the step)."""

        def draw() -> float:
            return keyed_normal(self.seed, problem.id, "noisy-process-claim", str(i), answer_key(problem, step))

        return self._cached(("claim", problem.id, str(i), step), draw)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Per text, one score in (0, 1) per step flagged by the step oracle."""
        return [self._scores1(problem, t) for t in as_texts(texts, f"{self.name}.score")]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text (a PRM scores all steps in one forward pass), prompt + text tokens."""
        texts = as_texts(texts, f"{self.name}.cost")
        return model_cost(len(texts), read_tokens(problem, texts), self.cost_model)
