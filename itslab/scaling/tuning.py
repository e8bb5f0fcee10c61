"""Tuned against default hyper-parameters, chosen on a train split and reported on a test split.

Liu et al. 2025 ("Bag of Tricks for Inference-time Computation of LLM Reasoning",
arXiv:2502.07191) find that overlooked settings (temperature, top-p, prompt, reward type) move
accuracy by up to 5 points, reading the best setting off the same questions it is scored on.
Here the choice is honest: each configuration's per-problem accuracy (a table [problems ×
configurations]) is split by problem; the configuration with the best train accuracy (the default
on a tie) is scored on the held-out problems against the default, with a paired standard error
over those problems (the choice saw none of them). `repeated_tuning` redraws the split to show
how stable the choice and the gain are; ``optimism`` is how much the winner's train accuracy
overstates its test accuracy (what picking on the test set would have added).

>>> import pandas as pd
>>> t = pd.DataFrame({"default": [0.5, 0.5, 0.5, 0.5], "hot": [1.0, 1.0, 1.0, 1.0]}, index=list("abcd"))
>>> r = tune_on_split(t, "default", np.random.default_rng(0))
>>> r.chosen, r.gain
('hot', 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Tuning:
    """One train/test split: the default, the configuration chosen on train, and their test accuracies."""

    default: str
    chosen: str
    train: pd.Series
    test_tuned: float
    test_default: float
    gain: float
    gain_se: float
    optimism: float
    n_train: int
    n_test: int


def _check(table: pd.DataFrame, default: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("tune_on_split: table must be a non-empty DataFrame [problems x configurations]")
    if default not in table.columns:
        raise ValueError(f"tune_on_split: default {default!r} is not a column; have {list(table.columns)}")
    if table.isna().any().any():
        col = table.columns[table.isna().any()].tolist()[0]
        raise ValueError(f"tune_on_split: configuration {col!r} has no result on some problems")
    if len(table) < 4:
        raise ValueError(f"tune_on_split: need at least 4 problems to split, got {len(table)}")
    return table.astype(float)


def tune_on_split(table: pd.DataFrame, default: str, rng: np.random.Generator, *, test_fraction: float = 0.5) -> Tuning:
    """Choose the best configuration on a random train split of the problems, score it on the rest.

    `table` holds per-problem accuracy (rows = problems, columns = configurations, e.g. seed means
    in [0, 1]); `default` names the untuned column. The gain's SE is paired over test problems.
    """
    t = _check(table, default)
    if not 0 < test_fraction < 1:
        raise ValueError(f"tune_on_split: test_fraction must be in (0, 1), got {test_fraction}")
    n_test = min(len(t) - 2, max(2, int(round(test_fraction * len(t)))))
    perm = rng.permutation(len(t))
    test, train = t.iloc[perm[:n_test]], t.iloc[perm[n_test:]]
    means = train.mean()
    chosen = default if means[default] >= means.max() else str(means.idxmax())
    d = test[chosen] - test[default]
    return Tuning(
        default=default,
        chosen=chosen,
        train=means,
        test_tuned=float(test[chosen].mean()),
        test_default=float(test[default].mean()),
        gain=float(d.mean()),
        gain_se=float(d.std(ddof=1) / np.sqrt(len(d))),
        optimism=float(means[chosen] - test[chosen].mean()),
        n_train=len(train),
        n_test=len(test),
    )


def repeated_tuning(
    table: pd.DataFrame, default: str, rng: np.random.Generator, *, n_splits: int = 20, test_fraction: float = 0.5
) -> pd.DataFrame:
    """`tune_on_split` over `n_splits` random splits: one row per split (chosen, test accuracies,
    gain and its paired SE, optimism). The mean gain over splits is a less noisy estimate than one
    split's; its spread, not the mean of the per-split SEs, says how much one split can mislead."""
    if n_splits < 1:
        raise ValueError(f"repeated_tuning: n_splits must be >= 1, got {n_splits}")
    rows = []
    for i in range(n_splits):
        r = tune_on_split(table, default, rng, test_fraction=test_fraction)
        rows.append(
            {
                "split": i,
                "chosen": r.chosen,
                "test_tuned": r.test_tuned,
                "test_default": r.test_default,
                "gain": r.gain,
                "gain_se": r.gain_se,
                "optimism": r.optimism,
            }
        )
    return pd.DataFrame(rows)
