"""One accuracy table and one law bootstrap: the report, `experiments.accuracy_table` and the plots
agree on accuracy ± SE when there are several seeds (before, `accuracy_table` took the SE over
problem × seed rows), and `report.fit_laws` is `scaling.bootstrap` with the accuracy bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from itslab import experiments
from itslab.experiments import report
from itslab.scaling import bootstrap, config_accuracy, wilson_interval


def _frame(seeds=3, problems=30, seed=0):
    rng = np.random.default_rng(seed)
    skill = rng.uniform(0, 1, problems)
    rows = []
    for b in (1, 2, 4, 8):
        for i in range(problems):
            for s in range(seeds):
                p = 1 - (1 - skill[i]) ** b
                rows.append(
                    {
                        "strategy": "s",
                        "budget": b,
                        "problem_id": f"p{i}",
                        "seed": s,
                        "correct": bool(rng.random() < p),
                        "generated_tokens": 10 * b,
                        "samples": b,
                        "verifier_calls": 0,
                        "cached_tokens": 0,
                    }
                )
    return pd.DataFrame(rows)


def test_report_experiments_and_plots_share_one_table():
    df = _frame()
    a = report.strategy_table(df).set_index("budget")
    b = experiments.accuracy_table(df).set_index("budget")
    c = config_accuracy(df, group=["strategy", "budget"]).set_index("budget")
    for col in ("accuracy", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(a[col], b[col])
        np.testing.assert_allclose(a[col], c[col])
    per_problem = df.groupby(["budget", "problem_id"])["correct"].mean().unstack("budget")
    np.testing.assert_allclose(a["se"], per_problem.std(ddof=1) / np.sqrt(30))


def test_wilson_interval_is_honest_at_zero_and_one():
    lo, hi = wilson_interval(np.array([0.0, 1.0, 0.5]), np.array([5, 5, 100]))
    assert lo[0] == 0 and 0.4 < hi[0] < 0.45 and hi[1] == 1 and 0.55 < lo[1] < 0.6
    assert lo[2] == pytest.approx(0.404, abs=2e-3) and hi[2] == pytest.approx(0.596, abs=2e-3)


def test_fit_laws_is_the_bounded_scaling_bootstrap():
    df = _frame(seeds=1, problems=60)
    got = report.fit_laws(df, n_boot=50, seed=3)["s"]
    y = df.groupby(["problem_id", "budget"])["correct"].mean().unstack("budget").to_numpy(float)
    bs = bootstrap(report.LAW, [1, 2, 4, 8], y, rng=np.random.default_rng(3), n_boot=50, bounds=report.ACCURACY_BOUNDS)
    row = bs.param_ci.set_index("param").loc["c"]
    assert got["ceiling_ci"] == (pytest.approx(row["ci_low"]), pytest.approx(row["ci_high"]))
    assert 0.0 <= bs.fit.as_dict()["c"] <= 1.0


def test_a_parameter_stuck_at_a_bound_is_flagged_not_given_se_zero():
    from itslab.scaling import fit

    ks = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    flat = np.full(len(ks), 0.3)  # no growth: the amplitude a sits on its lower bound 0
    f = fit(report.LAW, ks, flat, bounds=report.ACCURACY_BOUNDS)
    assert f.success and f.at_bound == ("a",) and np.isnan(f.se[0]) and "at a bound: a" in f.message
    over = np.minimum(1.0, 1.2 - 0.5 * ks**-0.3)  # a ceiling above 1 in the data: c is held at its bound 1
    h = fit(report.LAW, ks, over, bounds=report.ACCURACY_BOUNDS)
    assert h.at_bound == ("c",) and np.isnan(h.se[2])
    rising = 0.9 - 0.5 * ks**-0.5
    g = fit(report.LAW, ks, rising, bounds=report.ACCURACY_BOUNDS)
    assert g.at_bound == () and all(np.isfinite(g.se))
