"""The (n, m, H) grid and optimiser (itslab.scaling.fractured): token cost, the paper's depth sets, and
allocation on all three axes or one."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.scaling.fractured import allocate, belief_depths, fractured_tokens, grid, paper_depths


def test_tokens_count_each_extra_answer_once():
    assert fractured_tokens(1, 1, 1, trace=100, answer=10) == 100
    assert fractured_tokens(1, 1, 4, trace=100, answer=10) == 130  # three cuts before the end
    assert fractured_tokens(2, 3, 2, trace=100, answer=10) == 2 * (100 + (3 + 2) * 10)


def test_paper_depths_follow_its_linspace_rule():
    assert paper_depths(1) == [16]
    assert paper_depths(2) == [8, 16]
    assert paper_depths(4) == [4, 8, 12, 16]
    assert paper_depths(5) == [3, 6, 9, 12, 16]
    with pytest.raises(ValueError):
        paper_depths(0)
    assert belief_depths(4, 16) == [4, 8, 12, 16] and belief_depths(3, 16) == [5, 10, 16]


def _toy_grid():
    # independent answers: a trace right with 0.3, a cut's answer with 0.1
    return grid(
        lambda n, m, H: 1 - (0.7 * 0.9 ** ((H - 1) * m + m - 1)) ** n,
        lambda n, m, H: fractured_tokens(n, m, H, trace=100, answer=10),
        n_max=4,
        m_max=3,
        H_max=6,
    )


def test_grid_labels_each_single_axis():
    t = _toy_grid()
    assert set(t["axis"]) == {"all", "n", "m", "H", "nmH"}
    assert (t.loc[t["axis"] == "n", ["m", "H"]] == 1).all().all()
    assert len(t) == 4 * 3 * 6


def test_allocate_is_the_best_within_budget_on_its_axes():
    t = _toy_grid()
    best = allocate(t, 200)
    fits = t[t["tokens"] <= 200]
    assert best["accuracy"] == fits["accuracy"].max() and best["tokens"] <= 200
    for ax in ("n", "m", "H"):
        one = allocate(t, 200, ax)
        assert one["axis"] in (ax, "all") and one["accuracy"] <= best["accuracy"] + 1e-12
    # here an answer costs a tenth of a trace for a third of its chance: cutting deeper wins at equal tokens
    assert allocate(t, 200, "H")["accuracy"] > allocate(t, 200, "n")["accuracy"]
    with pytest.raises(ValueError, match="no configuration"):
        allocate(t, 50)
    with pytest.raises(ValueError, match="axes"):
        allocate(t, 200, "x")
    assert np.isclose(allocate(t, 100)["accuracy"], 0.3)
