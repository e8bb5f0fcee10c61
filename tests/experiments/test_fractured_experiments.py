"""Notebook 15's experiments: the calibration reproduces the paper's three axes, the simulated suite and the
budget curves, and the real-model record (a resumable round trip on a fake engine, and its analyses)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from itslab.experiments import fractured as fx
from itslab.experiments import fractured_real as fr
from itslab.types import Completion, Problem


@pytest.fixture(scope="module")
def cal():
    return fx.calibrate()


def test_calibration_reproduces_the_three_axes(cal):
    axes = fx.axis_curves(cal)
    err = (axes["ours"] - axes["paper"]).abs()
    assert err[axes["axis"] == "n"].max() < 0.01  # three parameters for five points
    assert err[axes["axis"] == "H"].max() < 0.015  # one parameter for four points
    assert err[axes["axis"] == "m"].max() < 0.003
    assert 0 < cal.easy < 1 and 0 < cal.rederive <= 1 and 0 <= cal.slip < 0.1


def test_a_later_commit_needs_a_weaker_rederivation_and_flattens_nothing_in_pass_at_k():
    early, late = fx.calibrate(0.4), fx.calibrate(0.8)
    assert early.rederive > late.rederive
    # the anytime curve differs, the n axis does not
    assert fx.anytime(early, 8) != pytest.approx(fx.anytime(late, 8), abs=0.02)
    assert fx.coverage(early, 5, 1, [16]) == pytest.approx(fx.coverage(late, 5, 1, [16]))


def test_the_suite_draws_the_calibrated_population(cal):
    problems, gen = fx.suite(cal, 400, seed=0)
    easy = np.mean([p.meta["p_correct"] == 1.0 for p in problems])
    assert abs(easy - cal.easy) < 4 * np.sqrt(cal.easy * (1 - cal.easy) / 400)
    assert gen.rederive == cal.rederive and gen.n_segments == cal.n_segments


def test_at_budget_names_each_axis(cal):
    best = fx.at_budget(fx.config_grid(cal, n_max=4, m_max=2, H_max=8), 4 * fx.PAPER["trace_ktokens"])
    assert list(best.index) == ["nmH", "n", "H", "m"]
    assert best.loc["nmH", "accuracy"] >= best["accuracy"].max() - 1e-12


def test_budget_curves_never_credit_an_unfinished_chain(cal):
    problems, gen = fx.suite(cal, 5, seed=1)
    df = fx.budget_curves(problems, gen, [0.25, 4.0], n_samples=2)
    assert len(df) == 5 * 2 * 2
    assert not df[df["fraction"] == 0.25]["full_cot"].any()  # a quarter of the mean thinking finishes nothing


class FakeEngine:
    """Whitespace tokens; answers "7" to every forced prefix (enough to exercise the record)."""

    model_id = "fake"

    def encode_plain(self, text):
        return text.split(" ")

    def detokenize(self, ids):
        return " ".join(ids)

    def generate(self, requests):
        return [
            [Completion("7", n_tokens=1, n_prompt_tokens=len(r.prefix.split()), n_cached_tokens=0) for _ in range(r.n)]
            for r in requests
        ]


def _bank(problems):
    return pd.DataFrame(
        [
            {
                "problem_id": p.id,
                "problem_index": i,
                "sample_index": j,
                "text": "a b c d e f g h",
                "generated_tokens": 8,
                "finish_reason": "stop",
                "answer": "7" if j == 0 else "3",
                "correct": j == 0,
            }
            for i, p in enumerate(problems)
            for j in range(3)
        ]
    )


def test_record_round_trip_resumes_and_keeps_no_text(tmp_path):
    problems = [
        Problem(id=f"gsm8k/test/{i}", prompt=f"q{i}", answer="7", meta={"answer_format": "hash"}) for i in range(3)
    ]
    path = tmp_path / "rec.json"
    fr.record(path, FakeEngine(), problems[:2], _bank(problems), n_trajectories=2, m=2, meta={"model": "fake"})
    fr.record(path, FakeEngine(), problems, _bank(problems), n_trajectories=2, m=2, meta={"model": "fake"})
    trajs, answers, meta = fr.load_record(path)
    assert meta["n_problems"] == 3 and len(trajs) == 3 * 2
    # per problem: the no-thinking request (2 trajectories x 2 answers) and 3 cuts x 2 trajectories x 2 answers
    assert len(answers) == 3 * (4 + 3 * 2 * 2) and answers["correct"].all()
    assert sorted(answers["cut_tokens"].unique()) == [0, 2, 4, 6]
    assert "text" not in json.loads(path.read_text())["trajectories"][0]


def _record():
    trajs = pd.DataFrame(
        {
            "problem_id": ["a", "a", "b", "b"],
            "trajectory": [0, 1, 0, 1],
            "tokens": [100, 300, 100, 300],
            "bank_tokens": [100, 300, 100, 300],
            "own_correct": [True, False, False, False],
        }
    )
    rows = []
    for pid in "ab":
        for i in range(4):  # no thinking: 2 trajectories x 2 answers
            rows.append(
                {
                    "problem_id": pid,
                    "trajectory": -1,
                    "fraction": 0.0,
                    "cut_tokens": 0,
                    "answer_index": i,
                    "correct": False,
                    "n_tokens": 2,
                    "prompt_tokens": 5,
                    "cached_tokens": 0 if i == 0 else 5,
                }
            )
        for t, n in ((0, 100), (1, 300)):
            for f in (0.25, 0.5, 0.75):
                for i in range(2):
                    hit = pid == "b" and t == 1 and f == 0.5 and i == 0  # one lucky forced answer
                    rows.append(
                        {
                            "problem_id": pid,
                            "trajectory": t,
                            "fraction": f,
                            "cut_tokens": int(f * n),
                            "answer_index": i,
                            "correct": hit,
                            "n_tokens": 3,
                            "prompt_tokens": 10,
                            "cached_tokens": 0 if i == 0 else 10,  # the second answer reads from the cache
                        }
                    )
    return trajs, pd.DataFrame(rows)


def test_fixed_budget_credits_a_forced_answer_only_once_the_budget_cuts():
    trajs, answers = _record()
    t = fr.fixed_budget(trajs, answers, [100, 200, 300]).set_index("budget")
    assert t.loc[100, "cot"] == 0.25 and t.loc[100, "truncated"] == 0.25  # the lucky cut (150 tokens) does not fit
    assert t.loc[200, "truncated"] == 0.5 and t.loc[200, "cot"] == 0.25
    assert t.loc[300, "truncated"] == 0.25  # the lucky trace finished (wrong) within 300 tokens


def test_axis_comparison_and_anytime_table():
    trajs, answers = _record()
    ax = fr.axis_comparison(trajs, answers)
    assert ax["pass@1"] == 0.25 and ax["H"] == 0.5 and ax["gain H"][0] == 0.25
    assert ax["n=2"] == 0.5 and ax["tokens n=2"] == 2 * ax["tokens@1"] and ax["tokens H"] > ax["tokens@1"]
    assert ax["read H"] == 3 * 10  # three cuts per trajectory, each prefix read once
    table = fr.anytime_table(trajs, answers).set_index("fraction")
    assert table.loc[0.5, "forced"] == 0.125 and table.loc["own", "forced"] == 0.25


def test_numeric_keeps_numbers_only():
    assert fr.numeric("1,234") == "1234" and fr.numeric("$2.50") == "2.5" and fr.numeric("Janet") is None
    assert fr.numeric(None) is None and fr.numeric("inf") is None
