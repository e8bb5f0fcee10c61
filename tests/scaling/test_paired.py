"""Paired strategy comparisons (Snell et al. 2024 Fig. 3; Wu et al. 2024 Table 1): gaps by hand, and
the cost ratio from an interpolated curve."""

import math

import numpy as np
import pandas as pd
import pytest

from itslab.scaling.paired import cost_to_match, curve, paired_gap


def _frame(rows):
    return pd.DataFrame(rows, columns=["problem_id", "strategy", "budget", "seed", "correct", "generated_tokens"])


def test_paired_gap_by_hand_with_seeds_averaged_first():
    # problem a: x right in both seeds, y in one -> +0.5; problem b: x wrong, y right -> -1.0
    df = _frame([
        ("a", "x", 4, 0, True, 10), ("a", "x", 4, 1, True, 10), ("a", "y", 4, 0, True, 10), ("a", "y", 4, 1, False, 10),
        ("b", "x", 4, 0, False, 10), ("b", "x", 4, 1, False, 10), ("b", "y", 4, 0, True, 10), ("b", "y", 4, 1, True, 10),
    ])  # fmt: skip
    g = paired_gap(df, "x", "y").iloc[0]
    assert g["gap"] == pytest.approx(-0.25)
    assert g["se"] == pytest.approx(np.std([0.5, -1.0], ddof=1) / math.sqrt(2))
    assert g["z"] == pytest.approx(g["gap"] / g["se"])
    assert g["accuracy x"] == pytest.approx(0.5) and g["accuracy y"] == pytest.approx(0.75)


def test_paired_gap_groups_and_identical_strategies():
    df = _frame([(p, s, 4, 0, p == "a", 1) for p in "ab" for s in "xy"]).assign(level=lambda d: d["problem_id"])
    g = paired_gap(df, "x", "y", by=["level"])
    assert g["level"].tolist() == ["a", "b"] and (g["gap"] == 0).all() and (g["z"] == 0).all()
    with pytest.raises(ValueError, match="no rows for strategy"):
        paired_gap(df, "x", "z")


def test_cost_to_match_interpolates_in_log_cost():
    # baseline reaches 0.6 at 1600 tokens; the strategy is 0.4 at 100 and 0.8 at 400 tokens, so it
    # reaches 0.6 half-way in log cost: at 200 tokens -> 1600 / 200 = 8x
    df = _frame([
        *[(f"p{i}", "base", 64, 0, i < 3, 1600) for i in range(5)],
        *[(f"p{i}", "fast", 4, 0, i < 2, 100) for i in range(5)],
        *[(f"p{i}", "fast", 16, 0, i < 4, 400) for i in range(5)],
    ])  # fmt: skip
    assert curve(df, "fast")["accuracy"].tolist() == pytest.approx([0.4, 0.8])
    assert cost_to_match(df, "fast", "base") == pytest.approx(8.0)
    # never reached: NaN
    assert math.isnan(cost_to_match(df, "base", "fast"))


def test_cell_gap_pairs_cells_of_different_budgets_by_hand():
    from itslab.scaling.paired import cell_gap

    # coverage at 8 against one sample: problems a, b gain, c stays right, d stays wrong
    df = _frame([
        ("a", "cov", 8, 0, True, 0), ("b", "cov", 8, 0, True, 0), ("c", "cov", 8, 0, True, 0), ("d", "cov", 8, 0, False, 0),
        ("a", "one", 1, 0, False, 0), ("b", "one", 1, 0, False, 0), ("c", "one", 1, 0, True, 0), ("d", "one", 1, 0, False, 0),
    ])  # fmt: skip
    g = cell_gap(df, ("cov", 8), ("one", 1))
    assert (g["gap"], g["n_problems"], g["a"], g["b"]) == (0.5, 4, 0.75, 0.25)
    assert g["se"] == pytest.approx(np.std([1, 1, 0, 0], ddof=1) / 2) and g["z"] == pytest.approx(0.5 / g["se"])
    every = df.assign(correct=df["strategy"] == "cov")  # every problem gains exactly 1: no spread, z = inf
    assert cell_gap(every, ("cov", 8), ("one", 1))["z"] == math.inf
    assert cell_gap(df, ("cov", 8), ("cov", 8))["z"] == 0.0
    assert math.isnan(cell_gap(df[df.problem_id == "a"], ("cov", 8), ("one", 1))["z"])
    with pytest.raises(ValueError, match="no rows for strategy 'cov' at budget 2"):
        cell_gap(df, ("cov", 2), ("one", 1))
