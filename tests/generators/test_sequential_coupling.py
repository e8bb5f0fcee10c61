"""The sequential simulator's length–correctness coupling: fixes that fade faster than breaks (an
interior optimum of forced thinking), and wrong first passes that run longer."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.generators.simulated import THINK_END, SequentialSimGenerator, make_suite
from itslab.types import Request

BIG = 100_000


def test_default_decays_keep_the_model_and_its_id():
    problems, gen = make_suite(5, seed=1, kind="sequential")
    same = SequentialSimGenerator(problems, seed=1, fix_decay=0.8, break_decay=0.8, wrong_length_factor=1.0)
    assert same.model_id == gen.model_id
    other = SequentialSimGenerator(problems, seed=1, break_decay=1.0)
    assert other.model_id != gen.model_id
    assert gen.fix_break(3) == pytest.approx((0.3 * 0.64, 0.05 * 0.64))
    assert other.fix_break(3) == pytest.approx((0.3 * 0.64, 0.05))


def test_fixes_fading_faster_than_breaks_give_an_interior_optimum():
    problems, gen = make_suite(50, seed=2, kind="sequential", p_fix=0.3, p_break=0.05, fix_decay=0.6, break_decay=1.0)
    curve = np.array([np.mean([gen.p_correct(p, n_waits=k) for p in problems]) for k in range(30)])
    k_best = int(np.argmax(curve))
    assert 0 < k_best < 29 and curve[k_best] - curve[-1] > 0.1
    # equal decays: the recursion moves monotonically towards f / (f + b), no interior optimum
    _, flat = make_suite(50, seed=2, kind="sequential", p_fix=0.3, p_break=0.05, decay=0.6)
    mono = np.array([np.mean([flat.p_correct(p, n_waits=k) for p in problems]) for k in range(30)])
    assert np.all(np.diff(mono) >= -1e-12)


def test_wrong_first_passes_are_longer_by_the_factor():
    problems, gen = make_suite(60, seed=4, kind="sequential", wrong_length_factor=1.5, length_sigma=0.2)
    outs = gen.generate([Request(p.prompt, n=20, seed=1, stop=(THINK_END,), max_tokens=BIG) for p in problems])
    ratios = []
    for cs in outs:
        right = [c.n_tokens for c in cs if c.meta["sim_correct"]]
        wrong = [c.n_tokens for c in cs if not c.meta["sim_correct"]]
        if len(right) >= 3 and len(wrong) >= 3:
            ratios.append(np.mean(wrong) / np.mean(right))
    # per-problem ratio of means: 1.5 on the thinking body (a fixed ~10-token tail pulls it down a little)
    assert len(ratios) > 20 and 1.3 < np.median(ratios) < 1.6


@pytest.mark.parametrize("bad", [{"fix_decay": 1.5}, {"break_decay": -0.1}, {"wrong_length_factor": 0.0}])
def test_bad_coupling_parameters(bad):
    problems, _ = make_suite(2, seed=0, kind="sequential")
    with pytest.raises(ValueError):
        SequentialSimGenerator(problems, **bad)
