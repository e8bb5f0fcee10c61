"""φ-Decoding (Xu et al. 2025, arXiv:2503.13288): the zero-foresight identity, the pruning rules
and step weights by hand, budget metering of foresight rollouts, and the simulator comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from step_helpers import noisy_prm, stepwise_suite

from itslab import Budget, BudgetTooSmall, strategies
from itslab.rng import problem_rng
from itslab.strategies.base import Run
from itslab.strategies.foresight import phi_decoding, step_weights, width_prune
from itslab.strategies.search import _children
from itslab.strategies.steps import expand

SMALL = dict(max_steps=10, max_step_tokens=100, max_tokens=600)
STEPWISE = dict(n_rollouts=1, foresight_steps=0, width_sigma=None, depth_threshold=None)


def _stepwise_sampling(problem, gen, budget, rng, m, temperature, max_steps, max_step_tokens, max_tokens):
    """Reference: `m` solutions sampled one step at a time with `steps.expand` (no search)."""
    run = Run("reference", problem, gen, None, budget)
    beams, toks, done = [""] * m, [0] * m, []
    for depth in range(max_steps):
        last = depth == max_steps - 1
        outs = expand(run, rng, beams, [1] * len(beams), last=last, n_tokens=toks, temperature=temperature,
                      top_p=1.0, max_step_tokens=max_step_tokens, max_tokens=max_tokens)  # fmt: skip
        kids = _children(beams, toks, outs, last, max_tokens)
        done += [k.text for k in kids if k.finished]
        beams, toks = [k.text for k in kids if not k.finished], [k.n_tokens for k in kids if not k.finished]
        if not beams:
            break
    return done, run.meter.used


def test_zero_foresight_one_rollout_no_pruning_is_stepwise_sampling():
    # known answer: with no foresight there is no value signal, and with one candidate per beam
    # every candidate is taken, so φ-Decoding writes exactly the solutions that step-wise sampling
    # of n_beams solutions writes from the same rng (same texts, same order, same usage)
    problems, gen = stepwise_suite()
    for p in problems[:6]:
        b = Budget(generated_tokens=50_000)
        r = phi_decoding(p, gen, None, b, problem_rng(7, p.id), n_beams=3, temperature=0.6, **STEPWISE, **SMALL)
        ref, used = _stepwise_sampling(p, gen, b, problem_rng(7, p.id), 3, 0.6, **SMALL)
        assert [c.text for c in r.candidates] == ref
        assert r.usage.samples == used.samples
        assert r.usage.generated_tokens == used.generated_tokens
        assert all(s.kind != "foresight" for s in r.trace)


def test_width_prune_keeps_above_mean_minus_sigma_std_and_tops_up():
    rng = np.random.default_rng(0)
    # mean -2, std √3 ≈ 1.73: the threshold -3.73 drops only the -5 step
    assert width_prune([-1.0, -1.0, -1.0, -5.0], 2, 1.0, rng, 0.1) == [0, 1, 2]
    # asked for four survivors, the dropped one is drawn back (the only one left)
    assert width_prune([-1.0, -1.0, -1.0, -5.0], 4, 1.0, rng, 0.1) == [0, 1, 2, 3]
    # sigma 0 keeps what is at least the mean; equal log-probabilities keep everyone
    assert width_prune([-1.0, -3.0], 1, 0.0, rng, 0.1) == [0]
    assert width_prune([-2.0, -2.0, -2.0], 1, 1.0, rng, 0.1) == [0, 1, 2]


def test_step_weights_average_advantage_and_cluster_softmaxes():
    w = step_weights([0.0, 0.0, 0.0], ["1", "1", "2"], 0.1, None)
    share = np.exp([2 / 3, 2 / 3, 1 / 3])
    assert np.allclose(w, (np.full(3, 1 / 3) + share / share.sum()) / 2)
    # advantage at tau: a 0.1 lead is a factor e
    w = step_weights([0.1, 0.0], [None, None], 0.1, None)
    assert math.isclose(w[0] / w[1], (math.e / (1 + math.e) + 0.5) / (1 / (1 + math.e) + 0.5))


def test_foresight_rollouts_are_metered_and_depth_pruning_stops():
    problems, gen = stepwise_suite()
    p = problems[0]
    r = phi_decoding(p, gen, None, Budget(generated_tokens=60_000), problem_rng(0, p.id), depth_threshold=0.01,
                     min_depth=1, **SMALL)  # fmt: skip
    fore = [s for s in r.trace if s.kind == "foresight"]
    assert fore and sum(s.usage.samples for s in fore) > 0 and sum(s.usage.generated_tokens for s in fore) > 0
    assert sum((s.usage for s in r.trace), start=type(r.usage)()) == r.usage
    assert r.trace[-1].info["stop"] == "depth_pruning"
    assert len([s for s in r.trace if s.kind == "expand"]) == 1
    # the beams end with their foresights (no extra final call), one finished solution each
    assert all(s.kind != "final" for s in r.trace) and len(r.candidates) == 4
    assert all(c.meta["finished"] for c in r.candidates)


def test_registration_and_errors():
    info = strategies.info("phi_decoding")
    assert info.size == "n_beams" and info.samples_per_rollout({}) == 40 * 4 * 2 + 1
    assert info.samples_per_rollout({"foresight_steps": 0}) == 40 * 4 + 1
    problems, gen = stepwise_suite()
    p, b = problems[0], Budget(samples=100)
    with pytest.raises(ValueError, match="PRM"):
        phi_decoding(p, gen, None, b, problem_rng(0, p.id), value="prm")
    with pytest.raises(ValueError, match="foresight_steps"):
        phi_decoding(p, gen, None, b, problem_rng(0, p.id), foresight_steps=-1)
    with pytest.raises(BudgetTooSmall):
        phi_decoding(p, gen, None, Budget(samples=3), problem_rng(0, p.id), n_beams=2, n_rollouts=2)


def _accuracy(name, hyper, budget, n_problems=30, seeds=2):
    problems, gen = stepwise_suite(n_problems)
    prm = noisy_prm(0.5)
    fn = strategies.get(name)
    rs = [fn(p, gen, prm, budget, problem_rng(s, p.id), **hyper) for s in range(seeds) for p in problems]
    return float(np.mean([bool(r.correct) for r in rs])), float(np.mean([r.usage.generated_tokens for r in rs]))


def test_foresight_beats_stepwise_sampling_on_the_simulator():
    # seeded, so exact: 60 runs; measured 0.92 with foresight against 0.83 without (same n_beams)
    b = Budget(generated_tokens=20_000)
    with_f, _ = _accuracy("phi_decoding", dict(n_beams=4, n_rollouts=2, **SMALL), b)
    without, _ = _accuracy("phi_decoding", dict(n_beams=4, **STEPWISE, **SMALL), b)
    assert with_f > without


@pytest.mark.xfail(
    strict=True,
    reason="measured here (30 step-wise problems x 2 seeds, 20k generated tokens): beam_search (n=8, M=2, "
    "noise-0.5 PRM) is right 1.00 of the time with ~2.6k tokens per problem; phi_decoding (M=4, N=2) 0.92 with "
    "the log-prob value, 0.95 with the same PRM as value, both ~6.8k tokens. The simulated PRM reads the latent "
    "step state and a foresight pays a whole rollout per candidate, so foresight does not beat PRM beam search "
    "at equal tokens here (docs/methods.md, phi-decoding).",
)
def test_foresight_beats_beam_search_at_equal_token_budget():
    b = Budget(generated_tokens=20_000)
    phi, _ = _accuracy("phi_decoding", dict(n_beams=4, n_rollouts=2, **SMALL), b)
    beam, _ = _accuracy("beam_search", dict(n=8, beam_width=2, **SMALL), b)
    assert phi > beam
