"""Known-answer tests for stopping replays and selective answering (hand-built pools)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.scaling import (
    adaptive_vote,
    bootstrap_counts,
    calibration_error_se,
    early_stop,
    expected_calibration_error,
    majority_at_k,
    reliability,
    risk_coverage,
    selective_answer,
    selective_gain,
)


def test_adaptive_vote_fixed_equals_majority_at_n():
    rng = np.random.default_rng(0)
    answers = rng.choice(np.array(["a", "b", "c"], dtype=object), size=(60, 7), p=[0.5, 0.3, 0.2])
    correct = answers == "a"
    trace = adaptive_vote(answers, correct, rng=np.random.default_rng(1), n_orders=3)
    exact = majority_at_k(answers, correct, [7], rng=np.random.default_rng(0))["value"].iloc[0]
    # n = 7 votes over three answers can tie (3-3-1): the replay breaks ties by first seen, maj@k splits them
    ties = np.array([sorted(np.unique(r, return_counts=True)[1])[-2:] == [3, 3] for r in answers])
    assert abs(trace.fixed(7).correct.mean() - exact) <= ties.mean() / 2 + 1e-9


def test_adaptive_vote_stops_on_unanimity():
    answers = np.array([["x"] * 10, ["x", "y"] * 5], dtype=object)
    correct = answers == "x"
    res = adaptive_vote(answers, correct, rng=np.random.default_rng(0), n_orders=2).at(0.95)
    assert res.samples[0] == 4 and res.correct[0] == 1.0  # 1 - 2^-5 >= 0.95 after four votes
    assert res.samples[1] > 4


def test_adaptive_vote_abstentions_cast_no_vote():
    answers = np.array([[None, None, "x", "x", "x", "x"]], dtype=object)
    t = adaptive_vote(
        answers, np.array([[False, False, True, True, True, True]]), rng=np.random.default_rng(0), n_orders=1
    )
    res = t.at(0.95)  # stops at the fourth "x", wherever the two abstentions fell
    assert 4 <= res.samples[0] <= 6 and res.correct[0] == 1.0
    assert t.at(0.95, max_samples=2).correct[0] <= 1.0


def test_early_stop_picks_the_running_best():
    scores = np.array([[0.2, 0.6, 0.5, 0.95, 0.1]])
    ok = np.array([[False, True, False, False, True]])
    t = early_stop(scores, ok, rng=np.random.default_rng(0), n_orders=4000)
    assert t.fixed(5).correct[0] == 0.0  # the best of all five (0.95) is wrong
    # at 0.9 every order stops on the 0.95 sample (wrong), which sits at each position 1..5 equally
    # often: mean position 3, sd sqrt(2) per order, so the 4000-order mean is within 0.1 (4.5 SE; seed 0)
    at9 = t.at(0.9)
    assert at9.correct[0] == 0.0 and at9.samples[0] == pytest.approx(3.0, abs=0.1)
    # at 0.55 it stops on the first of {0.6 (right), 0.95 (wrong)}: 6 / 3 = 2 samples, right half the time
    at55 = t.at(0.55)
    assert at55.samples[0] == pytest.approx(2.0, abs=0.1) and at55.correct[0] == pytest.approx(0.5, abs=0.04)
    one = t.at(-np.inf)
    assert one.samples[0] == 1 and one.correct[0] == pytest.approx(0.4, abs=0.04)  # the first sample: 2 of 5 right


def test_unshuffled_replay_reads_the_recorded_order():
    scores = np.array([[0.2, 0.6, 0.5, 0.95, 0.1], [0.1, 0.3, 0.2, 0.4, 0.35]])
    ok = np.array([[False, True, False, False, True], [True, False, False, True, False]])
    t = early_stop(scores, ok, rng=np.random.default_rng(0), n_orders=7, shuffle=False)
    assert t.signal.shape == (1, 2, 5)
    r = t.at(0.55)  # row 0 stops at 0.6 (sample 2, right); row 1 never reaches it: best of five, 0.4, right
    assert r.samples.tolist() == [2.0, 5.0] and r.correct.tolist() == [1.0, 1.0]
    assert t.at(0.9).samples.tolist() == [4.0, 5.0] and t.at(0.9).correct.tolist() == [0.0, 1.0]
    answers = np.array([["x", "y", "x", "x", "x"]], dtype=object)
    v = adaptive_vote(answers, answers == "x", rng=np.random.default_rng(0), n_orders=3, shuffle=False)
    # posteriors after each vote: 3/4, 1/2, 11/16, 13/16, 57/64: 0.8 is first reached at the fourth sample
    assert v.at(0.8).samples[0] == 4.0 and v.at(0.8).correct[0] == 1.0


def test_selective_answer_and_risk_coverage():
    c = np.array([0.9, 0.9, 0.7, 0.4, 0.1])
    ok = np.array([True, False, True, False, False])
    s = selective_answer(c, ok, wrong_penalty=3.0)  # threshold 0.75
    assert (s.threshold, s.coverage, s.accuracy, s.utility) == (0.75, 0.4, 0.5, (1 - 3) / 5)
    rc = risk_coverage(c, ok)
    assert rc["coverage"].tolist() == [0.4, 0.6, 0.8, 1.0]
    assert rc["accuracy"].tolist() == pytest.approx([0.5, 2 / 3, 0.5, 0.4])


def test_selective_gain_is_paired():
    ok = np.array([True, False] * 50)
    d, se = selective_gain(
        ok.astype(float), ok, np.ones(100), ok, threshold=0.5, rng=np.random.default_rng(0), n_boot=200
    )
    assert d == pytest.approx(0.5) and 0 < se < 0.1


def test_calibration_error_se_resamples_problems():
    rng = np.random.default_rng(0)
    conf = rng.uniform(size=(30, 4))
    ok = rng.uniform(size=conf.shape) < conf**2  # overconfident
    point, se = calibration_error_se(conf, ok, rng=np.random.default_rng(1), n_boot=50)
    assert point == pytest.approx(expected_calibration_error(conf, ok))
    # the same resampling counts, each replicate's ECE computed from its repeated rows
    counts = bootstrap_counts(30, np.random.default_rng(1), 50)
    reps = [expected_calibration_error(np.repeat(conf, w, axis=0), np.repeat(ok, w, axis=0)) for w in counts]
    assert se == pytest.approx(np.std(reps, ddof=1))
    assert calibration_error_se(conf[:, 0], ok[:, 0], rng=np.random.default_rng(1), n_boot=50)[0] == pytest.approx(
        expected_calibration_error(conf[:, 0], ok[:, 0])
    )


def test_calibration_of_a_calibrated_score():
    rng = np.random.default_rng(0)
    c = rng.uniform(size=20000)
    ok = rng.uniform(size=c.size) < c
    assert expected_calibration_error(c, ok) < 0.02
    assert expected_calibration_error(np.full(c.size, 0.9), ok) == pytest.approx(abs(0.9 - ok.mean()))
    assert reliability(c, ok)["count"].sum() == c.size
