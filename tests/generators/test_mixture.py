"""The mixture-of-generators sampler: allocation proportions, per-model charging, strategies' ledgers."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import strategies
from itslab.budget import Budget, CostModel
from itslab.generators.mixture import MixtureConfig, MixtureGenerator, schedule
from itslab.generators.simulated import make_suite
from itslab.types import Request


def test_schedule_holds_the_counts_every_cycle_and_is_prefix_stable():
    s = schedule([2, 0, 5], 21)
    for start in range(0, 21, 7):
        assert np.bincount(s[start : start + 7], minlength=3).tolist() == [2, 0, 5]
    assert schedule([2, 0, 5], 9) == s[:9]


def _mix(prices=(1.0, 10.0)):
    problems, gen = make_suite(3, seed=1)
    cheap = CostModel(generator_params=1e8, price_per_mtok_generated=prices[0])
    dear = CostModel(generator_params=1e9, price_per_mtok_generated=prices[1])
    cfgs = [MixtureConfig("cheap", gen, cost=cheap), MixtureConfig("dear", gen, temperature=0.5, cost=dear)]
    return problems, MixtureGenerator(cfgs, [3, 1]), (cheap, dear)


def test_each_sample_is_charged_to_its_own_model():
    problems, mix, (cheap, dear) = _mix()
    out = mix.generate([Request(problems[0].prompt, n=8, seed=3)])[0]
    assert [c.meta["config"] for c in out].count("dear") == 2
    want = sum((cheap if c.meta["config"] == "cheap" else dear).generator_usage([c]).price for c in out)
    assert mix.usage_of(out).price == pytest.approx(want)
    assert mix.usage_of(out).generator_flops < CostModel(generator_params=1e9).generator_usage(out).generator_flops


def test_a_strategy_run_on_the_mixture_charges_per_model():
    problems, mix, _ = _mix()
    res = strategies.get("majority_vote")(problems[0], mix, None, Budget(samples=8), np.random.default_rng(0), n=8)
    assert res.usage.samples == 8 and res.usage.price > 0
    assert len(res.candidates) == 8


def test_bad_mixtures_are_refused():
    problems, gen = make_suite(1, seed=0)
    with pytest.raises(ValueError, match="one count per configuration"):
        MixtureGenerator([MixtureConfig("a", gen)], [1, 2])
    with pytest.raises(ValueError, match="not all 0"):
        MixtureGenerator([MixtureConfig("a", gen)], [0])
