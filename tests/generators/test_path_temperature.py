"""Temperature tempers reasoning paths, not final answers (issue #15; docs/methods.md, "Simulators").

Each answer's mass is split over equal-mass paths (``gold_paths`` for the gold answer,
``distractor_paths`` for each distractor); temperature, top-k and top-p act on the paths, and
greedy decoding (T = 0) follows the single most likely path. So greedy can end in a wrong answer
that majority voting avoids (Wang et al. 2023, arXiv:2203.11171: self-consistency +17.9 points
over greedy chain of thought, PaLM-540B on GSM8K, 56.5 -> 74.4), and temperature moves accuracy
by a few points, not tens (Liu et al. 2025, arXiv:2502.07191, abstract: "tuning temperature can
improve reasoning task performance by up to 5%").

The calibrated-suite tests use the simulator's default path counts: under the old answer-level
tempering greedy equalled maj@inf exactly (85.8% on this suite) and pass@1 rose 29 points from
T = 1 to T = 0.1, so they fail there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from itslab.generators.simulated import AnswerModel, SequentialSimGenerator, SimulatedGenerator, make_suite
from itslab.generators.simulated.core import tempered, tempered2, tempered_paths
from itslab.pools import majority_limit
from itslab.scaling.vote_mixture import plurality_accuracy
from itslab.types import Request

# Notebook 02's (and 03's) calibrated suite: three equally likely wrong answers, Beta(1.8, 1.5)
# difficulties, with which greedy decoding solves ~56.5% and self-consistency over 40 paths at
# T = 0.7, top-k 40 ~74.4% (PaLM-540B on GSM8K, Wang et al. 2023, table 2)
CALIBRATED = {"a": 1.8, "b": 1.5, "n_distractors": 3, "distractor_concentration": math.inf}
N_CALIBRATED = 1000


@pytest.fixture(scope="module")
def calibrated():
    return make_suite(N_CALIBRATED, seed=0, **CALIBRATED)


def _mean_p(gen, problems, **knobs):
    return float(np.mean([gen.p_correct(p, **knobs) for p in problems]))


def test_temperature_one_statistics_do_not_depend_on_paths():
    problems, base = make_suite(50, seed=1, gold_paths=1, distractor_paths=1)
    for g, d in [(3, 1), (7, 2), (1, 5)]:
        gen = SimulatedGenerator(problems, seed=1, gold_paths=g, distractor_paths=d)
        for p in problems:
            m = gen.answer_model(p)
            q = np.concatenate([[m.p], (1.0 - m.p) * np.asarray(m.weights)])
            np.testing.assert_allclose(m.probs(1.0), q, rtol=0, atol=1e-12)
            np.testing.assert_allclose(m.probs(1.0), base.answer_model(p).probs(1.0), rtol=0, atol=1e-12)
            assert gen.p_correct(p) == pytest.approx(p.meta["p_correct"], abs=1e-12)
        assert gen.model_id != base.model_id  # a sample store never mixes the two


def test_paths_are_validated():
    problems, _ = make_suite(2, seed=0)
    for bad in [{"gold_paths": 0}, {"distractor_paths": -1}, {"gold_paths": 2.5}]:
        with pytest.raises(ValueError, match="gold_paths and distractor_paths"):
            SimulatedGenerator(problems, **bad)
    with pytest.raises(ValueError, match="path count"):
        tempered_paths(np.array([0.5, 0.5]), np.array([1, 0]), 1.0)


def test_greedy_follows_the_top_path_not_the_modal_answer():
    # p = 0.5 spread over 3 paths (1/6 each) against one distractor path of 0.5 * 0.6 = 0.3
    m = AnswerModel("7", 0.5, ("8", "9"), (0.6, 0.4), gold_paths=3, distractor_paths=1)
    assert np.argmax(m.probs(1.0)) == 0  # the gold answer is the mode: majority voting converges to it
    assert np.argmax(m.probs(0.0)) == 1 and m.probs(0.0)[1] == 1.0  # greedy decoding does not
    # top-k counts paths: the single top path is greedy's
    np.testing.assert_array_equal(m.probs(1.0, top_k=1), m.probs(0.0))
    # the gold answer's share falls as T falls (its paths are each smaller than the distractor's)
    shares = [m.probs(t)[0] for t in (2.0, 1.0, 0.7, 0.4, 0.1)]
    assert all(x > y for x, y in zip(shares, shares[1:]))


def test_tempered2_is_the_binary_tempered_paths():
    for p in (0.05, 0.3, 0.5, 0.8):
        for t in (0.0, 0.3, 1.0, 1.7):
            for ne, nr in ((1, 1), (1, 3), (4, 2)):
                want = tempered_paths(np.array([1.0 - p, p]), np.array([nr, ne]), t)[1]
                assert tempered2(p, t, ne, nr) == pytest.approx(want, abs=1e-12)
    assert tempered2(0.3, 0.7) == pytest.approx(tempered(np.array([0.7, 0.3]), 0.7)[1])


def test_self_consistency_beats_greedy_on_the_calibrated_suite(calibrated):
    problems, gen = calibrated
    greedy = _mean_p(gen, problems, temperature=0.0)
    q = np.array([list(gen.answer_distribution(p, 0.7, top_k=40).values()) for p in problems])
    sc = float(plurality_accuracy(q, 40).mean())  # exact maj@40 of the tempered answer distributions
    assert greedy == pytest.approx(0.565, abs=0.02)  # Wang et al. 2023, table 2: greedy CoT
    assert sc == pytest.approx(0.744, abs=0.02)  # ... and self-consistency over 40 paths
    for t in (0.7, 1.0):
        maj_inf = float(majority_limit(gen, problems, temperature=t).mean())
        assert maj_inf - greedy > 0.10, (t, maj_inf, greedy)  # voting's limit beats greedy


def test_temperature_moves_pass1_by_points_not_tens(calibrated):
    problems, gen = calibrated
    grid = np.round(np.arange(0.1, 2.001, 0.1), 2)
    p1 = {t: _mean_p(gen, problems, temperature=t) for t in grid}
    best = max(p1, key=p1.get)
    # Liu et al. 2025: tuning the temperature moves accuracy by up to 5 points
    assert 0 <= p1[best] - p1[1.0] <= 0.05, (best, p1[best], p1[1.0])
    assert best <= 0.3  # a low best temperature for one sample (Chen et al. 2021, section 3.3: 0.2)
    # the default suite (eight Dirichlet-weighted distractors) moves more, but by points
    problems, gen = make_suite(500, seed=0, a=1.2, b=0.95)
    p1 = {t: _mean_p(gen, problems, temperature=t) for t in grid}
    assert max(p1.values()) - p1[1.0] < 0.10


@pytest.mark.parametrize("knobs", [{"temperature": 0.5}, {"temperature": 0.0}, {"temperature": 0.8, "top_p": 0.9}])
def test_closed_form_matches_sampling(knobs):
    problems, gen = make_suite(4, seed=3, a=1.5, b=1.5)
    n = 20_000
    for p in problems:
        tab = gen.sample_table(Request(p.prompt, n=n, seed=2, **knobs))
        for ans, q in gen.answer_distribution(p, **knobs).items():
            freq = float(np.mean(tab["answer"] == ans))
            assert abs(freq - q) <= 4 * math.sqrt(q * (1 - q) / n) + 1e-12, (knobs, ans, freq, q)


def test_sequential_first_answer_uses_the_same_path_tempering():
    problems, outcome = make_suite(20, seed=5)
    seq = SequentialSimGenerator(problems, seed=5)
    for p in problems:
        for t in (0.0, 0.5, 1.0):
            assert seq.p_correct(p, 0, t) == pytest.approx(outcome.p_correct(p, t), abs=1e-12)


def test_stepwise_break_rate_is_tempered_over_paths():
    problems, gen = make_suite(40, seed=8, kind="stepwise", recover=0.0)
    g, d = gen.gold_paths, gen.distractor_paths
    for p in problems:
        eps = gen.step_error(p)
        # greedy keeps the chain iff a correct continuation path outweighs a wrong one
        assert gen.p_correct(p, 0.0) == (1.0 if (1 - eps) / g > eps / d else 0.0)
        assert gen.p_correct(p, 1.0) == pytest.approx(p.meta["p_correct"], abs=1e-6)
