"""The overthinking simulator: its vectorised closed form equals `SequentialSimGenerator.p_correct`."""

import numpy as np
import pytest

from itslab.experiments import overthinking


def test_thinking_curve_matches_the_simulator_closed_form():
    problems, gen = overthinking.suite(30, 0.95, 0.6, rate=0.3, seed=1)
    c0 = np.array([gen.p_correct(p) for p in problems])
    curve = overthinking.thinking_curve(c0, p_fix=gen.p_fix, p_break=gen.p_break, max_waits=6)
    for m in (0, 1, 3, 6):
        assert curve[m] == pytest.approx(np.mean([gen.p_correct(p, n_waits=m) for p in problems]))
    assert gen.p_fix / (gen.p_fix + gen.p_break) == pytest.approx(0.6)
    assert curve[0] > curve[-1] > 0.6
    with pytest.raises(ValueError, match="overthinking.suite"):
        overthinking.suite(3, 1.2, 0.5)
