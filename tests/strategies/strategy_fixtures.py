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
    "budget_forcing": {"n": 2, "n_waits": 1, "max_thinking_tokens": 120, "max_answer_tokens": 16},
}
SEQUENTIAL_STRATEGIES = frozenset({"budget_forcing"})
HYPER["fractured_sampling"] = {"n": 2, "H": 3, "m": 2, "max_tokens": 120, "answer_tokens": 16, "select": "best"}
ANYTIME_STRATEGIES = frozenset({"fractured_sampling"})
HYPER["probe_early_exit"] = {"probe_interval": 16, "window": 2, "max_tokens": 96, "probe_tokens": 6}
THINKING_STRATEGIES = frozenset({"probe_early_exit"})


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


@lru_cache(maxsize=None)
def _sequential():
    from itslab.generators.simulated import make_suite
    from itslab.verifiers import NoisyVerifier

    problems, gen = make_suite(6, seed=0, kind="sequential", mean_think_tokens=60.0, mean_wait_tokens=30.0)
    gen.n_params = 1e9
    return problems, gen, NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)


@lru_cache(maxsize=None)
def _anytime():
    from itslab.generators.simulated import make_suite
    from itslab.verifiers import NoisyVerifier

    problems, gen = make_suite(6, seed=0, kind="anytime", n_segments=6, mean_think_tokens=60.0, mean_answer_tokens=4.0)
    gen.n_params = 1e9
    return problems, gen, NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)


@lru_cache(maxsize=None)
def _thinking():
    from itslab.generators.simulated import make_suite
    from itslab.verifiers import NoisyVerifier

    problems, gen = make_suite(6, seed=0, kind="thinking", mean_think_tokens=80.0)
    gen.n_params = 1e9
    return problems, gen, NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)


HYPER["speculative_reasoning"] = {"max_steps": 6, "max_step_tokens": 64, "max_tokens": 400}
PAIR_STRATEGIES = frozenset({"speculative_reasoning"})


@lru_cache(maxsize=None)
def _pair():
    from itslab.experiments.speculative_sim import sim_pair
    from itslab.generators.pair import ModelPair

    problems, pair, prm = sim_pair(6, seed=0)
    pair.drafter.n_params, pair.target.n_params = 1e8, 1e9
    return problems, ModelPair(pair.drafter, pair.target), prm


def setup_for(name: str):
    """(problems, generator, verifier, hyper) for strategy `name`."""
    if name in PAIR_STRATEGIES:
        problems, gen, ver = _pair()
    elif name in THINKING_STRATEGIES:
        problems, gen, ver = _thinking()
    elif name in SEQUENTIAL_STRATEGIES:
        problems, gen, ver = _sequential()
    elif name in ANYTIME_STRATEGIES:
        problems, gen, ver = _anytime()
    else:
        problems, gen, ver = _stepwise() if name in STEP_STRATEGIES else _outcome()
    return problems, gen, ver, dict(HYPER.get(name, {"max_tokens": 64}))
