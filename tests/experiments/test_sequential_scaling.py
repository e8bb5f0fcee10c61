"""Notebook 14's experiments: the calibration, the fast model against the strategy on the simulator,
the toy APR search model, and the real-run record helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from itslab.experiments import budget_forcing_real as bfr
from itslab.experiments import parallel_reasoning as apr
from itslab.experiments import sequential_scaling as ss


def test_calibration_hits_s1_and_m1():
    p_fix, p_break = ss.calibrate_revisions()
    c = ss.revision_curve(0.5, p_fix, p_break, 30)
    assert c[6] == pytest.approx(0.567, abs=1e-6) and int(np.argmax(c)) in (6, 7)
    assert c[30] < c[6] - 0.05  # breaks that do not fade: more thinking hurts past the optimum
    p = ss.suite_params()
    first = p["mean_think_tokens"] * (1 + p["length_difficulty"] / 2) * (1 + (p["wrong_length_factor"] - 1) / 2)
    assert first + 6 * p["mean_wait_tokens"] == pytest.approx(4096)


def test_fast_model_matches_the_strategy_on_the_simulator():
    suite = ss.calibrated_suite(150, seed=5)
    df = ss.run_grid(suite, ss.forced_configs([1024, 3072]))
    got = ss.summary(df)["accuracy"].to_numpy()
    fast = ss.forced_curve(suite.params, [1024, 3072], n_traces=40000, seed=0)["accuracy"].to_numpy()
    assert ss.max_z(got, fast, 150) < 3.0  # 150 problems: SE about 0.04 per budget
    assert (df["thinking_tokens"] == df["strategy"].str.split().str[1].astype(int)).all()


def test_wait_curve_and_closed_form_agree():
    suite = ss.calibrated_suite(200, seed=6)
    df = ss.run_grid(suite, ss.wait_configs(3))
    wc = ss.wait_curve(df, "wait x3")
    assert list(wc["n_waits"]) == [0, 1, 2, 3] and wc["gain"].iloc[0] == 0.0
    assert ss.max_z(wc["accuracy"], ss.closed_form_waits(suite, 3), 200) < 3.0


def test_gap_is_paired_and_summary_has_costs():
    df = pd.DataFrame(
        {
            "problem_id": ["a", "b", "a", "b"],
            "strategy": ["x", "x", "y", "y"],
            "budget": 0,
            "seed": 0,
            "correct": [True, True, False, True],
            "generated_tokens": [1, 2, 3, 4],
            "read_tokens": 0,
            "calls": 1,
            "latency_s": 0.5,
        }
    )
    assert ss.gap(df, "x", "y") == (0.5, 0.5)
    s = ss.summary(df)
    assert list(s.index) == ["x", "y"] and s.loc["y", "generated_tokens"] == 3.5


def test_apr_toy_calibration_and_monotone_in_children():
    m = apr.calibrated()
    assert apr.success(m, apr.serial_paths(m, 4096)) == pytest.approx(0.6)
    wins = [apr.success(m, apr.apr_paths(m, 4096, k)) for k in (1, 2, 4, 8)]
    assert all(b > a for a, b in zip(wins, wins[1:]))
    serial, par = apr.simulate(m, 4096, 4, 20000, np.random.default_rng(0))
    assert not (serial & ~par).any()  # APR's first paths are the serial search's
    assert serial.mean() == pytest.approx(0.6, abs=0.015) and par.mean() == pytest.approx(wins[2], abs=0.015)
    # a window too small for one path: no search at all
    assert apr.serial_paths(m, 150) == 0 and apr.success(m, 0) == 0.0


def test_real_record_roundtrip(tmp_path):
    rows = [
        {
            "problem_id": "p1",
            "config": "wait x2 (probed)",
            "answers": ["3", "4", "4"],
            "correct": [False, True, True],
            "thinking_tokens": 50,
            "probe_thinking_tokens": [10, 30, 50],
            "forced_end": False,
            "n_waits": 2,
            "calls": 3,
            "prompt_tokens": 10,
            "cached_tokens": 90,
            "inserted_tokens": 2,
        },
        {
            "problem_id": "p2",
            "config": "wait x2 (probed)",
            "answers": ["5", "6"],
            "correct": [True, False],
            "thinking_tokens": 70,
            "probe_thinking_tokens": [20, 70],
            "forced_end": True,
            "n_waits": 1,
            "calls": 3,
            "prompt_tokens": 12,
            "cached_tokens": 80,
            "inserted_tokens": 3,
        },
    ]
    path = bfr.write(rows, tmp_path / "r.json", {"model": "m"})
    df, meta = bfr.load_record(path)
    assert meta == {"model": "m"} and len(df) == 2
    bw = bfr.by_wait(df)
    # p2 was stopped by its cap after one "Wait": its final answer stands for the second
    assert list(bw["accuracy"]) == [0.5, 0.5, 0.5]
    assert list(bw["fixed"]) == [0.0, 0.5, 0.0] and list(bw["broken"]) == [0.0, 0.5, 0.0]
    assert list(bw["thinking_tokens"]) == [15.0, 50.0, 60.0]
    assert bfr.paired_change(df, "correct") == (0.0, 1.0)
    assert bfr.paired_change(df, "probe_thinking_tokens") == (45.0, 5.0)
    s = bfr.summary(df)
    assert s.loc["wait x2 (probed)", "accuracy"] == 0.5 and s.loc["wait x2 (probed)", "forced_end"] == 0.5
    assert bfr._number("1,234.0") == "1234" and bfr._number("2 + 3") is None and bfr._number(None) is None
