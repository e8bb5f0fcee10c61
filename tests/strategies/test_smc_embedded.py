"""End to end on the embedded model (CPU, slow): particle filtering with the model's own
self-evaluation as the PRM, on 3 synthetic arithmetic problems, reusing the engine's prefix cache."""

from __future__ import annotations

import pytest

from itslab import Budget
from itslab.rng import problem_rng
from itslab.strategies import smc


@pytest.mark.slow
def test_particle_filter_with_self_evaluation_on_smollm2():
    from itslab import models
    from itslab.tasks.synthetic import make
    from itslab.verifiers import SelfEvaluation

    gen = models.load("smollm2-135m")
    prm = SelfEvaluation(gen)
    cross_step_hits = 0
    for p in make("arithmetic", 3, difficulty=2, seed=0):
        r = smc.particle_filter(
            p,
            gen,
            prm,
            Budget(generated_tokens=2000),
            problem_rng(0, p.id),
            n_particles=3,
            max_steps=2,
            max_step_tokens=24,
            max_tokens=64,
        )
        assert r.problem_id == p.id and len(r.candidates) == 3
        assert r.usage.generated_tokens <= 2000 and r.usage.verifier_calls > 0
        assert r.trace[-1].info["stop"] == "done"
        assert all(c.meta["finished"] and 0.0 <= c.score <= 1.0 for c in r.candidates)
        # the prompt is prefilled once for all particles: samples 1..n-1 read it from the cache
        assert r.usage.cached_tokens > 0
        props = [s for s in r.trace if s.kind == "propagate"]
        # later steps continue prefixes the engine has already read (automatic prefix caching)
        cross_step_hits += sum(s.info["n_cached_tokens"] for s in props[1:])
    assert cross_step_hits > 0
