"""More reasoning that hurts, on the sequential simulator (notebook 18; Mind Your Step).

Liu et al. 2024 ("Mind Your Step (by Step)", arXiv:2410.21333) find tasks where reasoning lowers
accuracy (up to 36.3 points, o1-preview against GPT-4o zero-shot). `suite` builds a
`SequentialSimGenerator` whose "Wait" extensions (s1 budget forcing) drift accuracy from a
zero-shot value to a long-thinking one; `thinking_curve` is its closed form, vectorised over
problems, so a slider can recompute it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from itslab.types import Problem


def thinking_curve(
    c0: np.ndarray,
    *,
    p_fix: float,
    p_break: float,
    max_waits: int,
    fix_decay: float = 1.0,
    break_decay: float = 1.0,
) -> np.ndarray:
    """Mean exact pass@1 (T = 1) after m = 0..`max_waits` "Wait" extensions of s1 budget forcing,
    from each problem's first-answer accuracy `c0`: the sequential simulator's recursion
    c_m = c_{m-1}(1 - b_m) + (1 - c_{m-1}) f_m with f_m = p_fix·fix_decay^(m-1), b_m likewise,
    vectorised over problems (`SequentialSimGenerator.p_correct` loops one problem at a time)."""
    c = np.asarray(c0, dtype=np.float64)
    out = [c.mean()]
    for m in range(1, max_waits + 1):
        f, b = p_fix * fix_decay ** (m - 1), p_break * break_decay ** (m - 1)
        c = c * (1.0 - b) + (1.0 - c) * f
        out.append(c.mean())
    return np.array(out)


def suite(
    n_problems: int, zero_shot: float, long_thinking: float, *, rate: float = 0.2, seed: int = 0
) -> tuple[list[Problem], Any]:
    """A sequential simulator where thinking longer drifts accuracy from `zero_shot` to `long_thinking`.

    pass@1 ~ Beta with mean `zero_shot` (concentration 4: a stated assumption); each "Wait" revisits
    the answer, fixing a wrong one with p_fix and breaking a right one with p_break, no decay, so
    accuracy after m extensions is c∞ + (p − c∞)(1 − rate)^m with c∞ = p_fix / (p_fix + p_break)
    = `long_thinking` and `rate` = p_fix + p_break (assumed: the speed, not the end point).
    """
    from itslab.generators.simulated import make_suite

    if not (0 < zero_shot < 1 and 0 < long_thinking < 1 and 0 < rate <= 1):
        raise ValueError(
            f"overthinking.suite: need 0 < accuracies < 1 and 0 < rate <= 1, got {zero_shot}, {long_thinking}, {rate}"
        )
    conc = 4.0
    return make_suite(
        n_problems,
        seed=seed,
        kind="sequential",
        a=zero_shot * conc,
        b=(1 - zero_shot) * conc,
        p_fix=long_thinking * rate,
        p_break=(1 - long_thinking) * rate,
        decay=1.0,
    )
