"""Tuned against default on a problem-level split: the choice sees only train problems, the gain is paired
over test problems, ties keep the default, bad tables are named."""

import numpy as np
import pandas as pd
import pytest

from itslab.scaling.tuning import repeated_tuning, tune_on_split


def table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "default": (rng.random(n) < 0.5).astype(float),
            "better": (rng.random(n) < 0.8).astype(float),
            "worse": (rng.random(n) < 0.2).astype(float),
        },
        index=[f"p{i}" for i in range(n)],
    )


def test_choice_is_the_train_argmax_and_the_gain_is_paired_on_test():
    t = table()
    r = tune_on_split(t, "default", np.random.default_rng(5), test_fraction=0.25)
    assert r.n_test == 10 and r.n_train == 30
    assert r.chosen == r.train.idxmax() and r.train.index.tolist() == ["default", "better", "worse"]
    perm = np.random.default_rng(5).permutation(len(t))  # the same split, rebuilt
    test = t.iloc[perm[:10]]
    d = test[r.chosen] - test["default"]
    assert r.gain == pytest.approx(d.mean()) and r.gain_se == pytest.approx(d.std(ddof=1) / np.sqrt(10))
    assert r.test_tuned - r.test_default == pytest.approx(r.gain)
    assert r.optimism == pytest.approx(r.train[r.chosen] - test[r.chosen].mean())


def test_a_tie_keeps_the_default_and_equal_configs_gain_nothing():
    t = pd.DataFrame({"default": [1.0, 0.0] * 5, "same": [1.0, 0.0] * 5})
    r = tune_on_split(t, "default", np.random.default_rng(0))
    assert r.chosen == "default" and r.gain == 0.0


def test_repeated_splits_and_bad_tables():
    rows = repeated_tuning(table(), "default", np.random.default_rng(1), n_splits=7)
    assert len(rows) == 7 and set(rows["chosen"]) <= {"default", "better", "worse"}
    assert (rows["chosen"] == "better").mean() > 0.5
    with pytest.raises(ValueError, match="default 'nope' is not a column"):
        tune_on_split(table(), "nope", np.random.default_rng(0))
    bad = table()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="configuration 'better' has no result on some problems"):
        tune_on_split(bad, "default", np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 4 problems"):
        tune_on_split(table(3), "default", np.random.default_rng(0))
