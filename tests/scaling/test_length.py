"""Longer-minus-shorter accuracy within problems: a hand-made answer, median ties and uninformative problems left out."""

import numpy as np
import pytest

from itslab.scaling.length import length_effect


def test_hand_made_effect_ties_and_uninformative_problems():
    ok = np.array(
        [
            [1, 1, 0, 0, 1],  # short right, long wrong; the median sample (30) is in neither half: -1
            [0, 1, 0, 1, 0],  # long half 1/2 right, short half 1/2: 0
            [1, 1, 1, 1, 1],  # always right: left out
            [0, 1, 0, 1, 1],  # equal lengths: left out
        ],
        bool,
    )
    toks = np.array([[10, 20, 40, 50, 30], [10, 20, 40, 50, 30], [1, 2, 3, 4, 5], [7, 7, 7, 7, 7]])
    e = length_effect(ok, toks)
    assert e.n_problems == 2 and e.effect == pytest.approx(-0.5)
    assert e.se == pytest.approx(np.std([-1.0, 0.0], ddof=1) / np.sqrt(2))
    assert np.isnan(e.per_problem[2]) and np.isnan(e.per_problem[3])


def test_no_informative_problem_and_bad_shapes():
    e = length_effect(np.ones((3, 4), bool), np.arange(12).reshape(3, 4))
    assert e.n_problems == 0 and np.isnan(e.effect)
    with pytest.raises(ValueError, match="must both be \\[problems, n\\]"):
        length_effect(np.ones((3, 4), bool), np.ones((3, 5)))
