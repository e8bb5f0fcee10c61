"""Notebook 13's experiment helpers: `compare` and `strategy_bandit` over the calibrated suite."""

import numpy as np

from itslab.experiments import tree_search as ts


def test_calibrated_suite_matches_the_papers_one_pass_rate():
    suite = ts.calibrated_suite(3, seed=0)
    assert abs(suite.a / (suite.a + suite.b) - ts.PAPER["one_pass"]) < 1e-6


def test_compare_adds_the_columns_the_hook_reads():
    suite = ts.calibrated_suite(4, seed=0)
    df = ts.compare(suite, [4], which=["repeated sampling"], columns=lambda r: {"n_candidates": len(r.candidates)})
    assert len(df) == 4 and set(df["strategy"]) == {"repeated sampling"}
    assert (df["n_candidates"] == df["samples"]).all()  # best-of-n keeps every sample it drew


def test_strategy_bandit_keeps_each_regime_apart():
    df = ts.strategy_bandit(3, 8, p_fix=(0.0, 0.5), seed=0)
    assert len(df) == 2 * 3 * len(ts.META_REASONER)
    assert df.groupby("problem_id")["p_fix"].nunique().eq(1).all()  # pairs never cross regimes
    assert set(df["problem_id"]) == {f"p_fix={pf}/{t}" for pf in (0.0, 0.5) for t in set(df["task"])}
    only_restart = df[df["strategy"] == "only restart"]["restart_share"].dropna()
    assert len(only_restart) and np.allclose(only_restart, 1.0)
    assert df[df["strategy"] == "only continue"]["restart_share"].fillna(0.0).eq(0.0).all()
