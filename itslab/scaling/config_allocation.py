"""How many samples to draw from each sampling configuration: OSCA's learned mix (Zhang et al. 2024).

Zhang et al. 2024 ("Scaling LLM Inference with Optimized Sample Compute Allocation", OSCA,
arXiv:2410.22480) pick the number of samples n_c of each configuration c (model × temperature ×
prompt) that maximises pass@C, the chance that at least one of the C samples is right, on a
training split, by hill climbing over allocations. Everything here works on a *failure table*
``fail[i, c, k]``: the probability that k samples of configuration c all fail on problem i. Then

    coverage_i(n) = 1 − Π_c fail[i, c, n_c]

(samples of different configurations are independent given the problem). A table comes from true
probabilities (`failure_from_p`, a simulator), from recorded counts without bias for k ≤ n
(`failure_from_counts`, the hypergeometric of Chen et al. 2021's pass@k), or from counts with a
Jeffreys-posterior smoothing valid for any k (`failure_posterior`, for learning on few samples).

`allocate_configs` learns an allocation on a train table under a budget in samples or in any
per-sample cost (dollars: `costs`); ``method`` is "hill_climb" (OSCA), "greedy" (add the sample
with the largest coverage gain per cost; coverage is monotone submodular in the counts, so greedy
is within 1 − 1/e of the optimum), "best_single" (the whole budget on the configuration best on
train: OSCA's "pure" baseline) or "uniform". `evaluate_allocation` scores it on held-out problems.

>>> fail = failure_from_p(np.array([[0.5, 0.0], [0.0, 0.5]]), 4)
>>> allocate_configs(fail, 2, method="hill_climb").counts.tolist()
[1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.special import betaln, gammaln

METHODS = ("hill_climb", "greedy", "best_single", "uniform")


def failure_from_p(p: np.ndarray, max_k: int) -> np.ndarray:
    """``fail[i, c, k] = (1 − p[i, c])^k`` for k = 0..max_k (true per-sample success probabilities)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or np.any((p < 0) | (p > 1)):
        raise ValueError(f"failure_from_p: p must be a [problems, configs] matrix in [0, 1], got shape {p.shape}")
    return (1.0 - p)[:, :, None] ** np.arange(max_k + 1)


def failure_from_counts(successes: np.ndarray, n: int) -> np.ndarray:
    """Unbiased ``fail[i, c, k] = C(n − s, k) / C(n, k)`` for k = 0..n from `successes` of `n` recorded samples.

    The chance that k of the n recorded samples drawn without replacement all fail: the
    complement of Chen et al. 2021's unbiased pass@k.
    """
    s = np.asarray(successes, dtype=np.float64)
    if s.ndim != 2 or np.any((s < 0) | (s > n)):
        raise ValueError(f"failure_from_counts: successes must be [problems, configs] in 0..{n}")
    k = np.arange(n + 1)
    f = n - s[:, :, None]
    with np.errstate(invalid="ignore"):
        log = gammaln(f + 1) - gammaln(f - k + 1) - (gammaln(n + 1) - gammaln(n - k + 1))
    return np.where(k <= f, np.exp(np.where(k <= f, log, 0.0)), 0.0)


def failure_posterior(successes: np.ndarray, n: int, max_k: int, prior: float = 0.5) -> np.ndarray:
    """``E[(1 − p)^k]`` under p ~ Beta(prior + s, prior + n − s), k = 0..max_k: any k, never exactly 0."""
    s = np.asarray(successes, dtype=np.float64)[:, :, None]
    a, b, k = prior + s, prior + n - s, np.arange(max_k + 1)
    return np.exp(betaln(a, b + k) - betaln(a, b))


def coverage(fail: np.ndarray, counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-problem chance that at least one of the allocated samples is right (pass@C of the mix)."""
    n = np.asarray(counts, dtype=np.int64)
    if n.shape != (fail.shape[1],) or np.any(n < 0) or np.any(n >= fail.shape[2]):
        raise ValueError(f"coverage: counts {n.tolist()} must be one per config, each 0..{fail.shape[2] - 1}")
    return 1.0 - np.prod(fail[:, np.arange(len(n)), n], axis=1)


@dataclass(frozen=True)
class ConfigAllocation:
    """A learned allocation: samples per configuration, its cost and its coverage on the train table."""

    counts: np.ndarray
    method: str
    budget: float
    cost: float
    train_coverage: float


def _unit_costs(costs: Sequence[float] | None, n_configs: int) -> np.ndarray:
    c = np.ones(n_configs) if costs is None else np.asarray(costs, dtype=np.float64)
    if c.shape != (n_configs,) or np.any(c <= 0):
        raise ValueError(f"allocate_configs: costs must be {n_configs} positive numbers, got {c.tolist()}")
    return c


def _greedy_fill(fail: np.ndarray, counts: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """Add one sample at a time where the train coverage gains most per unit cost, while it fits."""
    n = counts.copy()
    cols = np.arange(len(n))
    cap = fail.shape[2] - 1
    miss = np.prod(fail[:, cols, n], axis=1)  # per-problem chance every allocated sample fails
    while True:
        room = (n < cap) & (costs <= budget - float(costs @ n) + 1e-9)
        if not room.any():
            return n
        nxt = np.minimum(n + 1, cap)
        ratio = fail[:, cols, nxt] / np.maximum(fail[:, cols, n], 1e-300)  # how much one more sample cuts the miss
        gain = (miss[:, None] * (1.0 - ratio)).mean(axis=0) / costs
        gain[~room] = -np.inf
        c = int(np.argmax(gain))  # ties go to the first configuration
        miss = miss * ratio[:, c]
        n[c] += 1


def _hill_climb(fail: np.ndarray, start: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """OSCA's local search: move `step` samples out of one configuration and refill the freed budget
    greedily; take the best improving move; halve the step when none improves."""
    n, best = start.copy(), coverage(fail, start).mean()
    step = max(1, int(n.max()) // 2)
    while step >= 1:
        moves = []
        for src in np.flatnonzero(n > 0):
            cand = n.copy()
            cand[src] -= min(step, int(n[src]))
            cand = _greedy_fill(fail, cand, costs, budget)
            moves.append((coverage(fail, cand).mean(), tuple(cand)))
        top = max(moves, default=(best, tuple(n)))
        if top[0] > best + 1e-12:
            best, n = top[0], np.array(top[1])
        else:
            step //= 2
    return n


def allocate_configs(
    fail: np.ndarray, budget: float, *, method: str = "hill_climb", costs: Sequence[float] | None = None
) -> ConfigAllocation:
    """Samples per configuration maximising mean coverage on the train table `fail` within `budget`
    (in samples, or in the units of `costs`, one per-sample cost per configuration)."""
    if method not in METHODS:
        raise ValueError(f"allocate_configs: method must be one of {METHODS}, got {method!r}")
    P, C, K = fail.shape
    c = _unit_costs(costs, C)
    zero = np.zeros(C, dtype=np.int64)
    if method == "greedy":
        n = _greedy_fill(fail, zero, c, budget)
    elif method == "best_single":
        n = _best_single(fail, c, budget)
    elif method == "uniform":
        n = _uniform(c, budget, K - 1)
    else:
        n = _hill_climb(fail, _best_single(fail, c, budget), c, budget)
    return ConfigAllocation(n, method, float(budget), float(c @ n), float(coverage(fail, n).mean()))


def _best_single(fail: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    C, cap = fail.shape[1], fail.shape[2] - 1
    k = np.minimum(np.floor(budget / costs + 1e-9).astype(np.int64), cap)
    cov = [coverage(fail, np.where(np.arange(C) == j, k[j], 0)).mean() for j in range(C)]
    j = int(np.argmax(cov))
    return np.where(np.arange(C) == j, k[j], 0).astype(np.int64)


def _uniform(costs: np.ndarray, budget: float, cap: int) -> np.ndarray:
    """One sample per configuration in turn (in order) while it fits: equal counts, give or take one."""
    n = np.zeros(len(costs), dtype=np.int64)
    while True:
        added = False
        for j in range(len(costs)):
            if n[j] < cap and float(costs @ n) + costs[j] <= budget + 1e-9:
                n[j] += 1
                added = True
        if not added:
            return n


def evaluate_allocation(fail_test: np.ndarray, counts: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """Mean held-out coverage of an allocation and its SE over the held-out problems."""
    cov = coverage(fail_test, counts)
    return float(cov.mean()), float(cov.std(ddof=1) / np.sqrt(len(cov)))


def budget_to_match(fail: np.ndarray, config: int, target: float) -> float:
    """Samples configuration `config` alone needs for mean coverage `target` on `fail`, log-interpolated
    between whole numbers of samples; ``inf`` if it does not get there within the table."""
    k = np.arange(fail.shape[2])
    cov = 1.0 - fail[:, config, :].mean(axis=0)
    hit = np.flatnonzero(cov >= target - 1e-12)
    if len(hit) == 0:
        return float("inf")
    j = int(hit[0])
    if j <= 1:
        return float(max(j, 1))
    frac = (target - cov[j - 1]) / (cov[j] - cov[j - 1])
    return float(np.exp(np.log(k[j - 1]) + frac * (np.log(k[j]) - np.log(k[j - 1]))))


def split_problems(n_problems: int, train_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint sorted (train, test) problem indices: allocations are learned on one, scored on the other."""
    if not 0 < train_fraction < 1 or n_problems < 2:
        raise ValueError(f"split_problems: need 0 < train_fraction < 1 and >= 2 problems, got {train_fraction}")
    perm = rng.permutation(n_problems)
    m = min(max(1, int(round(train_fraction * n_problems))), n_problems - 1)
    return np.sort(perm[:m]), np.sort(perm[m:])
