"""`itslab.experiments.training_for_search` (notebook 16): the calibrated toy reproduces Chow et
al.'s base numbers, paired gaps by hand, the bank sharpening closed form, and the slider."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from itslab.experiments import training_for_search as tfs
from itslab.toys import losses


def test_calibrated_constants_give_the_papers_base_numbers():
    m = tfs.base_metrics(tfs.ToySetup(), n_problems=4000, seed=1)  # not the calibration draw
    assert m["pass32"] == pytest.approx(tfs.PAPER["pass32_base"], abs=0.02)  # SE about 0.006
    assert m["bo32"] == pytest.approx(tfs.PAPER["bo32_base"], abs=0.02)


def test_calibrate_base_hits_its_targets_exactly_on_its_own_draw():
    s = tfs.calibrate_base(tfs.ToySetup(), n_problems=2000, seed=3)
    m = tfs.base_metrics(s, n_problems=2000, seed=3)
    assert m["pass32"] == pytest.approx(0.600, abs=1e-4) and m["bo32"] == pytest.approx(0.268, abs=1e-4)


def _small():
    return replace(tfs.ToySetup(), n_features=8, n_train=30, steps=20)


def test_run_losses_gaps_by_hand():
    s = _small()
    train_task, test_task = s.split(50, seed=0)
    r = tfs.run_losses(
        train_task,
        test_task,
        [losses.cross_entropy(), losses.direct_coverage(1)],
        steps=20,
        lr=1.0,
        checkpoints=[0, 20],
        ns=[1, 32],
    )
    # DCO at n = 1 is CE: identical runs, a zero gap with a zero SE
    assert r.gap("direct_coverage(n=1)", "cross_entropy", 32) == (0.0, 0.0)
    a = r.per_problem("cross_entropy", "pass")[:, 1] - r.per_problem("cross_entropy", "pass", step=0)[:, 1]
    gap, se = r.gap("cross_entropy", "cross_entropy", 32, step_b=0)
    assert gap == pytest.approx(a.mean()) and se == pytest.approx(a.std(ddof=1) / np.sqrt(50))
    assert r.value("cross_entropy", 1, step=0)[0] == pytest.approx(r.per_problem("cross_entropy", step=0)[:, 0].mean())


def _bank():
    answers = np.array([["4", "4", "5", "6"], ["7", "8", "8", "8"]], dtype=object)
    correct = np.array([[True, True, False, False], [True, False, False, False]])
    return SimpleNamespace(answers=answers, correct=correct)


def test_sharpening_by_hand():
    # problem 0: (2.5, 1.5, 1.5)/5.5 with the mode right; problem 1: (1.5, 3.5)/5 with the mode wrong
    got = tfs.sharpened(_bank(), 0.5, [1])[:, 0]
    assert got == pytest.approx([2.5**2 / (2.5**2 + 2 * 1.5**2), 1.5**2 / (1.5**2 + 3.5**2)])
    assert tfs.sharpening_gap(_bank(), 1.0, 4) == (0.0, 0.0)
    t = tfs.sharpening_table(_bank(), [0.5, 1.0], [1, 2])
    assert len(t) == 4 and set(t.columns) == {"temperature", "k", "value", "se"}
    with pytest.raises(ValueError, match="temperature must be > 0"):
        tfs.sharpened(_bank(), 0.0, [1])


def test_bank_cross_fit_tests_every_problem_once():
    answers = np.array([[str(i % 3), str(i % 2), "9", "9"] for i in range(12)], dtype=object)
    correct = np.array([[True, False, False, False]] * 12)
    f = tfs.bank_cross_fit(
        SimpleNamespace(answers=answers, correct=correct),
        [losses.cross_entropy()],
        steps=3,
        lr=1.0,
        checkpoints=[0, 3],
        ns=[1, 2],
        n_features=4,
    )
    assert sum(fold.test.n_problems for fold in f) == 12
    assert tfs.fold_gap(f, "cross_entropy", "cross_entropy", 2) == (0.0, 0.0)


def test_live_dco_at_one_is_ce():
    d = tfs.live_dco(1, steps=5, n_test=50).pivot(index="k", columns="model", values="value")
    assert list(d.columns) == ["base", "cross_entropy", "direct_coverage(n=1)"]
    assert d["direct_coverage(n=1)"].to_numpy() == pytest.approx(d["cross_entropy"].to_numpy())


@pytest.mark.slow
def test_calibrated_constants_are_what_the_calibration_finds():
    """Full mode's calibration from scratch gives the constants smoke mode uses (minutes on 2 cores)."""
    s = tfs.calibrate_signal(tfs.calibrate_base(tfs.ToySetup()), seed=0)
    assert s.spread == pytest.approx(tfs.CALIBRATED["spread"], abs=1e-4)
    assert s.separation == pytest.approx(tfs.CALIBRATED["separation"], abs=1e-4)
    assert s.signal == pytest.approx(tfs.CALIBRATED["signal"], abs=2e-3)
