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
    problems = make("arithmetic", 3, difficulty=2, seed=0)
    for p in problems:
        r = smc.particle_filter(p, gen, prm, Budget(generated_tokens=4000), problem_rng(0, p.id), n_particles=4,
                                max_steps=3, max_step_tokens=40, max_tokens=160, temperature=0.8)
        assert r.problem_id == p.id and len(r.candidates) == 4
        assert r.usage.generated_tokens <= 4000 and r.usage.verifier_calls > 0
        props = [s for s in r.trace if s.kind == "propagate"]
        assert len(props) >= 2, "the filter should get past its first step"
        # steps after the first continue prefixes the engine has already read: cache hits
        assert sum(s.info["n_cached_tokens"] for s in props[1:]) > 0
        assert r.usage.cached_tokens > 0
        assert all(0.0 <= c.score <= 1.0 for c in r.candidates)
