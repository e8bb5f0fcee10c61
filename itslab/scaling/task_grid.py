"""Strategy × task tables of a harness sweep (notebook 18): who wins where, and does anyone win everywhere?

Input: an `experiments.capstone.sweep` frame (one row per task × problem × config × budget × seed,
with ``correct``, ``generated_tokens`` and ``strategy_name``). `grid` is the accuracy table the heat
map draws (Sys2Bench's per-task tables, Parashar et al. 2025, arXiv:2502.12521); `all_rounder` and
`largest_drop` are cross-fitted tests (the task and config are picked on half the problems and
measured on the other half, so the 2-SE check is not run on the data that chose it); `family_table`
is the per-problem table a tuned-against-default comparison needs (`scaling.tuning`).

>>> import pandas as pd
>>> df = pd.DataFrame({"task": "t", "config": ["a", "b"], "strategy_name": ["a", "b"], "problem_id": "p",
...                    "budget": 4, "correct": [True, False], "generated_tokens": 10})
>>> grid(df, 4)[["config", "accuracy", "winner"]].values.tolist()
[['a', 1.0, True], ['b', 0.0, False]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORACLES = ("oracle_pass_at_n",)  # read the gold answer: an upper bound, never deployable


def per_problem(frame: pd.DataFrame, budget: int) -> pd.DataFrame:
    """Seed-mean accuracy per (task, problem) × config at one budget: the table paired comparisons need."""
    part = frame[frame["budget"] == budget].assign(correct=lambda d: d["correct"].astype(float))
    return part.pivot_table(index=["task", "problem_id"], columns="config", values="correct", aggfunc="mean")


def grid(frame: pd.DataFrame, budget: int) -> pd.DataFrame:
    """Strategy × task accuracy at one budget: ``accuracy``, ``se`` (over problems), mean
    ``generated_tokens``, and whether the config is deployable (not an oracle) and the task's winner."""
    part = frame[frame["budget"] == budget]
    per = part.groupby(["task", "config", "strategy_name", "problem_id"], sort=False).agg(
        correct=("correct", "mean"), tokens=("generated_tokens", "mean")
    )
    g = per.groupby(level=["task", "config", "strategy_name"], sort=False)
    out = pd.DataFrame(
        {"accuracy": g["correct"].mean(), "se": g["correct"].sem(), "generated_tokens": g["tokens"].mean()}
    ).reset_index()
    out["deployable"] = ~out["strategy_name"].isin(ORACLES)
    best = out[out["deployable"]].groupby("task")["accuracy"].max()
    out["winner"] = out["deployable"] & (out["accuracy"] >= out["task"].map(best) - 1e-12)
    return out


def all_rounder(frame: pd.DataFrame, budget: int, rng: np.random.Generator) -> pd.DataFrame:
    """Does every deployable config lose somewhere? Cross-fitted, so the test is not picked on its data.

    Each task's problems are split in half at random. For each config s, the (task, rival) pair
    where a rival beats s most is chosen on the first half; the rival's gain over s is measured
    on the second half, paired over its problems (``gap``, ``se``, ``z``). A config that wins on
    every task has no rival whose gap stays positive. Sorted by ``z``: the first row is the best
    all-rounder, and "no strategy wins everywhere" holds when even its gap is above 0 by 2 SE.
    Only configs that ran on every task of `frame` compete.
    """
    table = per_problem(frame, budget)
    oracles = set(frame.loc[frame["strategy_name"].isin(ORACLES), "config"])
    configs = [c for c in table.columns if c not in oracles and table[c].notna().all()]
    halves = {}
    for task, part in table.groupby(level="task", sort=False):
        perm = rng.permutation(len(part))
        halves[task] = (part.iloc[perm[: len(part) // 2]], part.iloc[perm[len(part) // 2 :]])
    rows = []
    for s in configs:
        task, rival = max(
            ((t, r) for t in halves for r in configs if r != s),
            key=lambda tr: halves[tr[0]][0][tr[1]].mean() - halves[tr[0]][0][s].mean(),
        )
        d = halves[task][1][rival] - halves[task][1][s]
        se = float(d.std(ddof=1) / np.sqrt(len(d)))
        z = float(d.mean() / se) if se > 0 else (np.inf if d.mean() > 0 else -np.inf if d.mean() < 0 else 0.0)
        rows.append({"config": s, "task": task, "rival": rival, "gap": float(d.mean()), "se": se, "z": z})
    return pd.DataFrame(rows).sort_values("z", kind="stable").reset_index(drop=True)


def largest_drop(frame: pd.DataFrame, low: int, high: int, rng: np.random.Generator) -> pd.DataFrame:
    """Where does more compute hurt? Accuracy at `low` rollouts minus at `high`, cross-fitted.

    Each task's problems are split in half at random; the (task, config) whose accuracy falls the
    most from `low` to `high` on the first half is measured on the second, paired over its problems.
    One row per task (its worst config on the first half, ``drop`` and ``se`` on the second), the
    largest first: "more compute can hurt" holds when the first row's drop is above 0 by 2 SE.
    """
    a, b = per_problem(frame, low), per_problem(frame, high)
    d = (a - b).dropna(axis=1, how="all")
    rows = []
    for task, part in d.groupby(level="task", sort=False):
        part = part.dropna(axis=1)
        perm = rng.permutation(len(part))
        first, second = part.iloc[perm[: len(part) // 2]], part.iloc[perm[len(part) // 2 :]]
        config = str(first.mean().idxmax())
        x = second[config]
        rows.append(
            {"task": task, "config": config, "drop": float(x.mean()), "se": float(x.std(ddof=1) / np.sqrt(len(x)))}
        )
    return pd.DataFrame(rows).sort_values("drop", ascending=False, kind="stable").reset_index(drop=True)


def family_table(frame: pd.DataFrame, budget: int, family: str) -> pd.DataFrame:
    """Per-problem accuracy [problems × configurations] over every task of one `family` (banks of one
    task and model at different temperatures share their problems): configs are labelled
    ``T=<temperature> · <config>``, oracles left out; problems missing from a task are dropped."""
    part = frame[(frame["family"] == family) & (frame["budget"] == budget) & ~frame["strategy_name"].isin(ORACLES)]
    if part.empty:
        raise ValueError(f"family_table: no rows for family {family!r} at budget {budget}")
    label = "T=" + part["temperature"].map(lambda t: f"{t:g}") + " · " + part["config"]
    wide = part.assign(label=label, correct=part["correct"].astype(float)).pivot_table(
        index="problem_id", columns="label", values="correct", aggfunc="mean"
    )
    return wide.dropna()
