"""Particle filtering and particle Gibbs (itslab.strategies.smc): weights, the init/step API, genealogy,
batching, finished particles, the reference particle, budgets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from step_helpers import Recorder, noisy_prm, stepwise_suite

from itslab import Budget
from itslab.protocols import STEP_DELIMITER
from itslab.rng import problem_rng
from itslab.strategies import smc
from itslab.strategies.base import Run

BIG = Budget(samples=10_000)


# --- score -> weight link --------------------------------------------------------------------
def test_link_weights_match_the_closed_forms():
    r = np.array([0.2, 0.5, 0.8])
    odds = r / (1 - r)
    np.testing.assert_allclose(smc.link_weights(r, 1.0, "logit"), odds / odds.sum(), rtol=1e-12)
    np.testing.assert_allclose(smc.link_weights(r, 0.5, "logit"), odds**2 / (odds**2).sum(), rtol=1e-12)
    np.testing.assert_allclose(smc.link_weights(r, 1.0, "log"), r / r.sum(), rtol=1e-12)
    e = np.exp(r / 0.2)
    np.testing.assert_allclose(smc.link_weights(r, 0.2, "identity"), e / e.sum(), rtol=1e-12)
    assert smc.link_weights([0.0, 1.0], 1.0)[1] > 0.999  # clipped, not inf/nan


def test_link_weights_reject_bad_input():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        smc.link_weights([0.5, 1.7], 1.0, "logit")
    with pytest.raises(ValueError, match="unknown link"):
        smc.link_weights([0.5], 1.0, "probit")


# --- init / step / result --------------------------------------------------------------------
def _pf(problem, gen, prm, budget=BIG, **hyper):
    return smc.ParticleFilter(Run("particle_filter", problem, gen, prm, budget), **hyper)


def test_init_step_api_states_and_genealogy():
    problems, gen = stepwise_suite()
    p = problems[1]
    pf = _pf(p, gen, noisy_prm(1.0), n_particles=8, resampling="systematic")
    rng = problem_rng(0, "api")
    state = pf.init(rng)
    assert state.step == 1 and len(state.particles) == 8 and state.ancestors == tuple(range(8))
    assert state.ess == pytest.approx(8.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = 5
    n_steps = 1
    while not state.done:
        prev = state
        state, info = pf.step(state, rng)
        n_steps += 1
        assert info.step == state.step == prev.step + 1 and len(info.ancestors) == 8
        assert sum(info.weights) == pytest.approx(1.0) and 1.0 <= info.ess <= 8.0 + 1e-9
        for i, a in enumerate(info.ancestors):
            parent = prev.particles[a]
            assert state.particles[i].text.startswith(parent.text)  # descends from its ancestor
            assert state.particles[i].steps[: len(parent.steps)] == parent.steps
            if parent.finished:
                assert state.particles[i] == parent  # finished copies do not move
        assert np.all(np.isfinite(state.scores)) and sum(state.weights) == pytest.approx(1.0)
    assert all(state.finished) and state.stop_reason == "done"
    res = pf.result(state)
    recs = [s for s in res.trace if s.kind == "smc"]
    assert len(recs) == n_steps
    assert {"ancestors", "weights", "ess", "scores"} <= set(recs[-1].info)
    assert res.answer == max((c for c in res.candidates), key=lambda c: c.score).answer  # "best" rule


def test_one_batched_call_per_step_one_request_per_ancestor():
    problems, gen = stepwise_suite()
    rec = Recorder(gen)
    r = smc.particle_filter(problems[2], rec, noisy_prm(1.0), BIG, problem_rng(0, "b"), n_particles=8)
    prop = [s for s in r.trace if s.kind == "propagate"]
    assert len(rec.calls) == len(prop)
    assert len(rec.calls[0]) == 1 and rec.calls[0][0].n == 8  # the first step: one prompt, n = 8
    for call in rec.calls:
        prefixes = [q.prefix for q in call]
        assert len(set(prefixes)) == len(prefixes)  # copies of an ancestor share a request
        assert all(q.stop == (STEP_DELIMITER,) for q in call)
    assert r.usage.samples == sum(q.n for call in rec.calls for q in call)


def test_resample_inactive_false_keeps_finished_particles_in_place():
    problems, gen = stepwise_suite()
    pf = _pf(problems[0], gen, noisy_prm(1.0), n_particles=6, resample_inactive=False)
    rng = problem_rng(0, "ri")
    state = pf.init(rng)
    while not state.done:
        prev = state
        state, info = pf.step(state, rng)
        for i, q in enumerate(prev.particles):
            if q.finished:
                assert state.particles[i] == q and info.ancestors[i] == i
            else:
                assert not prev.particles[info.ancestors[i]].finished  # drawn among the active only


def test_samples_equal_active_particles_per_step():
    """Each propagate step draws exactly one continuation per active particle (no wasted samples)."""
    problems, gen = stepwise_suite()
    pf = _pf(problems[3], gen, noisy_prm(1.0), n_particles=8)
    rng = problem_rng(0, "s")
    state = pf.init(rng)
    while not state.done:
        before = len([s for s in pf.run.steps if s.kind == "propagate"])
        prev = state
        state, info = pf.step(state, rng)
        new = [s for s in pf.run.steps if s.kind == "propagate"][before:]
        parents = [prev.particles[a] for a in info.ancestors]
        assert sum(s.usage.samples for s in new) == sum(not q.finished for q in parents)


def test_perfect_prm_particle_filter_is_accurate():
    problems, gen = stepwise_suite()
    acc = np.mean(
        [
            smc.particle_filter(p, gen, noisy_prm(0.0), BIG, problem_rng(0, p.id), n_particles=8).correct
            for p in problems
        ]
    )
    assert acc >= 0.9


@pytest.mark.parametrize("select", ["best", "weighted", "majority"])
def test_select_rules_and_schemes_run(select):
    problems, gen = stepwise_suite()
    for scheme in ("multinomial", "stratified", "systematic", "residual"):
        r = smc.particle_filter(
            problems[4],
            gen,
            noisy_prm(1.0),
            BIG,
            problem_rng(0, scheme),
            n_particles=4,
            resampling=scheme,
            select=select,
            link="log",
        )
        assert r.answer is not None and r.hyper["resampling"] == scheme


def test_budget_stops_the_filter_mid_run():
    problems, gen = stepwise_suite()
    p = max(problems, key=lambda q: q.meta["n_steps"])
    r = smc.particle_filter(p, gen, noisy_prm(1.0), Budget(samples=20), problem_rng(0, "x"), n_particles=8)
    assert r.usage.samples <= 20 and r.trace[-1].info["stop"] == "budget"
    assert len(r.candidates) == 8


# --- particle Gibbs --------------------------------------------------------------------------
def test_particle_gibbs_one_iteration_is_the_particle_filter():
    problems, gen = stepwise_suite()
    p, prm = problems[5], noisy_prm(1.0)
    a = smc.particle_gibbs(p, gen, prm, BIG, problem_rng(0, "g"), n_particles=6, n_iterations=1)
    b = smc.particle_filter(p, gen, prm, BIG, problem_rng(0, "g"), n_particles=6)
    assert a.candidates == b.candidates and a.answer == b.answer and a.usage == b.usage


def test_particle_gibbs_retains_the_reference():
    problems, gen = stepwise_suite()
    p, prm = problems[6], noisy_prm(1.0)
    r = smc.particle_gibbs(p, gen, prm, BIG, problem_rng(0, "pg"), n_particles=6, n_iterations=3)
    assert len(r.candidates) == 6 and sum(c.meta["reference"] for c in r.candidates) == 1
    assert [s.info["iteration"] for s in r.trace if s.kind == "iteration"] == [0, 1, 2]
    first_smc = [s for s in r.trace if s.kind == "smc"]
    assert any(len(s.info["ancestors"]) == 5 for s in first_smc)  # later iterations: n - 1 free particles


def test_particle_gibbs_reference_copies_continue_from_its_prefix():
    problems, gen = stepwise_suite()
    p = problems[7]
    pf = smc.ParticleFilter(Run("particle_gibbs", p, gen, noisy_prm(1.0), BIG), n_particles=4)
    rng = problem_rng(0, "ref")
    state = pf.init(rng)
    while not state.done:
        state, _ = pf.step(state, rng)
    ref = pf.choose_reference(state, rng)
    s2 = pf.init(rng, reference=ref)
    assert len(s2.particles) == 3 and s2.reference is ref
    while not s2.done:
        prev = s2
        s2, info = pf.step(s2, rng)
        for i, a in enumerate(info.ancestors):
            if a == 3:  # drawn from the reference: continues its prefix of the same depth
                assert s2.particles[i].steps[: prev.step] == ref.steps[: prev.step]


def test_bad_hyper_raise():
    problems, gen = stepwise_suite()
    p, prm = problems[0], noisy_prm(1.0)
    with pytest.raises(ValueError, match="resampling"):
        smc.particle_filter(p, gen, prm, BIG, problem_rng(0, "e"), resampling="bootstrap")
    with pytest.raises(ValueError, match="n_particles"):
        smc.particle_filter(p, gen, prm, BIG, problem_rng(0, "e"), n_particles=0)
    with pytest.raises(ValueError, match="n_particles >= 2"):
        smc.particle_gibbs(p, gen, prm, BIG, problem_rng(0, "e"), n_particles=1, n_iterations=2)
    with pytest.raises(ValueError, match="process verifier"):
        smc.particle_filter(p, gen, None, BIG, problem_rng(0, "e"))
