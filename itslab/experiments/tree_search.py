"""Wider or deeper: search with a score-returning evaluator at equal generator calls (notebook 13).

The simulator (`RefineSimGenerator`, constraint-satisfaction plans refined with feedback) is
calibrated to Mind Evolution's TravelPlanner numbers with Gemini 1.5 Flash (Lee et al. 2025,
arXiv:2501.09891): 1-pass 5.6 % and best-of-800 55.6 % fix the Beta(a, b) of pass@1, and
Sequential-Revision+ (10 chains of 80 turns) at 82.8 % fixes the refinement's `p_fix`, with
6 constraints and `p_break` = 0.05 assumed. Mind Evolution's own 95.6 % is then a prediction.
`compare` runs the strategies on the same problems at each number of calls and returns one row per
(problem, strategy, calls), ready for `itslab.scaling.paired.paired_gap`.

>>> suite = calibrated_suite(3, seed=0)
>>> round(suite.a / (suite.a + suite.b), 3)
0.056
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from itslab.budget import Budget
from itslab.generators.simulated import make_suite
from itslab.generators.simulated.refine import RefineSimGenerator, calibrate, calibrate_p_fix
from itslab.rng import problem_rng
from itslab.strategies import get
from itslab.strategies.refinement import width_share
from itslab.trace import Result
from itslab.types import Problem
from itslab.verifiers.partial import ConstraintScore

# Lee et al. 2025, table 2 (TravelPlanner validation, Gemini 1.5 Flash), read through secondary summaries
PAPER = {"one_pass": 0.056, "best_of_n": 0.556, "sequential_revision": 0.828, "mind_evolution": 0.956}
N_CALLS = 800  # the paper's budget: up to 800 candidate solutions
N_CONSTRAINTS, P_BREAK = 6, 0.05


@dataclass(frozen=True)
class Suite:
    """Calibrated problems, generator and evaluator, with the parameters that made them."""

    problems: list[Problem]
    generator: RefineSimGenerator
    verifier: ConstraintScore
    a: float
    b: float
    p_fix: float
    p_break: float
    n_constraints: int


def calibrated_suite(
    n_problems: int,
    *,
    seed: int = 0,
    p_fix: float | None = None,
    p_break: float = P_BREAK,
    n_constraints: int = N_CONSTRAINTS,
) -> Suite:
    """`n_problems` problems from the calibrated Beta; `p_fix` calibrated unless given."""
    a, b = calibrate(PAPER["one_pass"], PAPER["best_of_n"], N_CALLS)
    if p_fix is None:
        p_fix = calibrate_p_fix(a, b, n_constraints, p_break, PAPER["sequential_revision"], N_CALLS, 10)
    problems, gen = make_suite(
        n_problems, seed=seed, kind="refine", a=a, b=b, n_constraints=n_constraints, p_fix=p_fix, p_break=p_break
    )
    return Suite(problems, gen, ConstraintScore(), a, b, float(p_fix), p_break, n_constraints)  # type: ignore[arg-type]


def strategies_at(n: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """The compared strategies at `n` generator calls: label -> (registered name, hyper-parameters)."""
    return {
        "repeated sampling": ("best_of_n", {"n": n}),
        "sequential revision": ("sequential_revision", {"n": n, "n_chains": max(1, n // 80)}),
        "mcts": ("mcts", {"n": n}),
        "ab_mcts": ("ab_mcts", {"n": n}),
        "evolutionary search": ("evolutionary_search", {"n": n}),
    }


def compare(
    suite: Suite,
    calls: Sequence[int],
    *,
    seed: int = 0,
    which: Sequence[str] | None = None,
    extra: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    max_tokens: int = 200,
    columns: Callable[[Result], dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Every strategy on every problem at each number of calls: problem_id, strategy, budget, correct,
    samples (calls made), width_share (share of fresh samples), plus what `columns` reads off each
    result."""
    rows = []
    for n in calls:
        todo = {**strategies_at(n), **(extra or {})}
        for label, (name, hyper) in todo.items():
            if which is not None and label not in which:
                continue
            fn = get(name)
            for p in suite.problems:
                r = fn(
                    p,
                    suite.generator,
                    suite.verifier,
                    Budget(samples=n),
                    problem_rng(seed, p.id, label),
                    **{**hyper, "n": n, "max_tokens": max_tokens},
                )
                rows.append(
                    {
                        "problem_id": p.id,
                        "strategy": label,
                        "budget": n,
                        "seed": seed,
                        "correct": bool(r.correct),
                        "samples": r.usage.samples,
                        "width_share": width_share(r),
                        "p_correct": p.meta["p_correct"],
                        **(columns(r) if columns is not None else {}),
                    }
                )
    return pd.DataFrame(rows)


def live_curves(
    p_fix: float, calls: Sequence[int], *, p_break: float = P_BREAK, n_constraints: int = N_CONSTRAINTS
) -> pd.DataFrame:
    """Closed-form success against calls at refinement strength `p_fix` (the notebook's slider):
    repeated sampling (``1 - E[(1 - p)^n]``), one revision chain, and chains of 80 turns."""
    from itslab.generators.simulated.refine import coverage, revision_success

    a, b = calibrate(PAPER["one_pass"], PAPER["best_of_n"], N_CALLS)
    rows = []
    for n in calls:
        rows.append({"calls": n, "strategy": "repeated sampling", "success": coverage(a, b, n)})
        rows.append(
            {
                "calls": n,
                "strategy": "sequential revision (1 chain)",
                "success": revision_success(a, b, n_constraints, p_fix, p_break, n, 1),
            }
        )
        rows.append(
            {
                "calls": n,
                "strategy": "sequential revision (chains of 80)",
                "success": revision_success(a, b, n_constraints, p_fix, p_break, n, max(1, n // 80)),
            }
        )
    return pd.DataFrame(rows)


def width_adaptation(
    n_problems: int, n: int, p_fix: tuple[float, float] = (0.0, 0.5), *, seed: int = 0
) -> tuple[float, float, list[float]]:
    """AB-MCTS's share of fresh samples at weak minus strong refinement (`p_fix`), paired over problems,
    with its SE and both shares; every run spends all `n` calls (no early stop)."""
    import numpy as np

    shares = []
    for pf in p_fix:
        suite = calibrated_suite(n_problems, seed=seed, p_fix=pf)
        df = compare(
            suite,
            [n],
            seed=seed,
            which=["ab_mcts (all calls)"],
            extra={"ab_mcts (all calls)": ("ab_mcts", {"stop_score": None})},
        )
        shares.append(df.set_index("problem_id")["width_share"])
    d = (shares[0] - shares[1]).to_numpy()
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), [float(s.mean()) for s in shares]


# Meta-Reasoner (Sui et al. 2025, arXiv:2502.19918): the bandit over strategies and its single-arm ablations
META_REASONER: dict[str, tuple[str, dict[str, Any]]] = {
    "meta_reasoner": ("meta_reasoner", {}),
    "meta_reasoner (no context)": ("meta_reasoner", {"contextual": False}),
    "only continue": ("meta_reasoner", {"arms": ("continue",)}),
    "only backtrack": ("meta_reasoner", {"arms": ("backtrack",)}),
    "only restart": ("meta_reasoner", {"arms": ("restart",)}),
}
FIXED_ARMS = ("only continue", "only backtrack", "only restart")


def strategy_bandit(
    n_problems: int, n: int, p_fix: Sequence[float] = (0.0, 0.5), *, seed: int = 0, max_tokens: int = 200
) -> pd.DataFrame:
    """Meta-Reasoner against each of its strategies fixed, at `n` calls (stopping on a solved plan),
    on a mixture of tasks: the same `n_problems` problems once with each refinement strength in
    `p_fix` (0: feedback useless, restarting is right; 0.5: refining is right). One row per
    (regime, problem, strategy): ``problem_id`` (names the regime, so pairs stay in it), ``task``,
    ``p_fix``, ``strategy``, ``budget``, ``correct``, ``samples`` and ``restart_share`` (the share of
    the bandit's choices that restarted; NaN when it made none)."""
    from itslab.strategies.meta_reasoner import arm_shares

    frames = []
    for pf in p_fix:
        suite = calibrated_suite(n_problems, seed=seed, p_fix=pf)
        df = compare(
            suite, [n], seed=seed, which=list(META_REASONER), extra=META_REASONER, max_tokens=max_tokens,
            columns=lambda r: {"restart_share": arm_shares(r)["restart"]},
        )  # fmt: skip
        frames.append(df.assign(task=df["problem_id"], p_fix=pf, problem_id=f"p_fix={pf}/" + df["problem_id"]))
    return pd.concat(frames, ignore_index=True)
