"""Training losses for the answer policy, each with its gradient with respect to the logits.

Every loss maps (task, log pi) to per-problem values [P] and ``dL/dz`` [P, K] (z the logits);
`training.train` chains ``dL/dz`` to the shared weights. With p the mass on correct answers and
q the policy restricted to them (q = pi * correct / p), ``dp/dz = p (q - pi)``, so:

- ``cross_entropy``: L = -log p, dL/dz = pi - q (supervised fine-tuning on the right answer).
- ``capped_cross_entropy(cap)``: L = -log min(p, cap): CE below the cap, no push above it.
- ``direct_coverage(n)``: Chen et al. 2025 (arXiv:2502.07154), direct coverage optimisation,
  L = -log(1 - (1 - p)^n), dL/dz = F(n, p) (pi - q) with F = n p (1-p)^(n-1) / (1 - (1-p)^n),
  which is 1 at n = 1 (CE) and vanishes as p -> 1 for n > 1: it limits confidence.
- ``best_of_n_objective(n)``: Chow et al. 2024 (arXiv:2412.15287), L = -BoN@n (the exact
  expected reward of the verifier's pick among n samples; at n = 1 the expected reward, i.e. RL).
- ``reinforce_best_of_n(n, n_groups)``: the same objective's score-function (REINFORCE) estimate
  from ``n_groups`` sampled groups of n, with a leave-one-out baseline (unbiased).

`get(name, **hyper)` returns a `Loss` by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from itslab.toys.policy import AnswerTask, log_p_correct, sample_from

LossFn = Callable[[AnswerTask, np.ndarray, "np.random.Generator | None"], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Loss:
    """A named loss with its hyper-parameters; ``fn(task, logpi, rng) -> (values [P], dL/dz [P, K])``."""

    name: str
    fn: LossFn = field(repr=False)
    hyper: Mapping[str, Any] = field(default_factory=dict)
    stochastic: bool = False

    def __call__(
        self, task: AnswerTask, logpi: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.fn(task, logpi, rng)

    @property
    def label(self) -> str:
        """E.g. ``direct_coverage(n=256)``."""
        args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.hyper.items())
        return f"{self.name}({args})" if args else self.name


def _ce_parts(task: AnswerTask, logpi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log p [P], pi - q [P, K], pi): the CE pieces every likelihood-based loss reuses."""
    logp = log_p_correct(task, logpi)
    pi = np.exp(logpi)
    with np.errstate(invalid="ignore"):  # -inf - (-inf) on a problem whose p underflows
        q = np.exp(np.where(task.correct, logpi - logp[:, None], -np.inf))  # exponent <= 0: no overflow
    return logp, pi - q, pi


def _cross_entropy(task: AnswerTask, logpi: np.ndarray, _rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    logp, g, _ = _ce_parts(task, logpi)
    return -logp, g


def coverage_factor(n: int, p: np.ndarray) -> np.ndarray:
    """F(n, p) = n p (1-p)^(n-1) / (1 - (1-p)^n): DCO's gradient as a multiple of CE's (from the loss)."""
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    if n == 1:
        return np.ones_like(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1p = np.log1p(-p)  # -inf at p = 1, where F = 0
        log_f = np.log(n) + np.log(p) + (n - 1) * l1p - np.log(-np.expm1(n * l1p))
        out = np.exp(log_f)
    return np.where(p <= 0, 1.0, np.where(p >= 1, 0.0, out))  # F -> 1 as p -> 0


def coverage_cap(n: int) -> float:
    """The p at which F(n, p) = 1/2: where direct coverage optimisation has halved CE's push.

    A hard cap there (`capped_cross_entropy`) is DCO's threshold twin (about 1.26 / n for large n).
    """
    from scipy.optimize import brentq

    n = _positive_int("coverage_cap: n", n)
    if n == 1:
        return 1.0  # F = 1 everywhere: CE, no cap
    return float(brentq(lambda p: float(coverage_factor(n, np.array(p))) - 0.5, 1e-12, 1 - 1e-12, xtol=1e-14))


def _direct_coverage(n: int) -> LossFn:
    def fn(task: AnswerTask, logpi: np.ndarray, _rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        logp, g, _ = _ce_parts(task, logpi)
        p = np.exp(logp)
        with np.errstate(divide="ignore"):
            miss = n * np.log1p(-np.minimum(p, 1.0))  # log (1-p)^n
            # -log(1 - (1-p)^n), stable for tiny p (-> -log(n p)) and p = 1 (-> 0)
            value = np.where(p < 1e-8, -(np.log(n) + logp), -np.log(-np.expm1(miss)))
        return value, coverage_factor(n, p)[:, None] * g

    return fn


def _capped_cross_entropy(cap: float) -> LossFn:
    def fn(task: AnswerTask, logpi: np.ndarray, _rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        logp, g, _ = _ce_parts(task, logpi)
        below = logp < np.log(cap)
        return -np.minimum(logp, np.log(cap)), np.where(below[:, None], g, 0.0)

    return fn


def _sorted_by_score(task: AnswerTask, a: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, task.order, axis=1)


def _best_of_n_objective(n: int) -> LossFn:
    def fn(task: AnswerTask, logpi: np.ndarray, _rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        pi = np.exp(logpi)
        ps, r = _sorted_by_score(task, pi), _sorted_by_score(task, task.correct.astype(float))
        G = np.minimum(np.cumsum(ps, axis=1), 1.0)
        # Abel summation: J = sum_j G_j^n (r_j - r_{j+1}), so dJ/dpi_m = sum_{j >= m} n G_j^(n-1) (r_j - r_{j+1})
        dr = r - np.concatenate([r[:, 1:], np.zeros((len(r), 1))], axis=1)
        J = (G**n * dr).sum(axis=1)
        dJ_sorted = np.cumsum((n * G ** (n - 1) * dr)[:, ::-1], axis=1)[:, ::-1]
        dJ = np.empty_like(dJ_sorted)
        np.put_along_axis(dJ, task.order, dJ_sorted, axis=1)
        dJ_dz = pi * (dJ - (pi * dJ).sum(axis=1, keepdims=True))  # softmax Jacobian
        return -J, -dJ_dz

    return fn


def _reinforce_best_of_n(n: int, n_groups: int) -> LossFn:
    def fn(
        task: AnswerTask, logpi: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if rng is None:
            raise ValueError("reinforce_best_of_n: needs an rng (it samples)")
        P, K = logpi.shape
        pi = np.exp(logpi)
        draws = sample_from(logpi, n * n_groups, rng).reshape(P, n_groups, n)
        scores = np.take_along_axis(task.scores[:, None, :].repeat(n_groups, 1), draws, axis=2)
        pick = np.take_along_axis(draws, scores.argmax(axis=2)[..., None], axis=2)[..., 0]
        # ties among equal-score draws of the same candidate do not matter; distinct candidates with
        # equal scores go to the first drawn here (the exact objective uses index order instead)
        R = np.take_along_axis(task.correct, pick, axis=1).astype(float)  # [P, groups]
        baseline = (R.sum(axis=1, keepdims=True) - R) / (n_groups - 1)  # leave-one-out: unbiased
        counts = np.zeros((P, n_groups, K))
        np.add.at(counts, (np.arange(P)[:, None, None], np.arange(n_groups)[None, :, None], draws), 1.0)
        # grad of log prod_n pi(y_n) wrt z is counts - n pi
        score_grad = counts - n * pi[:, None, :]
        dJ_dz = ((R - baseline)[..., None] * score_grad).mean(axis=1)
        return -R.mean(axis=1), -dJ_dz

    return fn


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name}: must be a positive integer, got {v!r}")
    return int(v)


def cross_entropy() -> Loss:
    """Cross-entropy on the correct answers (supervised fine-tuning)."""
    return Loss("cross_entropy", _cross_entropy)


def capped_cross_entropy(cap: float) -> Loss:
    """CE while p < cap, no gradient once the correct answers hold `cap` of the mass."""
    if not 0 < cap <= 1:
        raise ValueError(f"capped_cross_entropy: cap must be in (0, 1], got {cap!r}")
    return Loss("capped_cross_entropy", _capped_cross_entropy(float(cap)), {"cap": float(cap)})


def direct_coverage(n: int) -> Loss:
    """Chen et al. 2025's direct coverage optimisation (DCO) for pass@n (arXiv:2502.07154)."""
    n = _positive_int("direct_coverage: n", n)
    return Loss("direct_coverage", _direct_coverage(n), {"n": n})


def best_of_n_objective(n: int) -> Loss:
    """Chow et al. 2024's BoN-aware objective, exact gradient (arXiv:2412.15287); n = 1 is plain RL."""
    n = _positive_int("best_of_n_objective: n", n)
    return Loss("best_of_n_objective", _best_of_n_objective(n), {"n": n})


def reinforce_best_of_n(n: int, n_groups: int = 4) -> Loss:
    """REINFORCE on the best-of-n reward with a leave-one-out baseline over `n_groups` groups (Chow et al. 2024)."""
    n = _positive_int("reinforce_best_of_n: n", n)
    n_groups = _positive_int("reinforce_best_of_n: n_groups", n_groups)
    if n_groups < 2:
        raise ValueError(f"reinforce_best_of_n: n_groups must be >= 2 for the leave-one-out baseline, got {n_groups}")
    return Loss("reinforce_best_of_n", _reinforce_best_of_n(n, n_groups), {"n": n, "n_groups": n_groups}, True)


LOSSES: dict[str, Callable[..., Loss]] = {
    "cross_entropy": cross_entropy,
    "capped_cross_entropy": capped_cross_entropy,
    "direct_coverage": direct_coverage,
    "best_of_n_objective": best_of_n_objective,
    "reinforce_best_of_n": reinforce_best_of_n,
}


def get(name: str, **hyper: Any) -> Loss:
    """A loss by name, e.g. ``get("direct_coverage", n=256)``."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")
    return LOSSES[name](**hyper)
