"""Notebook 17's simulator: speculative reasoning on two step-wise simulators, calibrated to SpecReason.

`sim_pair` builds a step-wise target, a weaker drafter on the same problems and a simulated PRM;
`calibrate` picks the scorer's ROC AUC and the threshold at which the closed form
(`itslab.scaling.step_speculation`) gives SpecReason's speed-up and accuracy change (Pan et al.
2025, arXiv:2504.07891: 1.5-2.5x faster, 1.0-9.9 points more accurate; we fit the low ends);
`run_sim` runs the registered strategy, and `measured` reads its speed-up in target-step units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from itslab.budget import Budget
from itslab.experiments.speculative import _trace_row
from itslab.rng import problem_rng
from itslab.scaling import step_speculation as ss
from itslab.types import Problem

PAPER = {"speedup": 1.5, "accuracy_gain": 0.010}
DRAFTER_TIME, SCORER_TIME, DRAFTER_POWER = 0.1, 0.05, 3.0


def sim_pair(n_problems: int, *, seed: int = 0, drafter_power: float = 3.0, auc: float = 0.8, **sim: Any):
    """(problems, ModelPair, PRM): a step-wise target, a drafter whose pass@1 is the target's to the
    power `drafter_power` (a higher per-step error on the same problems), and a noisy PRM of per-step
    ROC AUC `auc` (`NoisyProcessVerifier`, noise 1) on the step oracle."""
    from itslab.generators.pair import ModelPair
    from itslab.generators.simulated import StepwiseSimGenerator, make_suite, step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    problems, target = make_suite(n_problems, seed=seed, kind="stepwise", **sim)
    weaker = [
        dataclasses.replace(p, meta={**p.meta, "p_correct": p.meta["p_correct"] ** drafter_power}) for p in problems
    ]
    params = {k: v for k, v in sim.items() if k not in ("n_steps", "a", "b")}
    drafter = StepwiseSimGenerator(weaker, seed=seed + 1, **params)
    return problems, ModelPair(drafter, target), NoisyProcessVerifier(step_oracle, noise=1.0, auc=auc, seed=seed)


def run_sim(
    problems: Sequence[Problem], pair: Any, prm: Any, thresholds: Sequence[float], *, seed: int = 0,
    temperature: float = 1.0, max_steps: int = 12,
) -> pd.DataFrame:  # fmt: skip
    """One row per (problem, threshold): correct, steps written, drafts, drafts kept, scores, target steps."""
    from itslab.strategies import get

    fn, rows = get("speculative_reasoning"), []
    for th in thresholds:
        for p in problems:
            r = fn(p, pair, prm, Budget(samples=4 * max_steps), problem_rng(seed, p.id), threshold=th,
                   max_steps=max_steps, temperature=temperature, top_p=1.0)  # fmt: skip
            counts = {k: v for k, v in _trace_row(r).items() if k.startswith("n_")}
            steps = int(r.trace[-1].info["n_steps"])
            rows.append({"problem_id": p.id, "threshold": th, "correct": bool(r.correct), "n_steps": steps, **counts})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SimSetup:
    """A calibrated simulator: problems, the pair, its PRM, the closed-form model and the threshold."""

    problems: list[Problem]
    pair: Any
    prm: Any
    model: ss.StepSpeculation
    threshold: float
    eps_draft: np.ndarray
    eps_target: np.ndarray
    n_steps: np.ndarray

    def closed_form(self, threshold: float) -> dict[str, float]:
        """`step_speculation.summary` over these problems at `threshold`."""
        return ss.summary(self.model, threshold, self.eps_draft, self.eps_target, self.n_steps)


def rates(problems: Sequence[Problem], pair: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per problem: the drafter's and the target's per-step break rates (T = 1) and the step count."""
    from itslab.generators.simulated import n_steps

    eps_d = np.array([pair.drafter.step_error(pair.drafter.problem_for(p.prompt)) for p in problems])
    eps_t = np.array([pair.target.step_error(p) for p in problems])
    return eps_d, eps_t, np.array([n_steps(p) for p in problems])


def calibrate(n_problems: int, *, seed: int = 0, speedup: float = PAPER["speedup"],
              accuracy_gain: float = PAPER["accuracy_gain"]) -> SimSetup:  # fmt: skip
    """The scorer AUC and threshold at which the closed form gives `speedup` and `accuracy_gain`
    (drafter and scorer times and the drafter's weakness are assumptions: `DRAFTER_TIME`, ...)."""
    problems, pair, _ = sim_pair(n_problems, seed=seed, drafter_power=DRAFTER_POWER)
    eps_d, eps_t, steps = rates(problems, pair)

    def solve(auc: float) -> tuple[ss.StepSpeculation, float, float]:
        m = ss.StepSpeculation(DRAFTER_TIME, SCORER_TIME, auc)
        t = ss.threshold_for_speedup(m, speedup, eps_d, eps_t, steps)
        r = ss.summary(m, t, eps_d, eps_t, steps)
        return m, t, r["accuracy"] - r["target_accuracy"] - accuracy_gain

    auc = float(brentq(lambda a: solve(a)[2], 0.6, 0.99, xtol=1e-6))
    m, t, _ = solve(auc)
    _, pair, prm = sim_pair(n_problems, seed=seed, drafter_power=DRAFTER_POWER, auc=auc)
    return SimSetup(problems, pair, prm, m, t, eps_d, eps_t, steps)


def measured(df: pd.DataFrame, model: ss.StepSpeculation) -> pd.DataFrame:
    """Per threshold: accuracy, share of drafts kept, and the speed-up in target-step units (the
    target alone writes every step; speculation pays each draft, score and target step)."""
    cost = df["n_draft"] * model.drafter + df["n_score"] * model.scorer + df["n_target"]
    g = df.assign(cost=cost).groupby("threshold")
    return pd.DataFrame({
        "accuracy": g["correct"].mean(),
        "kept": g["n_kept"].sum() / g["n_steps"].sum(),
        "speedup": g["n_steps"].sum() / g["cost"].sum(),
    })  # fmt: skip


def paired_gap(df: pd.DataFrame, threshold: float, baseline: float = 10.0) -> tuple[float, float]:
    """Accuracy at `threshold` minus at `baseline` (the target alone), paired over problems, with its SE."""
    w = df.pivot(index="problem_id", columns="threshold", values="correct").astype(float)
    d = (w[threshold] - w[baseline]).to_numpy()
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def closed_form_z(runs: pd.DataFrame, setup: SimSetup, threshold: float) -> float:
    """Largest |z| of the strategy's accuracy and kept share at `threshold` against the closed form
    over the same problems (binomial SEs over problems and over steps)."""
    n = runs["problem_id"].nunique()
    ran = set(runs["problem_id"])
    idx = [i for i, p in enumerate(setup.problems) if p.id in ran]
    want = ss.summary(setup.model, threshold, setup.eps_draft[idx], setup.eps_target[idx], setup.n_steps[idx])
    got = measured(runs[runs["threshold"] == threshold], setup.model).iloc[0]
    steps = runs.loc[runs["threshold"] == threshold, "n_steps"].sum()
    z_acc = (got["accuracy"] - want["accuracy"]) / np.sqrt(want["accuracy"] * (1 - want["accuracy"]) / n)
    z_kept = (got["kept"] - want["kept"]) / np.sqrt(want["kept"] * (1 - want["kept"]) / steps)
    return float(max(abs(z_acc), abs(z_kept)))
