"""Particle filtering against deterministic step search as rollouts grow, on the step-wise simulator
(Puri et al. 2025, "A Probabilistic Inference Approach to Inference-Time Scaling of LLMs using
Particle-Based Monte Carlo Methods", arXiv:2502.01618; notebook 08).

`sweep` runs `particle_filter`, `beam_search`, `dvts` and `weighted_best_of_n` with N rollouts
(`experiments.Rollouts`: N particles, beams or samples) under a simulated PRM of a given noise
(`NoisyProcessVerifier`; ``error_correlation`` shares part of a step's error among every solution
that claims the same intermediate value, a systematic error). The summaries are paired over
problems: every strategy meets the same problems, so differences carry a paired standard error.

>>> rollouts_to_match([1, 4, 16, 64], [0.5, 0.6, 0.7, 0.8], 0.65)
8.0
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from itslab.generators.simulated import make_suite, step_oracle
from itslab.verifiers import NoisyProcessVerifier

# the authors' defaults (particle filter) and search-and-learn's (beam width 4 for beam search and DVTS)
STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "particle_filter": ("particle_filter", {}),
    "beam_search": ("beam_search", {"beam_width": 4}),
    "dvts": ("dvts", {"beam_width": 4}),
    "weighted_best_of_n": ("weighted_best_of_n", {"max_tokens": 4096}),
}


def exact_pass_at_1(problems: Sequence[Any], gen: Any, temperature: float = 0.8) -> float:
    """Mean exact P(one sample is right) over `problems` at `temperature` (the simulator's closed form)."""
    return float(np.mean([gen.p_correct(p, temperature) for p in problems]))


def calibrated_suite(
    n_problems: int, pass_at_1: float, *, seed: int = 2024, b: float = 0.6, temperature: float = 0.8, **kw: Any
) -> tuple[list[Any], Any]:
    """``(problems, StepwiseSimGenerator)`` whose mean exact single-sample accuracy at `temperature`
    equals `pass_at_1`: Beta(a, b) difficulty with `a` solved by bisection (in log a) on the drawn problems."""
    lo, hi = 0.05, 50.0
    for _ in range(30):
        a = float(np.sqrt(lo * hi))
        problems, gen = make_suite(n_problems, seed=seed, kind="stepwise", a=a, b=b, **kw)
        lo, hi = (a, hi) if exact_pass_at_1(problems, gen, temperature) < pass_at_1 else (lo, a)
    return problems, gen


def prm(noise: float, *, error_correlation: float = 0.0, seed: int = 0) -> NoisyProcessVerifier:
    """The simulated PRM: step i scores sigmoid(±1.5 + noise·ε_i) (separation 3: per-step ROC AUC 0.98
    at noise 1, 0.70 at noise 4, 0.60 at noise 8)."""
    return NoisyProcessVerifier(step_oracle, noise=float(noise), error_correlation=error_correlation, seed=seed)


def sweep(
    problems: Sequence[Any],
    gen: Any,
    *,
    noises: Sequence[float],
    budgets: Sequence[int],
    error_correlation: float = 0.0,
    strategies: Mapping[str, tuple[str, dict[str, Any]]] = STRATEGIES,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (noise, strategy, budget, problem): ``correct`` and ``generated_tokens``."""
    from itslab import experiments

    labels = {name: label for label, (name, _) in strategies.items()}
    frames = []
    for noise in noises:
        df = experiments.run(
            problems,
            [(name, dict(h)) for name, h in strategies.values()],
            budgets=list(budgets),
            seeds=[seed],
            generator=gen,
            verifier=prm(noise, error_correlation=error_correlation, seed=seed),
            budget_axis="rollouts",
            progress=False,
        )
        df = df.assign(strategy=df["strategy_name"].map(labels), noise=float(noise), rho=float(error_correlation))
        frames.append(df[["noise", "rho", "strategy", "budget", "problem_id", "correct", "generated_tokens"]])
    out = pd.concat(frames, ignore_index=True)
    out["correct"] = out["correct"].astype(float)
    return out


def particle_run(problem: Any, gen: Any, *, noise: float, n_particles: int = 16, seed: int = 0) -> Any:
    """One `particle_filter` run (the authors' defaults) on `problem` under a PRM of `noise`: the
    `Result`, whose trace carries the per-step ancestors and weights its genealogy is drawn from."""
    from itslab import Budget, strategies
    from itslab.rng import problem_rng

    rng = problem_rng(seed, problem.id, "particle_filter")
    fn = strategies.get("particle_filter")
    return fn(problem, gen, prm(noise, seed=seed), Budget(samples=100_000), rng, n_particles=n_particles)


def curves(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy ± SE over problems and mean generated tokens per (noise, rho, strategy, budget)."""
    g = df.groupby(["noise", "rho", "strategy", "budget"])
    out = g.agg(accuracy=("correct", "mean"), n=("correct", "size"), generated_tokens=("generated_tokens", "mean"))
    out["se"] = g["correct"].std(ddof=1) / np.sqrt(out["n"])
    return out.reset_index()


def _per_problem(df: pd.DataFrame, strategy: str, budget: int, noise: float) -> pd.Series:
    sel = df[(df["strategy"] == strategy) & (df["budget"] == budget) & (df["noise"] == noise)]
    if sel.empty:
        raise KeyError(f"no rows for strategy={strategy!r}, budget={budget}, noise={noise}")
    return sel.set_index("problem_id")["correct"].sort_index()


def _mean_se(d: pd.Series) -> tuple[float, float]:
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def paired_gap(df: pd.DataFrame, a: str, b: str, *, budgets: Sequence[int], noise: float) -> tuple[float, float]:
    """Accuracy of `a` minus `b`, averaged over `budgets`, with its paired SE over problems."""
    d = sum(_per_problem(df, a, n, noise) - _per_problem(df, b, n, noise) for n in budgets) / len(budgets)
    return _mean_se(pd.Series(d))


def gap_growth(df: pd.DataFrame, a: str, b: str, *, budget: int, low: float, high: float) -> tuple[float, float]:
    """How much `a`'s lead over `b` at `budget` grows from PRM noise `low` to `high` (paired SE).

    Equivalently, how much more `b` loses than `a` when the PRM gets worse: positive means `b`
    degrades faster (Puri et al.'s claim for beam search against the particle filter)."""
    lead = {nz: _per_problem(df, a, budget, nz) - _per_problem(df, b, budget, nz) for nz in (low, high)}
    return _mean_se(lead[high] - lead[low])


def rollouts_to_match(budgets: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """The rollouts a curve needs to reach `target`, interpolated linearly in log N between grid
    points (on the curve's running maximum); ``inf`` if it never does, the first budget if it starts above."""
    n, acc = np.asarray(budgets, dtype=float), np.maximum.accumulate(np.asarray(accuracy, dtype=float))
    if acc[0] >= target:
        return float(n[0])
    hit = np.nonzero(acc >= target)[0]
    if not hit.size:
        return float("inf")
    j = int(hit[0])
    x0, x1, y0, y1 = np.log(n[j - 1]), np.log(n[j]), acc[j - 1], acc[j]
    return float(np.exp(x0 + (target - y0) / (y1 - y0) * (x1 - x0)))


def scaling_ratio(df: pd.DataFrame, *, noise: float, baselines: Sequence[str] = ("beam_search", "dvts")) -> float:
    """Puri et al.'s "scaling rate" in rollouts: the rollouts the best deterministic search
    (`baselines`) needs to reach the particle filter's accuracy at the largest budget, divided by
    that budget. Above 1: the particle filter gets there with fewer rollouts; ``inf``: search never does."""
    c = curves(df[df["noise"] == noise])
    n_max = float(c["budget"].max())
    pf = c[(c["strategy"] == "particle_filter") & (c["budget"] == n_max)]["accuracy"].iloc[0]
    need = min(
        rollouts_to_match(s["budget"].to_numpy(), s["accuracy"].to_numpy(), pf)
        for _, s in c[c["strategy"].isin(baselines)].sort_values("budget").groupby("strategy")
    )
    return need / n_max


__all__ = [
    "STRATEGIES",
    "calibrated_suite",
    "curves",
    "exact_pass_at_1",
    "gap_growth",
    "paired_gap",
    "particle_run",
    "prm",
    "rollouts_to_match",
    "scaling_ratio",
    "sweep",
]
