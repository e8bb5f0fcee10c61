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
    genrm_accuracy,
    genrm_frame,
    solve_verify_frame,
    verdict_count_pmf,
    verifier_for_ratio,
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


def test_verdict_count_pmf():
    for kappa in (np.inf, 2.0):
        f = verdict_count_pmf(8, 0.7, kappa)
        assert f.shape == (9,) and f.sum() == pytest.approx(1.0) and f @ np.arange(9) == pytest.approx(8 * 0.7)
    assert verdict_count_pmf(4, 1.0, 2.0)[-1] == pytest.approx(1.0)  # a certain rate stays certain for any κ
    assert verdict_count_pmf(8, 0.7, 2.0).var() > 0 and verdict_count_pmf(8, 0.7, 2.0)[0] > verdict_count_pmf(8, 0.7)[0]


def test_genrm_closed_form_matches_the_sampled_frame():
    # 3000 problems, p ~ Beta(2, 2), pools of 16: the exact-over-subsets estimate at S = 16 is the closed form's
    # expectation up to sampling error (SE <= 0.007 here; tolerance 0.02 is about 3 SE)
    rng = as_rng(4)
    p = rng.beta(2, 2, 3000)
    correct = rng.random((3000, 16)) < p[:, None]
    answers = np.where(correct, "g", "w").astype(object)
    v = generative_verdicts(correct, 8, tpr=0.7, fpr=0.3, concentration=2.0, rng=rng)
    sampled = solve_verify_frame(
        answers, correct, v, solutions=[1, 4, 16], verifications=[1, 8], rng=rng, include_sc=False
    )
    assert set(sampled["method"]) == {"GenRM"}
    closed = genrm_frame(p, [1, 4, 16], [1, 8], tpr=0.7, fpr=0.3, concentration=2.0, lam=0.5)
    both = sampled.merge(closed, on=["S", "V"], suffixes=("_sampled", "_closed"))
    assert len(both) == 6 and np.all(np.abs(both["accuracy_sampled"] - both["accuracy_closed"]) < 0.02)
    assert np.allclose(both["compute_closed"], both["S"] * (1 + 0.5 * both["V"]))


def test_genrm_closed_form_limits():
    p = np.array([0.1, 0.5, 0.9])
    s = [1, 3, 10]
    perfect = genrm_accuracy(p, s, [1, 4], tpr=1.0, fpr=0.0)  # picks a correct solution whenever one exists
    assert np.allclose(perfect, (1 - (1 - p[:, None]) ** np.array(s)).mean(axis=0)[:, None])
    blind = genrm_accuracy(p, s, [1, 4], tpr=0.6, fpr=0.6, concentration=2.0)  # verdicts carry no signal
    assert np.allclose(blind, p.mean())
    assert np.allclose(genrm_accuracy(p, [1], [2, 8], tpr=0.9, fpr=0.2), p.mean())  # one solution: nothing to pick
    w = genrm_accuracy(p, s, [4], tpr=0.8, fpr=0.3, weights=[0, 0, 1])
    assert np.allclose(w, genrm_accuracy(0.9, s, [4], tpr=0.8, fpr=0.3))
    with pytest.raises(ValueError, match="tpr"):
        genrm_accuracy(p, s, [1], tpr=1.2, fpr=0.1)


def test_compute_to_match_interpolates_in_log_compute():
    frame = pd.DataFrame(
        {
            "method": ["SC"] * 3 + ["GenRM"] * 3,
            "S": [1, 2, 4, 1, 2, 4],
            "V": [0, 0, 0, 1, 1, 1],
            "compute": [1, 2, 4, 2, 8, 32],
            "accuracy": [0.5, 0.7, 0.8, 0.4, 0.6, 1.0],
        }
    )
    grid = compute_to_match(frame, tol=0.0)
    assert grid["compute_sc"] == 4 and grid["compute_genrm"] == 32 and grid["ratio"] == 8
    smooth = compute_to_match(frame, tol=0.0, interpolate=True)  # 0.8 is half way from 0.6 (at 8) to 1.0 (at 32)
    assert smooth["compute_sc"] == pytest.approx(4) and smooth["compute_genrm"] == pytest.approx(16)
    assert smooth["ratio"] == pytest.approx(4)
    never = compute_to_match(
        frame.assign(accuracy=np.where(frame.method == "GenRM", 0.1, frame.accuracy)), interpolate=True
    )
    assert np.isinf(never["ratio"])


def test_verifier_for_ratio_round_trip():
    rng = as_rng(5)
    p = rng.beta(2, 2, 300)
    s, v = [1, 2, 4, 8, 16, 32], [1, 2, 4, 8]
    sc = pd.DataFrame(
        {"method": "SC", "S": s, "V": 0, "compute": np.array(s, float), "accuracy": [0.5, 0.5, 0.62, 0.71, 0.77, 0.80]}
    )
    a = verifier_for_ratio(3.0, sc, p, s, v, concentration=4.0)

    def ratio(acc):
        g = genrm_frame(p, s, v, tpr=acc, fpr=1 - acc, concentration=4.0)
        return compute_to_match(pd.concat([sc, g]), interpolate=True)["ratio"]

    # the ratio crosses 3 at a (it may jump there: a configuration joins GenRM's frontier)
    assert ratio(a - 1e-3) >= 3.0 >= ratio(a + 1e-3)
    assert verifier_for_ratio(1.5, sc, p, s, v, concentration=4.0) > a  # less compute asks for a better verifier
    with pytest.raises(ValueError, match="no single-verdict accuracy"):
        verifier_for_ratio(1e-3, sc, p, s, v, concentration=4.0)
