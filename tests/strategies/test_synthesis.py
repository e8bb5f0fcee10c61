"""The synthesize strategy and the simulated synthesiser: charges and known answers."""

import math

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.generators.simulated.synthesis import SynthesisSimulator, synthesis_accuracy, synthesis_p_gold
from itslab.pools import draw_pool
from itslab.rng import problem_rng


def test_n1_charges_exactly_two_calls():
    problems, gen = make_suite(3, seed=0)
    r = strategies.get("synthesize")(
        problems[0], SynthesisSimulator(gen, discrimination=0.0), None, Budget(samples=10), problem_rng(0, "x"), n=1
    )
    assert r.usage.samples == 2 and [s.kind for s in r.trace] == ["sample", "synthesize"]
    assert sum(s.usage.samples for s in r.trace) == 2


def test_synthesis_call_is_charged_its_prompt_of_all_candidates():
    problems, gen = make_suite(3, seed=0)
    r = strategies.get("synthesize")(
        problems[1], SynthesisSimulator(gen, discrimination=1.0), None, Budget(samples=10), problem_rng(0, "y"), n=4
    )
    synth = r.trace[-1]
    assert synth.kind == "synthesize" and synth.usage.samples == 1
    assert synth.usage.prompt_tokens > sum(c.meta["n_tokens"] for c in r.candidates[:4])


def test_closed_form_limits():
    counts = {"g": 2, "a": 3, "b": 1}
    assert synthesis_p_gold(counts, "g", discrimination=0.0) == pytest.approx(2 / 6)  # copy a random candidate
    assert synthesis_p_gold(counts, "g", discrimination=50.0) == pytest.approx(1.0)  # coverage
    assert synthesis_p_gold(counts, "g", discrimination=0.0, sharpness=30) < 1e-4  # majority vote
    assert synthesis_p_gold({"a": 3}, "g", discrimination=9.0, fix=0.1) == 0.1  # repairs an all-wrong set


def test_strategy_matches_the_closed_form():
    problems, gen = make_suite(200, seed=3)
    lam, n = math.log(3.0), 4
    sim = SynthesisSimulator(gen, discrimination=lam, fix=0.05)
    fn = strategies.get("synthesize")
    got = np.array([fn(p, sim, None, Budget(samples=n + 1), problem_rng(0, p.id), n=n).correct for p in problems])
    # the strategy's candidates are its own pool: recompute the closed form on them
    expected = []
    for p in problems:
        r = fn(p, sim, None, Budget(samples=n + 1), problem_rng(0, p.id), n=n)
        answers = np.array([[c.answer for c in r.candidates[:n]]], dtype=object)
        correct = np.array([[c.answer == p.answer for c in r.candidates[:n]]])
        expected.append(synthesis_accuracy(answers, correct, n, discrimination=lam, fix=0.05)[0])
    se = np.sqrt(np.mean(expected) * (1 - np.mean(expected)) / len(problems))
    assert abs(got.mean() - np.mean(expected)) < 3 * se  # 200 problems, seed 0


def test_synthesis_beats_copying_when_it_discriminates():
    problems, gen = make_suite(300, seed=1, a=1.0, b=1.5)
    pool = draw_pool(gen, problems, 20, seed=0)
    copy = synthesis_accuracy(pool.answers, pool.correct, 5, discrimination=0.0).mean()
    assert copy == pytest.approx(pool.correct.mean(), abs=1e-9)  # λ = 0: a random candidate's accuracy
    assert synthesis_accuracy(pool.answers, pool.correct, 5, discrimination=2.0).mean() > copy + 0.05
