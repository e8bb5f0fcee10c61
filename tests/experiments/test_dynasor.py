"""Notebook 11's Dynasor experiment: the fast simulator table equals the strategy's own record, the replay
equals the strategy run with the same rule, the numbers-only record, and the settle-point calibration."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.experiments import dynasor as dy
from itslab.generators.simulated import make_suite
from itslab.rng import problem_rng
from itslab.scaling.probe_exit import replay
from itslab.strategies.base import equivalence_classes

COLS = ["think_tokens", "finished", "correct", "positions", "probe_ids", "probe_tokens", "probe_correct"]


@pytest.fixture(scope="module")
def suite():
    return make_suite(12, seed=3, kind="thinking", a=2, b=1, mean_think_tokens=250.0, settle_mean=0.5)


@pytest.mark.parametrize("kw", [{}, {"probe_stop": ("}",)}, {"max_tokens": 200}])
def test_sim_table_is_the_strategy_record(suite, kw):
    problems, gen = suite
    hyper = {"interval": 32, "max_tokens": 5000, **kw}
    fast, slow = dy.sim_traces(gen, problems, **hyper), dy.record_traces(gen, problems, **hyper)
    for col in COLS:
        assert fast[col].tolist() == slow[col].tolist(), col
    assert fast["answer"].fillna("-").tolist() == slow["answer"].fillna("-").tolist()
    assert (slow["prompt_tokens"] > 0).all()  # the simulator has no prefix cache: every prefix is re-read


@pytest.mark.parametrize("every, window", [(1, 1), (1, 3), (2, 2), (4, 3)])
def test_replay_is_the_strategy_with_that_rule(suite, every, window):
    problems, gen = suite
    rec = dy.probe_record(dy.sim_traces(gen, problems, interval=32, max_tokens=5000))
    r = replay(rec, every, window)
    for t, p in enumerate(problems):
        res = strategies.get("probe_early_exit")(
            p,
            gen,
            None,
            Budget(samples=10**6),
            problem_rng(0, p.id),
            probe_interval=32 * every,
            window=window,
            max_tokens=5000,
        )
        assert res.trace[-1].info["trace_tokens"] == (r.think[t],)
        assert sum(s.usage.generated_tokens for s in res.trace if s.kind == "probe") == r.probe[t]
        assert bool(res.correct) == bool(r.correct[t]) and res.trace[-1].info["exited"] == (bool(r.exited[t]),)


def test_answer_ids_are_the_voting_classes():
    answers = ["18", None, "18.0", "x", "36/2", "\\frac{1}{2}", "0.5", "X", "19", "$18", "1/2", None, "y"]
    assert dy.answer_ids(answers) == equivalence_classes(answers)


def test_calibration_hits_its_target():
    mean_think = np.array([800.0, 1200.0])
    m = dy.calibrate_settle_mean(0.29, mean_think=mean_think, length_sigma=0.4, concentration=4.0, n_draws=4000)
    assert 0 < m < 1
    rng = np.random.default_rng(0)
    think = np.rint(rng.choice(mean_think, 4000) * np.exp(0.4 * rng.standard_normal(4000) - 0.08))
    settle = np.rint(rng.beta(4 * m, 4 * (1 - m), 4000) * think)
    saving = 1 - dy.oracle_exit(think, settle, 64, 3).sum() / think.sum()
    assert abs(saving - 0.29) < 0.02  # fresh draws: sd of the saving about 0.004


def test_oracle_exit_by_hand():
    out = dy.oracle_exit(np.array([1000, 1000, 100]), np.array([100, 128, 90]), 64, 3)
    assert out.tolist() == [256, 256, 100]  # first probe at or after the settle token, then two more


def test_real_record_keeps_numbers_only(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        [{"problem_id": "gsm8k/test/0", "answer": "Final Answer", "probe_answers": ["18", "Final Answer", None]}]
    )
    path = dy.save(frame, tmp_path / "r.json", {"model": "m"})
    back, meta = dy.load(path)
    assert meta == {"model": "m"} and "Final" not in path.read_text()
    assert back["probe_answers"][0][0] == "18" and back["probe_answers"][0][1].startswith("h:")
    dy.save(back, path, meta)  # saving a loaded record again keeps its hashes
    assert dy.load(path)[0]["answer"][0] == back["answer"][0]
