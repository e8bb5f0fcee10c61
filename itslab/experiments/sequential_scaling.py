"""Sequential scaling on a simulated thinking model: budget forcing, "Wait" and parallel vs serial (notebook 14).

`SequentialSimGenerator` is calibrated to two published numbers. s1-32B goes from 50 % to 57 % on
AIME24 when budget forcing appends "Wait" (Muennighoff et al. 2025, arXiv:2501.19393, abstract),
levelling off after about six "Wait"s (secondary): pass@1 has mean 0.50, and the fix and break
probabilities of a reconsideration are solved so that the population accuracy peaks at 0.567
after the 6th "Wait" (fixes fade by 0.8 per reconsideration, breaks do not: our assumption, after
m1's "introduces errors into previously correct responses"). m1 finds an optimal thinking budget
of about 4K tokens (Huang et al. 2025, arXiv:2504.00869, abstract): the token scale is set so
that a first pass plus six reconsiderations averages 4K. Wrong first passes are 1.3× longer
(Zeng et al. 2025, arXiv:2502.12215: correct solutions are shorter; the factor is ours).

`forced_curve` is the fast model of the simulator's forced-thinking accuracy (the slider's
recomputation); `run_grid` runs the registered strategies on the simulator.

>>> p_fix, p_break = calibrate_revisions()
>>> round(float(revision_curve(0.5, p_fix, p_break, 6)[6]), 3)
0.567
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from itslab.budget import Budget
from itslab.generators.simulated import make_suite
from itslab.generators.simulated.sequential import SequentialSimGenerator
from itslab.rng import problem_rng
from itslab.scaling.latency import WallClockModel
from itslab.scaling.paired import paired_gap
from itslab.strategies import get
from itslab.tasks.checking import check_answer
from itslab.types import Problem

PAPER = {"s1_no_forcing": 0.50, "s1_forced": 0.567, "m1_optimal_tokens": 4096.0}
N_WAITS_TO_PLATEAU = 6  # s1: "Wait" helps until about six (secondary: the wandb.ai report on s1-32B)
FIX_DECAY, BREAK_DECAY = 0.8, 1.0  # fixes fade per reconsideration; breaks do not (assumption)
A, B = 1.0, 1.0  # pass@1 ~ Beta(1, 1): mean 0.50, spread assumed
WRONG_LENGTH_FACTOR, WAIT_SHARE, LENGTH_DIFFICULTY = 1.3, 0.25, 0.5
MAX_CALL_TOKENS = 20_000  # per call, far above any simulated segment: only forced configs cut thinking


def revision_curve(
    c0: float, p_fix: float, p_break: float, k_max: int, fix_decay: float = FIX_DECAY, break_decay: float = BREAK_DECAY
) -> np.ndarray:
    """Mean accuracy after 0..k_max "Wait"s: ``c_k = c_{k-1}(1 - b_k) + (1 - c_{k-1}) f_k`` (linear, so
    the population mean follows it too; T = 1)."""
    c = [float(c0)]
    for k in range(1, k_max + 1):
        f, b = p_fix * fix_decay ** (k - 1), p_break * break_decay ** (k - 1)
        c.append(c[-1] * (1.0 - b) + (1.0 - c[-1]) * f)
    return np.asarray(c)


def calibrate_revisions(
    c0: float = PAPER["s1_no_forcing"],
    peak: float = PAPER["s1_forced"],
    k_peak: int = N_WAITS_TO_PLATEAU,
    fix_decay: float = FIX_DECAY,
    break_decay: float = BREAK_DECAY,
) -> tuple[float, float]:
    """(p_fix, p_break) such that accuracy reaches `peak` after `k_peak` "Wait"s and gains nothing more."""

    def residual(x: np.ndarray) -> list[float]:
        c = revision_curve(c0, x[0], x[1], k_peak + 1, fix_decay, break_decay)
        return [c[k_peak] - peak, c[k_peak + 1] - c[k_peak]]

    fit = least_squares(residual, [0.1, 0.01], bounds=([0.0, 0.0], [1.0, 1.0]), xtol=1e-12, ftol=1e-12)
    return float(fit.x[0]), float(fit.x[1])


@dataclass(frozen=True)
class Suite:
    """Calibrated problems and simulator, with the parameters that made them."""

    problems: list[Problem]
    generator: SequentialSimGenerator
    params: Mapping[str, float]


def suite_params(**overrides: float) -> dict[str, float]:
    """The calibrated simulator's parameters (`overrides` replace any of them)."""
    p_fix, p_break = calibrate_revisions()
    # E[first pass] + 6 E[segment] = 4096: a first pass averages (1 + LD/2)(1 + (wlf - 1)/2) x mean
    first = (1 + LENGTH_DIFFICULTY / 2) * (1 + (WRONG_LENGTH_FACTOR - 1) / 2)
    think = PAPER["m1_optimal_tokens"] / (first + N_WAITS_TO_PLATEAU * WAIT_SHARE)
    out = {
        "a": A,
        "b": B,
        "p_fix": p_fix,
        "p_break": p_break,
        "fix_decay": FIX_DECAY,
        "break_decay": BREAK_DECAY,
        "mean_think_tokens": think,
        "mean_wait_tokens": WAIT_SHARE * think,
        "length_difficulty": LENGTH_DIFFICULTY,
        "wrong_length_factor": WRONG_LENGTH_FACTOR,
        "guess_factor": 0.5,
    }
    out.update(overrides)
    return out


def calibrated_suite(n_problems: int, *, seed: int = 0, **overrides: float) -> Suite:
    """`n_problems` problems and the calibrated `SequentialSimGenerator` (parameters: `suite_params`)."""
    params = suite_params(**overrides)
    problems, gen = make_suite(n_problems, seed=seed, kind="sequential", **params)  # type: ignore[arg-type]
    return Suite(problems, gen, params)  # type: ignore[arg-type]


def forced_curve(
    params: Mapping[str, float],
    budgets: Sequence[int],
    *,
    n_traces: int = 20000,
    seed: int = 0,
    p: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Accuracy when thinking is forced to exactly B tokens (min = max = B), by fast simulation of the
    simulator's model: a first pass (guess if it is cut), then "Wait" segments that fix or break.
    `p`: the problems' pass@1 values (cycled over the traces); default, draws from the Beta."""
    rng = np.random.default_rng(seed)
    pr = params
    p = rng.beta(pr["a"], pr["b"], n_traces) if p is None else np.resize(np.asarray(p, dtype=float), n_traces)
    right = rng.random(n_traces) < p
    mean1 = pr["mean_think_tokens"] * (1 + pr["length_difficulty"] * (1 - p))
    mean1 = np.where(right, mean1, mean1 * pr["wrong_length_factor"])
    s = 0.35  # the simulator's length_sigma
    ln = lambda m, size: m * np.exp(s * rng.standard_normal(size) - s * s / 2)  # noqa: E731
    k_max = int(max(budgets) / pr["mean_wait_tokens"] * 2) + 2
    ends = np.cumsum(np.column_stack([ln(mean1, n_traces), ln(pr["mean_wait_tokens"], (n_traces, k_max))]), axis=1)
    states = np.empty((n_traces, k_max + 1), dtype=bool)
    states[:, 0] = right
    u = rng.random((n_traces, k_max))
    for k in range(1, k_max + 1):
        f, b = pr["p_fix"] * pr["fix_decay"] ** (k - 1), pr["p_break"] * pr["break_decay"] ** (k - 1)
        prev = states[:, k - 1]
        states[:, k] = np.where(prev, u[:, k - 1] >= b, u[:, k - 1] < f)
    guess = rng.random(n_traces) < pr["guess_factor"] * p
    rows = []
    for budget in budgets:
        done = (ends <= budget).sum(axis=1)  # segments finished within the budget
        ok = np.where(done == 0, guess, states[np.arange(n_traces), np.maximum(done - 1, 0)])
        rows.append({"budget": int(budget), "accuracy": float(ok.mean()), "se": float(ok.std() / np.sqrt(n_traces))})
    return pd.DataFrame(rows)


def run_grid(
    suite: Suite,
    configs: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    seed: int = 0,
    wall: WallClockModel | None = None,
) -> pd.DataFrame:
    """Run each labelled (strategy, hyper) on every problem: one row per (problem, config) with the
    answer's correctness, tokens generated and read, generator calls, modelled latency and, for
    budget forcing, the first trace's thinking tokens and the correctness of its probed answers."""
    wall = wall or WallClockModel()
    rows = []
    for label, (name, hyper) in configs.items():
        fn = get(name)
        for p in suite.problems:
            r = fn(p, suite.generator, None, Budget(samples=10**6), problem_rng(seed, p.id), **hyper)
            c0 = r.candidates[0].meta if r.candidates else {}
            probes = [*c0.get("probe_answers", ()), r.candidates[0].answer] if "probe_answers" in c0 else []
            rows.append(
                {
                    "problem_id": p.id,
                    "strategy": label,
                    "budget": 0,
                    "seed": seed,
                    "correct": bool(r.correct),
                    "generated_tokens": r.usage.generated_tokens,
                    "read_tokens": r.usage.prompt_tokens + r.usage.cached_tokens,
                    "calls": sum(1 for s in r.trace if "max_sample_tokens" in s.info),
                    "latency_s": wall.of(r),
                    "thinking_tokens": c0.get("thinking_tokens", np.nan),
                    "probe_correct": tuple(check_answer(p, a) for a in probes),
                }
            )
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: accuracy ± SE, mean tokens generated and read, calls and modelled latency."""
    g = df.assign(correct=df["correct"].astype(float)).groupby("strategy", sort=False)
    out = g[["correct", "generated_tokens", "read_tokens", "calls", "latency_s"]].mean()
    out.insert(1, "se", g["correct"].std(ddof=1) / np.sqrt(g.size()))
    return out.rename(columns={"correct": "accuracy"})


def gap(df: pd.DataFrame, a: str, b: str) -> tuple[float, float]:
    """Accuracy of configuration `a` minus `b`, paired over problems: (gap, SE)."""
    r = paired_gap(df, a, b).iloc[0]
    return float(r["gap"]), float(r["se"])


def wait_curve(df: pd.DataFrame, config: str) -> pd.DataFrame:
    """Accuracy after 0, 1, ... "Wait"s on the same traces (from the probed answers), with paired
    SEs of the change from no "Wait"."""
    ok = np.array(df.loc[df["strategy"] == config, "probe_correct"].tolist(), dtype=float)
    d = ok - ok[:, :1]
    return pd.DataFrame(
        {
            "n_waits": np.arange(ok.shape[1]),
            "accuracy": ok.mean(axis=0),
            "gain": d.mean(axis=0),
            "gain_se": d.std(axis=0, ddof=1) / np.sqrt(len(ok)),
        }
    )


def optimum_split(curve_a: pd.Series, df_b: pd.DataFrame, budgets: Sequence[int]) -> tuple[int, float, float]:
    """Pick the best forced budget on one half of the problems (`curve_a`: accuracy by budget label),
    then on the other half (`df_b`) measure its gain over the largest budget: (best, gap, SE)."""
    best = int(max(budgets, key=lambda b: curve_a[f"forced {b}"]))
    g, se = gap(df_b, f"forced {best}", f"forced {max(budgets)}")
    return best, g, se


def wait_configs(n_waits: int = N_WAITS_TO_PLATEAU) -> dict[str, tuple[str, dict[str, Any]]]:
    """s1's "Wait" extension with the answer probed before each "Wait" (one trace per problem)."""
    hyper = {"n_waits": n_waits, "probe_answers": True, "max_tokens": MAX_CALL_TOKENS, "temperature": 1.0}
    return {f"wait x{n_waits}": ("budget_forcing", hyper)}


def forced_configs(budgets: Sequence[int]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Thinking forced to exactly B tokens (s1's min = max = B): capped, or extended by "Wait"s."""
    return {
        f"forced {b}": ("budget_forcing", {"min_thinking_tokens": b, "max_thinking_tokens": b, "temperature": 1.0})
        for b in budgets
    }


def parallel_configs(ns: Sequence[int]) -> dict[str, tuple[str, dict[str, Any]]]:
    """n parallel samples, majority vote and Zeng et al.'s shortest-majority vote (same samples)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for n in ns:
        hyper = {"n": n, "max_tokens": MAX_CALL_TOKENS, "temperature": 1.0}
        out[f"majority {n}"] = ("majority_vote", hyper)
        out[f"shortest majority {n}"] = ("shortest_majority_vote", hyper)
    return out


def closed_form_waits(suite: Suite, k_max: int) -> np.ndarray:
    """Mean exact accuracy after 0..k_max "Wait"s over the suite's own problems (T = 1)."""
    gen = suite.generator
    return np.array([np.mean([gen.p_correct(p, n_waits=k) for p in suite.problems]) for k in range(k_max + 1)])


def max_z(observed: Sequence[float], expected: Sequence[float], n: int) -> float:
    """Largest |observed - expected| in binomial SEs of the expected accuracy over `n` traces."""
    o, e = np.asarray(observed, float), np.clip(np.asarray(expected, float), 1e-9, 1 - 1e-9)
    return float(np.max(np.abs(o - e) / np.sqrt(e * (1 - e) / n)))
