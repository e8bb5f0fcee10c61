"""A simulated population of problems × sampling configurations, for `config_allocation`.

Each problem has a per-configuration success probability p[i, c]. Its marginal is a Beta(a, b)
difficulty (as `itslab.generators.simulated.make_problems`), moved by the configuration's logit
`shift` (a stronger model, a better prompt); which problems a configuration finds hard is a
Gaussian copula with two correlations: `rho` between configurations of different models and
`rho_model` (≥ rho) between configurations of the same model (other temperatures or prompts).
With ρ = 1 every configuration finds the same problems hard and mixing cannot help; the lower ρ,
the more one configuration solves what another cannot (Zhang et al. 2024, OSCA, arXiv:2410.22480;
Drori et al. 2025, arXiv:2502.09955).

>>> cfg = config_grid({"small": -1.0, "large": 0.5}, {"T0.7": 0.0}, {"plain": 0.0})
>>> [c.name for c in cfg], simulate_config_population(cfg, 3, rho=0.5, seed=0).shape
(['small T0.7 plain', 'large T0.7 plain'], (3, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class SimConfig:
    """One sampling configuration: its model (configurations of one model correlate by `rho_model`),
    its logit shift over the base difficulty, and its price per sample."""

    name: str
    model: str
    shift: float
    price: float = 1.0


def config_grid(
    models: Mapping[str, float],
    temperatures: Mapping[str, float],
    prompts: Mapping[str, float],
    prices: Mapping[str, float] | None = None,
) -> list[SimConfig]:
    """Model × temperature × prompt configurations; each factor adds its logit shift; `prices` are
    per sample, by model (1 if not given)."""
    return [
        SimConfig(f"{m} {t} {p}", m, float(sm + st + sp), float((prices or {}).get(m, 1.0)))
        for m, sm in models.items()
        for t, st in temperatures.items()
        for p, sp in prompts.items()
    ]


def simulate_config_population(
    configs: Sequence[SimConfig],
    n_problems: int,
    *,
    rho: float,
    rho_model: float | None = None,
    a: float = 0.7,
    b: float = 1.3,
    seed: int,
) -> np.ndarray:
    """p[i, c]: problem i's per-sample success probability under configuration c.

    z[i, c] = √ρ·u_i + √(ρ_model − ρ)·v_{i, model(c)} + √(1 − ρ_model)·e_{i, c} (standard normals),
    p = σ(logit F⁻¹_Beta(a, b)(Φ(z)) + shift_c).
    """
    rho_model = rho if rho_model is None else rho_model
    if not 0 <= rho <= rho_model <= 1:
        raise ValueError(f"simulate_config_population: need 0 <= rho <= rho_model <= 1, got {rho}, {rho_model}")
    rng = np.random.default_rng(seed)
    models = sorted({c.model for c in configs})
    which = np.array([models.index(c.model) for c in configs])
    u = rng.standard_normal((n_problems, 1))
    v = rng.standard_normal((n_problems, len(models)))[:, which]
    e = rng.standard_normal((n_problems, len(configs)))
    z = np.sqrt(rho) * u + np.sqrt(rho_model - rho) * v + np.sqrt(1.0 - rho_model) * e
    base = np.clip(stats.beta.ppf(stats.norm.cdf(z), a, b), 1e-9, 1 - 1e-9)
    shift = np.array([c.shift for c in configs])
    return 1.0 / (1.0 + np.exp(-(np.log(base / (1.0 - base)) + shift)))


def draw_successes(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Successes of `n` recorded samples per problem and configuration (what a train split sees)."""
    return rng.binomial(n, p)


def samples_to_match(p: np.ndarray, target: float, *, max_k: float = 1e7) -> float:
    """Real k at which 1 − mean((1 − p)^k) reaches `target` (one configuration's coverage on the
    true probabilities `p` of some problems); ``inf`` beyond `max_k`."""
    p = np.asarray(p, dtype=np.float64)

    def cov(k: float) -> float:
        return float(1.0 - np.mean((1.0 - p) ** k))

    if cov(max_k) < target:
        return float("inf")
    lo, hi = 0.0, max_k
    for _ in range(200):
        mid = np.sqrt(lo * hi) if lo > 0 else hi / 2**40
        lo, hi = (mid, hi) if cov(mid) < target else (lo, mid)
        if hi - lo <= 1e-6 * hi:
            break
    return float(hi)


def oracle_ratio(p: np.ndarray, budget: int, costs: Sequence[float] | None = None) -> tuple[float, np.ndarray]:
    """(compute ratio, allocation) of the best mix on the true `p`: the samples the best single
    configuration needs to reach the mix's coverage at `budget`, over `budget` (no learning error)."""
    from itslab.scaling.config_allocation import allocate_configs, coverage, failure_from_p

    fail = failure_from_p(p, budget)
    mix = allocate_configs(fail, budget, method="greedy", costs=costs)
    single = allocate_configs(fail, budget, method="best_single", costs=costs)
    j = int(np.argmax(single.counts))
    return samples_to_match(p[:, j], float(coverage(fail, mix.counts).mean())) / budget, mix.counts


def calibrate_rho(
    configs: Sequence[SimConfig], target_ratio: float, budget: int, n_problems: int, *, seed: int, **population
) -> float:
    """The correlation ρ (one for every pair of configurations) at which `oracle_ratio` equals
    `target_ratio`, by bisection (the ratio falls as ρ grows: correlated configurations share hard problems)."""
    lo, hi = 0.0, 0.99

    def log_excess(rho: float) -> float:
        p = simulate_config_population(configs, n_problems, rho=rho, seed=seed, **population)
        return float(np.log(oracle_ratio(p, budget)[0]) - np.log(target_ratio))

    if log_excess(lo) < 0:
        raise ValueError(f"calibrate_rho: even independent configurations give less than {target_ratio}x")
    for _ in range(14):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if log_excess(mid) > 0 else (lo, mid)
    return (lo + hi) / 2
