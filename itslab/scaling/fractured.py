"""Fractured sampling's three axes under a token budget (Liao et al. 2025, arXiv:2505.12992).

A configuration draws n trajectories, cuts each at H depths and decodes m answers per cut; its
expected generated tokens are ``n · (trace + ((H - 1)·m + m - 1) · answer)`` (`fractured_tokens`;
re-read prefixes are prompt tokens, counted apart). `grid` tabulates any accuracy model over
(n, m, H); `allocate` picks the most accurate configuration within a budget, on all three axes or
on one (``axes="n"``: plain sampling, ``"H"``: one trajectory cut deeper, ``"m"``: more answers
after one whole trajectory), so "does the 3-D allocation beat every single axis?" is one call;
`itslab.scaling.frontiers.pareto_frontier` draws the length–accuracy front of the table.
`paper_depths` is the depth set the paper's evaluation code uses for h of H chunks.

>>> fractured_tokens(2, 1, 4, trace=100, answer=10)
260.0
>>> paper_depths(3, 16)
[5, 10, 16]
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

AXES = ("nmH", "n", "m", "H")


def fractured_tokens(n: int, m: int, H: int, *, trace: float, answer: float) -> float:
    """Expected generated tokens of (n, m, H): n traces and ``(H - 1)·m + m - 1`` extra answers each."""
    return float(n * (trace + ((H - 1) * m + m - 1) * answer))


def belief_depths(H: int, n_segments: int) -> list[int]:
    """Complete segments (of `n_segments`) before each of the H cuts at j/H, j = 1..H."""
    if H < 1:
        raise ValueError(f"belief_depths: H must be >= 1, got {H}")
    return [j * n_segments // H for j in range(1, H + 1)]


def paper_depths(h: int, H: int = 16) -> list[int]:
    """The h depths (1-based chunks of H) whose answers the paper's pass@k code pools
    (``np.linspace(H-1, H//h-1, h)``, always including the whole trace)."""
    if not 1 <= h <= H:
        raise ValueError(f"paper_depths: need 1 <= h <= H, got h={h}, H={H}")
    idx = np.linspace(H - 1, H // h - 1, h).astype(int)
    return sorted({int(i) + 1 for i in idx})


def grid(
    accuracy: Callable[[int, int, int], float],
    tokens: Callable[[int, int, int], float],
    *,
    n_max: int = 8,
    m_max: int = 4,
    H_max: int = 16,
) -> pd.DataFrame:
    """Every (n, m, H) up to the maxima with its ``tokens`` and ``accuracy``, and which single axis it lies on."""
    rows = []
    for n in range(1, n_max + 1):
        for m in range(1, m_max + 1):
            for H in range(1, H_max + 1):
                rows.append({"n": n, "m": m, "H": H, "tokens": tokens(n, m, H), "accuracy": accuracy(n, m, H)})
    df = pd.DataFrame(rows)
    one = (df["n"] == 1).astype(int) + (df["m"] == 1).astype(int) + (df["H"] == 1).astype(int)
    axis = np.select(
        [one == 3, (df["m"] == 1) & (df["H"] == 1), (df["n"] == 1) & (df["H"] == 1), (df["n"] == 1) & (df["m"] == 1)],
        ["all", "n", "m", "H"],
        default="nmH",
    )
    return df.assign(axis=axis)


def allocate(table: pd.DataFrame, budget: float, axes: str = "nmH") -> pd.Series:
    """The most accurate row of `table` (from `grid`) with ``tokens <= budget``, on `axes` ("nmH": any;
    "n", "m" or "H": that axis alone); ties go to the cheaper; a budget below one trace is a ValueError."""
    if axes not in AXES:
        raise ValueError(f"allocate: axes must be one of {AXES}, got {axes!r}")
    ok = table["tokens"] <= budget
    if axes != "nmH":
        ok &= table["axis"].isin([axes, "all"])
    if not ok.any():
        raise ValueError(f"allocate: no configuration on axes {axes!r} fits {budget:g} tokens (one trace costs more)")
    sub = table[ok].sort_values(["accuracy", "tokens"], ascending=[False, True], kind="stable")
    return sub.iloc[0]


__all__ = ["AXES", "allocate", "belief_depths", "fractured_tokens", "grid", "paper_depths"]
