"""Constrained SMC (Lew et al. 2023; DisCIPL, Grand et al. 2025) and its baselines, on a character-level
stub generator whose distribution is known: i.i.d. characters, one token each, EOS with a set probability."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest

from itslab import Budget, BudgetTooSmall
from itslab.generators.common import empty_completions, find_stop, validate_requests
from itslab.rng import inverse_cdf, problem_rng, sample_uniforms
from itslab.strategies import info
from itslab.strategies.base import Run
from itslab.strategies.constrained_baselines import constrained_best_of_n, rejection_sampling
from itslab.strategies.constrained_smc import ConstrainedSMC, constrained_smc
from itslab.strategies.sampling import draw_pool
from itslab.tasks.constraints import Constant, WordCount, potential, satisfies
from itslab.types import Completion, Problem, Request

PROBLEM = Problem(id="lipo/0", prompt="Write something.")


class CharStub:
    """Characters drawn i.i.d. from `probs` ("" is EOS), token t of sample j from the t-th uniform of
    `sample_uniforms(seed, j)` (the Generator protocol: a sample depends on (params, seed, j) only)."""

    model_id, n_params = "char-stub", 0.0

    def __init__(self, probs: dict[str, float]) -> None:
        self.chars = list(probs)
        self.p = np.array([probs[c] for c in self.chars], dtype=float)

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        validate_requests(requests)
        return [self._one(r) if r.max_tokens else empty_completions(r) for r in requests]

    def _one(self, r: Request) -> list[Completion]:
        p = self.p ** (1.0 / r.temperature) if r.temperature > 0 else (self.p == self.p.max()).astype(float)
        cdf = np.cumsum(p / p.sum())
        out = []
        for j in range(r.n):
            text, finish, n = "", "length", r.max_tokens
            for t, u in enumerate(sample_uniforms(r.seed, j, r.max_tokens)):
                ch = self.chars[int(inverse_cdf(cdf, u))]
                if ch == "":
                    finish, n = "stop", t + 1
                    break
                text += ch
                if find_stop(text, r.stop, len(text) - 1):
                    finish, n = "stop", t + 1
                    break
            out.append(Completion(text, n, len(r.prefix), 0, None, None, finish, r.seed, {"index": j}))
        return out


# ---------------------------------------------------------------- potentials


def test_potentials_follow_their_definitions():
    assert satisfies("lipogram:e", "a dog ran") and not satisfies("lipogram:e", "A dog, thE end")
    wc = potential("words:2")
    assert wc("one", False) == 0.0 and wc("one", True) == -math.inf and wc("one two", True) == 0.0
    assert wc("one two thr", False) == -math.inf
    ini = potential("initial:s")
    assert ini("Some sun. so", False) == 0.0 and ini("Some sun. Then", False) == -math.inf
    assert potential("constant")("anything", True) == 0.0 and potential(Constant(1.5))("x") == 1.5
    assert isinstance(potential("words:3"), WordCount)
    for bad in ("nope:1", "words:x", "lipogram:ab", "words:-1"):
        with pytest.raises(ValueError, match="constraint"):
            potential(bad)


def test_stub_keeps_the_generator_contract():
    gen = CharStub({"a": 0.5, "b": 0.3, "": 0.2})
    r = Request("x", n=5, max_tokens=8, seed=3)
    five, three = gen.generate([r])[0], gen.generate([Request("x", n=3, max_tokens=8, seed=3)])[0]
    assert five[:3] == three and five == gen.generate([r])[0]
    assert all(c.n_tokens <= 8 and (c.finish_reason == "length") == (c.n_tokens == len(c.text) == 8) for c in five)
    cut = gen.generate([Request("x", n=4, max_tokens=8, seed=3, stop=("b",))])[0]
    assert all("b" not in c.text[:-1] for c in cut)
    assert gen.generate([Request("x", n=2, max_tokens=0)])[0] == empty_completions(Request("x", n=2, max_tokens=0))


# ---------------------------------------------------------------- known answers


def test_one_chunk_and_a_constant_potential_is_exactly_plain_sampling():
    """Pinned identity: with chunk_tokens = max_tokens, weights never move (ESS = N, no resampling) and
    step 1 is one request of N samples with the first seed drawn from rng — draw_pool's request."""
    gen = CharStub({"a": 0.5, "b": 0.3, "": 0.2})
    budget = Budget(samples=6)
    r = constrained_smc(PROBLEM, gen, None, budget, problem_rng(7, "k"), constraint="constant", n_particles=6,
                        chunk_tokens=12, max_tokens=12)  # fmt: skip
    pool = draw_pool(Run("plain", PROBLEM, gen, None, budget), problem_rng(7, "k"), 6, max_tokens=12,
                     temperature=1.0, top_p=1.0)  # fmt: skip
    assert [c.text for c in r.candidates] == [c.text for c in pool]
    assert r.usage.samples == 6 and all(c.score == pytest.approx(1 / 6) for c in r.candidates)


def _exact_conditional(probs: dict[str, float], max_len: int, ok) -> dict[str, float]:
    """p_LM(x | ok(x)) over every text of the i.i.d. stub of at most `max_len` characters."""
    chars = [c for c in probs if c]
    dist: dict[str, float] = {}
    for n in range(max_len + 1):
        for s in itertools.product(chars, repeat=n):
            x = "".join(s)
            p = math.prod(probs[c] for c in s) * (probs[""] if n < max_len else 1.0)
            if ok(x):
                dist[x] = dist.get(x, 0.0) + p
    return dist


def test_weighted_particles_approach_the_constrained_target_and_evidence():
    """Exact word count on a 2-character stub: the weighted particle system's text distribution is within
    0.12 total variation of p_LM(x | exactly 2 words) (56 texts, enumerated), and the evidence estimate Ẑ
    is within 10% of P_LM(exactly 2 words) (seed 0, 4000 particles, one token per chunk). The TV is Monte
    Carlo noise, not bias: seeds 0 and 1 give 0.15, 0.16 at N = 1000; 0.085, 0.074 at 4000; 0.04 at 16000."""
    probs = {"a": 0.5, " ": 0.3, "": 0.2}
    target = _exact_conditional(probs, 6, lambda x: len(x.split()) == 2)
    z = sum(target.values())
    run = Run("constrained_smc", PROBLEM, CharStub(probs), None, Budget(samples=10**6))
    smc = ConstrainedSMC(run, "words:2", n_particles=4000, chunk_tokens=1, max_tokens=6)
    rng = np.random.default_rng(0)
    state = smc.init()
    while not state.done:
        state, _ = smc.step(state, rng)
    got: dict[str, float] = defaultdict(float)
    for p, w in zip(state.particles, state.weights):
        got[p.text] += w
    tv = 0.5 * sum(abs(got.get(x, 0.0) - target.get(x, 0.0) / z) for x in set(got) | set(target))
    assert tv < 0.12, tv
    assert math.exp(state.evidence) == pytest.approx(z, rel=0.1)
    assert all(satisfies("words:2", p.text) for p, w in zip(state.particles, state.weights) if w > 0)


class Scripted:
    """A generator whose samples are a fixed script: sample j of any request is ``script[j]`` (tokens =
    words, a 3-token prompt read afresh each time), so what a strategy draws and pays is known by hand."""

    model_id, n_params = "scripted", 0.0

    def __init__(self, script: list[str]) -> None:
        self.script = script

    def count_tokens(self, text: str) -> int:
        return 3

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        validate_requests(requests)
        return [[Completion(t, len(t.split()), 3, seed=r.seed) for t in self.script[: r.n]] for r in requests]


def test_constrained_best_of_n_returns_the_first_sample_that_meets_the_constraint():
    """By hand: of "the end" / "a dog ran" / "green" / "a cat", samples 1 and 3 have no 'e'. A budget of 4
    samples buys one request of 4 (2 + 3 + 1 + 2 = 8 generated tokens, 4 × 3 prompt tokens); the answer is
    sample 1, the first that satisfies (the pool is i.i.d., so the first is an exact draw from p(x | ok))."""
    gen = Scripted(["the end", "a dog ran", "green", "a cat"])
    r = constrained_best_of_n(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "s"), constraint="lipogram:e")
    assert r.answer == "a dog ran"
    assert [c.score for c in r.candidates] == [0.0, 1.0, 0.0, 1.0]
    assert [c.answer for c in r.candidates] == [None, "a dog ran", None, None]
    assert (r.usage.samples, r.usage.generated_tokens, r.usage.prompt_tokens) == (4, 8, 12)
    assert len(r.trace) == 2 and r.trace[-1].info == {"chosen": 1, "n_samples": 4, "n_satisfied": 2}
    # n = 1 buys only the first sample, which fails: no answer, one sample paid
    one = constrained_best_of_n(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "s"), constraint="lipogram:e",
                                n=1)  # fmt: skip
    assert one.answer is None and (one.usage.samples, one.usage.generated_tokens) == (1, 2)
    # "exactly 1 word": only sample 2 ("green") meets it
    w1 = constrained_best_of_n(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "s"), constraint="words:1")
    assert w1.answer == "green" and [c.score for c in w1.candidates] == [0.0, 0.0, 1.0, 0.0]


def _plain_text_distribution(probs: dict[str, float], max_len: int) -> dict[str, float]:
    """p_LM(x) of the i.i.d. stub cut at `max_len` characters: plain sampling's exact distribution."""
    return _exact_conditional(probs, max_len, lambda x: True)


def test_constant_potential_over_many_chunks_is_plain_sampling_in_distribution():
    """A constant potential leaves every weight equal, so SMC never resamples and each particle is the
    LM's own chunk-by-chunk continuation of its prefix: N independent plain samples. The code does not
    make this exact under a seed (every chunk after the first draws its own request seed), so it is
    checked in distribution: 4 one-token chunks, 4000 particles (seed 0), the particles' text
    distribution (31 texts, enumerated) within 0.05 total variation of p_LM. A correct run's TV is
    Monte Carlo noise: 0.026-0.032 on seeds 0-2, as plain draw_pool of 4000 on the same seeds
    (0.027-0.031); particles sharing one chunk, stopping a token early, or the answer not drawn by
    weight all fail it. The run's generated tokens are exactly the particles' (no chunk paid twice)."""
    probs = {"a": 0.5, "b": 0.3, "": 0.2}
    target = _plain_text_distribution(probs, 4)
    gen = CharStub(probs)
    run = Run("constrained_smc", PROBLEM, gen, None, Budget(samples=10**6))
    smc = ConstrainedSMC(run, Constant(1.5), n_particles=4000, chunk_tokens=1, max_tokens=4)
    rng = np.random.default_rng(0)
    state, infos = smc.init(), []
    while not state.done:
        state, info_ = smc.step(state, rng)
        infos.append(info_)
    assert len(infos) == 4 and not any(i.resampled for i in infos)
    assert all(i.ancestors == tuple(range(4000)) for i in infos)
    assert np.allclose(state.weights, 1 / 4000) and all(p.finished for p in state.particles)
    assert sum(s.usage.generated_tokens for s in run.steps) == sum(p.n_tokens for p in state.particles)

    def tv(texts: list[str]) -> float:
        got: dict[str, float] = defaultdict(float)
        for t in texts:
            got[t] += 1 / len(texts)
        return 0.5 * sum(abs(got.get(x, 0.0) - target.get(x, 0.0)) for x in set(got) | set(target))

    plain = draw_pool(Run("plain", PROBLEM, gen, None, Budget(samples=4000)), np.random.default_rng(0), 4000,
                      max_tokens=4, temperature=1.0, top_p=1.0)  # fmt: skip
    assert tv([c.text for c in plain]) < 0.05
    assert tv([p.text for p in state.particles]) < 0.05, tv([p.text for p in state.particles])
    # the strategy's answer (one particle drawn by weight) is one plain sample too: its length law
    kw: dict = dict(constraint="constant", n_particles=4, chunk_tokens=1, max_tokens=4)
    lengths = [
        len(constrained_smc(PROBLEM, gen, None, Budget(samples=40), problem_rng(s, "c"), **kw).answer)
        for s in range(600)
    ]
    law = [0.2 * 0.8**k for k in range(4)] + [0.8**4]  # P(length k) of plain sampling
    freq = np.bincount(lengths, minlength=5) / len(lengths)
    assert np.abs(freq - law).max() < 0.06, (freq, law)  # 600 draws: SE at most 0.02 per length


# ---------------------------------------------------------------- steering beats filtering


def test_lipogram_smc_beats_best_of_n_and_rejection_at_the_same_token_budget():
    """30 i.i.d. characters with P('e') = 0.15: P(no 'e') = 0.85^30 ≈ 0.008, so 8 full samples (240 tokens)
    satisfy the lipogram with probability ≈ 0.06; 8 particles in 2-token chunks under the same 240
    generated tokens almost always do. Over 40 seeds: SMC ≥ 0.8, both baselines ≤ 0.25."""
    gen = CharStub({"a": 0.45, "b": 0.4, "e": 0.15})
    budget = Budget(generated_tokens=240)
    kw = dict(constraint="lipogram:e", max_tokens=30)
    rates = {"smc": 0, "bon": 0, "rs": 0}
    for s in range(40):
        smc = constrained_smc(PROBLEM, gen, None, budget, problem_rng(s, "l"), n_particles=8, chunk_tokens=2, **kw)
        bon = constrained_best_of_n(PROBLEM, gen, None, budget, problem_rng(s, "l"), **kw)
        rs = rejection_sampling(PROBLEM, gen, None, budget, problem_rng(s, "l"), **kw)
        for k, r in (("smc", smc), ("bon", bon), ("rs", rs)):
            assert budget.allows(r.usage)
            if r.answer is not None:
                assert satisfies("lipogram:e", r.answer) and len(r.answer) == 30
                rates[k] += 1
    assert rates["smc"] / 40 >= 0.8 and rates["bon"] / 40 <= 0.25 and rates["rs"] / 40 <= 0.25, rates


# ---------------------------------------------------------------- endings


def test_all_particles_dead_is_a_clear_result_not_an_exception():
    gen = CharStub({"e": 1.0})
    r = constrained_smc(PROBLEM, gen, None, Budget(samples=40), problem_rng(0, "d"), constraint="lipogram:e",
                        n_particles=4, chunk_tokens=2, max_tokens=10)  # fmt: skip
    assert r.answer is None and r.usage.samples == 4  # one chunk each, then nothing is spent on the dead
    assert r.trace[-1].info["stop"] == "infeasible" and not any(c.meta["alive"] for c in r.candidates)
    for fn in (constrained_best_of_n, rejection_sampling):
        assert fn(PROBLEM, gen, None, Budget(samples=3), problem_rng(0, "d"), constraint="lipogram:e").answer is None


def test_budget_ends_the_run_with_what_finished():
    gen = CharStub({"a": 0.9, "": 0.1})
    r = constrained_smc(PROBLEM, gen, None, Budget(samples=8), problem_rng(1, "b"), constraint="lipogram:e",
                        n_particles=4, chunk_tokens=2, max_tokens=40)  # fmt: skip
    assert r.usage.samples <= 8 and r.trace[-1].info["stop"] == "budget"
    assert r.answer is None or satisfies("lipogram:e", r.answer)


def test_rejection_sampling_stops_at_the_first_success():
    gen = CharStub({"a": 0.5, "e": 0.5, "": 0.0})
    r = rejection_sampling(PROBLEM, gen, None, Budget(samples=50), problem_rng(2, "r"), constraint="lipogram:e",
                           max_tokens=2)  # fmt: skip
    assert r.answer == r.candidates[-1].text and satisfies("lipogram:e", r.answer)
    assert all(not satisfies("lipogram:e", c.text) for c in r.candidates[:-1])


def test_a_budget_that_cannot_buy_the_first_step_raises():
    gen = CharStub({"a": 1.0})
    with pytest.raises(BudgetTooSmall, match=r"constrained_smc: .*8 samples of up to 8 tokens.*samples=8"):
        constrained_smc(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "x"), constraint="lipogram:e")
    for fn in (constrained_best_of_n, rejection_sampling):
        with pytest.raises(BudgetTooSmall, match=r"one sample of up to 256 tokens.*generated_tokens=256"):
            fn(PROBLEM, gen, None, Budget(generated_tokens=100), problem_rng(0, "x"), constraint="lipogram:e")


def test_bad_hyper_parameters_fail_before_spending():
    gen = CharStub({"a": 1.0})
    with pytest.raises(ValueError, match="no constraint"):
        constrained_smc(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "x"))
    with pytest.raises(ValueError, match="unknown constraint"):
        constrained_best_of_n(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "x"), constraint="lipo")
    with pytest.raises(ValueError, match="ess_threshold"):
        constrained_smc(PROBLEM, gen, None, Budget(samples=4), problem_rng(0, "x"), constraint="constant",
                        ess_threshold=2.0)  # fmt: skip
    p = Problem(id="m", prompt="x", meta={"constraint": "lipogram:e"})
    assert constrained_smc(p, gen, None, Budget(samples=8), problem_rng(0, "x"), n_particles=2, max_tokens=4).answer
    assert info("constrained_smc").samples_per_rollout({"max_tokens": 20, "chunk_tokens": 8}) == 3


# ---------------------------------------------------------------- a real model


@pytest.mark.slow
def test_lipogram_on_smollm2_smc_vs_best_of_n():
    """SmolLM2-135M (CPU), no letter 'e' in 8 tokens after "Once upon a time": 4 particles in 2-token
    chunks vs best-of-N at the same 32 generated tokens, 3 seeds. Prints both satisfaction counts;
    SMC must do at least as well (on 2 particles × 16 tokens both satisfied 0 of 6 seeds)."""
    from itslab import models

    gen = models.load("smollm2-135m")
    prob = Problem(id="lipo/real", prompt="Once upon a time")
    budget = Budget(generated_tokens=32)
    kw: dict = dict(constraint="lipogram:e", max_tokens=8, temperature=1.0)
    smc = bon = 0
    for s in range(3):
        r = constrained_smc(prob, gen, None, budget, problem_rng(s, "r"), n_particles=4, chunk_tokens=2, **kw)
        b = constrained_best_of_n(prob, gen, None, budget, problem_rng(s, "r"), **kw)
        assert budget.allows(r.usage) and budget.allows(b.usage)
        assert r.answer is None or satisfies("lipogram:e", r.answer)
        smc, bon = smc + (r.answer is not None), bon + (b.answer is not None)
    print(f"lipogram satisfied: constrained_smc {smc}/3, constrained_best_of_n {bon}/3")
    assert smc >= bon
