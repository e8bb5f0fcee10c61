"""What each registered strategy runs on in the contract tests: problems, generator, verifier, hyper."""

from __future__ import annotations

from functools import lru_cache

STEP_STRATEGIES = frozenset({"beam_search", "dvts", "rebase", "particle_filter", "particle_gibbs", "phi_decoding"})

# strategy -> hyper-parameters small enough for fast contract tests
HYPER = {
    "beam_search": {"n": 4, "beam_width": 2, "max_steps": 6},
    "dvts": {"n": 4, "beam_width": 2, "max_steps": 6},
    "rebase": {"n": 4, "max_steps": 6},
    "particle_filter": {"n_particles": 4, "max_steps": 6},
    "particle_gibbs": {"n_particles": 4, "n_iterations": 2, "max_steps": 6},
    "phi_decoding": {"n_beams": 2, "n_rollouts": 2, "max_steps": 6, "max_step_tokens": 64, "max_tokens": 400},
    "resample_until_pass": {"max_samples": 8},
    "constrained_smc": {"constraint": "lipogram:z", "n_particles": 4, "chunk_tokens": 8, "max_tokens": 64},
    "constrained_best_of_n": {"constraint": "lipogram:z", "max_tokens": 64},
    "rejection_sampling": {"constraint": "lipogram:z", "max_tokens": 64},
}


@lru_cache(maxsize=None)
def _outcome():
    from itslab.generators.simulated import make_suite
    from itslab.verifiers import NoisyVerifier

    problems, gen = make_suite(6, seed=0, kind="outcome", mean_tokens=40.0)
    gen.n_params = 1e9  # a FLOPs budget needs a parameter count; the simulator has none of its own
    return problems, gen, NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)


@lru_cache(maxsize=None)
def _stepwise():
    from itslab.generators.simulated import make_suite, step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    problems, gen = make_suite(6, seed=0, kind="stepwise")
    gen.n_params = 1e9
    return problems, gen, NoisyProcessVerifier(step_oracle, noise=0.5, seed=0)


def setup_for(name: str):
    """(problems, generator, verifier, hyper) for strategy `name`."""
    problems, gen, ver = _stepwise() if name in STEP_STRATEGIES else _outcome()
    return problems, gen, ver, dict(HYPER.get(name, {"max_tokens": 64}))
