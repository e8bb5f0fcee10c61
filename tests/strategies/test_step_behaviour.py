"""Behaviour of step-level search under a noisy PRM — the qualitative claims of Puri et al. 2025
(arXiv:2502.01618), measured on `StepwiseSimGenerator` with `NoisyProcessVerifier`.

Setup (fixed before measuring, not tuned): 150 problems from ``make_suite(seed=2024, a=1, b=2,
n_steps=4)`` (pass@1 ~ Beta(1, 2), mean ≈ 0.35; 4-step solutions keep the runs cheap); the simulated
PRM scores step i as sigmoid(±1.5 + noise·ε_i) (separation 3), so its per-step ROC AUC is 0.98 at
noise 1 and 0.70 at noise 4. Budget 16: 16 particles (the authors' defaults), 16 beams of width 4
(search-and-learn's defaults), 16 samples for weighted best-of-N. Claims are tested on the paired
difference over problems, which must exceed 2 standard errors (60 problems were too few: a first
run at 60 gave +0.10 ± 0.057 for claim (a)).

Measured (seed 2024, 150 problems; accuracy, mean generated tokens per problem, mean ESS of 16):
noise 1: weighted best-of-16 0.740, particle filter 0.993 (ESS 6.5), beam search 0.967;
noise 4: weighted best-of-16 0.647 (3971 tok), particle filter 0.747 (4039 tok, ESS 2.0), beam 0.827.
Claim (a) holds: PF − weighted BoN = +0.100 ± 0.036 at noise 4, at 2% more generated tokens.
Claim (b) does not: beam search drops 0.140, the particle filter 0.247 (difference −0.107 ± 0.037).
The claim-(b) measurements need 4 more sweeps (~25 s), so they are marked slow.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from step_helpers import noisy_prm, stepwise_suite

from itslab import Budget, strategies
from itslab.rng import problem_rng

N_PROBLEMS, SEED = 150, 2024
LOW, HIGH = 1.0, 4.0
HYPER = {
    "weighted_best_of_n": {"n": 16, "max_tokens": 4096},
    "particle_filter": {"n_particles": 16},
    "beam_search": {"n": 16, "beam_width": 4},
}


@lru_cache(maxsize=None)
def measure(name: str, noise: float) -> tuple[np.ndarray, float, float]:
    """(per-problem correctness, mean generated tokens, mean ESS after resampling steps) of `name`."""
    problems, gen = stepwise_suite(N_PROBLEMS, SEED, a=1.0, b=2.0, n_steps=4)
    prm = noisy_prm(noise)
    fn = strategies.get(name)
    correct, tokens, ess = [], [], []
    for p in problems:
        r = fn(p, gen, prm, Budget(samples=100_000), problem_rng(SEED, p.id, name), **HYPER[name])
        correct.append(bool(r.correct))
        tokens.append(r.usage.generated_tokens)
        ess += [s.info["ess"] for s in r.trace if s.kind == "smc"][1:]  # the first record is the uniform init
    return np.array(correct, dtype=float), float(np.mean(tokens)), float(np.mean(ess)) if ess else float("nan")


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = a - b
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def test_pf_beats_weighted_best_of_n_at_budget_16_with_a_noisy_prm():
    pf, pf_tok, _ = measure("particle_filter", HIGH)
    wb, wb_tok, _ = measure("weighted_best_of_n", HIGH)
    diff, se = _paired(pf, wb)
    msg = (
        f"PF {pf.mean():.3f} ({pf_tok:.0f} gen tokens/problem) vs weighted BoN {wb.mean():.3f} "
        f"({wb_tok:.0f}); diff {diff:+.3f} ± {se:.3f}"
    )
    assert diff > 2 * se, msg
    # compute is comparable: PF's resampled copies share their prefixes, so it generates about N solutions
    assert abs(pf_tok / wb_tok - 1) < 0.1, msg


@pytest.mark.slow
def test_both_degrade_with_noise_and_pf_weights_degenerate():
    """What does hold: accuracy falls with PRM noise for both, and the particle filter's weights
    degenerate (mean ESS after reweighting drops), since softmax(logit r) passes the PRM's logit noise
    straight into the weights."""
    for name in ("beam_search", "particle_filter"):
        lo, hi = measure(name, LOW)[0], measure(name, HIGH)[0]
        assert lo.mean() >= hi.mean(), f"{name}: {lo.mean():.3f} at noise {LOW} < {hi.mean():.3f} at {HIGH}"
    ess_lo, ess_hi = measure("particle_filter", LOW)[2], measure("particle_filter", HIGH)[2]
    assert ess_hi < 0.5 * ess_lo, f"mean ESS {ess_lo:.1f} at noise {LOW}, {ess_hi:.1f} at {HIGH} (of 16)"


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "Puri et al.'s claim does not hold in our simulator (seed 2024, 150 problems): from noise 1 to 4 beam "
        "search goes 0.967 -> 0.827 (-0.140), the particle filter 0.993 -> 0.747 (-0.247); difference "
        "-0.107 ± 0.037. The simulated PRM's errors are independent per step, so rank-based beam pruning (top 4 "
        "of 16) rarely loses every correct sibling, and a broken beam keeps scoring low later; PF's weights "
        "softmax(logit r / 1) take the PRM's logit noise at full scale (mean ESS 6.5 -> 2.0 of 16), so "
        "resampling follows the noise. The paper's setting is systematic PRM error (reward hacking), which "
        "this PRM does not model."
    ),
)
def test_beam_search_degrades_faster_than_pf():
    beam_drop = measure("beam_search", LOW)[0] - measure("beam_search", HIGH)[0]
    pf_drop = measure("particle_filter", LOW)[0] - measure("particle_filter", HIGH)[0]
    diff, se = _paired(beam_drop, pf_drop)
    msg = f"beam drop {beam_drop.mean():+.3f}, PF drop {pf_drop.mean():+.3f}, diff {diff:+.3f} ± {se:.3f}"
    assert diff > 2 * se, msg
