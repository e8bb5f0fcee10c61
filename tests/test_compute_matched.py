"""Solve or verify at matched compute (itslab.scaling.compute_matched; Singhi et al. 2025)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from itslab.rng import as_rng
from itslab.scaling.compute_matched import (
    compute_cost,
    compute_to_match,
    frontier,
    generative_verdicts,
    solve_verify_frame,
)


def test_verdict_rates_match_tpr_fpr():
    # 20k correct and 20k wrong solutions: one verdict's acceptance rate is tpr / fpr within 4 SE (seed 0)
    correct = np.array([[True] * 20_000, [False] * 20_000])
    for kappa in (np.inf, 2.0):
        v = generative_verdicts(correct, 3, tpr=0.8, fpr=0.3, concentration=kappa, rng=as_rng(0))
        assert v.shape == (2, 20_000, 3)
        assert abs(v[0, :, 0].mean() - 0.8) < 4 * np.sqrt(0.8 * 0.2 / 20_000)
        assert abs(v[1, :, 0].mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20_000)


def test_concentration_correlates_verdicts():
    # small κ: verdicts on one solution agree (variance of the mean of 8 verdicts far above the binomial one)
    correct = np.zeros((1, 5000), dtype=bool)
    indep = generative_verdicts(correct, 8, tpr=0.8, fpr=0.3, rng=as_rng(1)).mean(axis=2).var()
    corr = generative_verdicts(correct, 8, tpr=0.8, fpr=0.3, concentration=1.0, rng=as_rng(1)).mean(axis=2).var()
    assert indep == pytest.approx(0.3 * 0.7 / 8, rel=0.1)
    assert corr > 3 * indep


def test_perfect_verifier_gives_coverage():
    # tpr=1, fpr=0: GenRM picks a correct solution whenever one exists, i.e. accuracy = pass@S exactly
    rng = as_rng(2)
    correct = rng.random((50, 16)) < 0.2
    answers = np.where(correct, "g", rng.integers(0, 3, size=(50, 16)).astype(str)).astype(object)
    v = generative_verdicts(correct, 2, tpr=1.0, fpr=0.0, rng=rng)
    f = solve_verify_frame(answers, correct, v, solutions=[1, 4, 16], verifications=[1, 2], lam=0.5, rng=rng)
    from itslab.scaling import pass_at_k_matrix

    cov = pass_at_k_matrix(16, correct.sum(axis=1), [1, 4, 16]).mean(axis=0)
    g = f[(f.method == "GenRM") & (f.V == 1)].sort_values("S")
    assert np.allclose(g["accuracy"], cov)
    assert set(f.columns) >= {"method", "S", "V", "compute", "accuracy", "se"}
    assert f.loc[(f.method == "GenRM") & (f.S == 4) & (f.V == 2), "compute"].item() == pytest.approx(4 * (1 + 0.5 * 2))
    assert (f.loc[f.method == "SC", "V"] == 0).all()


def test_compute_cost_and_frontier():
    assert compute_cost(8, 0, 1.0) == 8 and compute_cost(8, 4, 0.5) == 24
    with pytest.raises(ValueError):
        compute_cost(1, 1, -1.0)
    frame = pd.DataFrame(
        {
            "method": ["GenRM"] * 4 + ["SC"] * 2,
            "S": [1, 2, 2, 4, 1, 8],
            "V": [1, 1, 2, 1, 0, 0],
            "compute": [2, 4, 6, 8, 1, 8],
            "accuracy": [0.3, 0.5, 0.45, 0.6, 0.3, 0.55],
        }
    )
    fr = frontier(frame)
    assert fr["compute"].tolist() == [2, 4, 8]  # (2, 2) costs more than (2, 1) and is worse: off the frontier
    m = compute_to_match(frame, tol=0.0)
    assert m["sc_best"] == 0.55 and m["compute_sc"] == 8 and m["compute_genrm"] == 8 and m["ratio"] == 1.0
    with pytest.raises(ValueError, match="method"):
        frontier(frame, "nope")


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_verifications"):
        generative_verdicts(np.ones((1, 2), bool), 0, tpr=0.5, fpr=0.5, rng=as_rng(0))
    with pytest.raises(ValueError, match="tpr"):
        generative_verdicts(np.ones((1, 2), bool), 1, tpr=1.5, fpr=0.5, rng=as_rng(0))
    with pytest.raises(ValueError, match="exceeds"):
        solve_verify_frame(
            np.zeros((1, 2), object),
            np.zeros((1, 2), bool),
            np.zeros((1, 2, 1), bool),
            solutions=[1],
            verifications=[2],
            rng=as_rng(0),
        )
