"""Known-answer tests for `speculative_reasoning` (SpecReason, Pan et al. 2025, arXiv:2504.07891).

Threshold 0 keeps every draft unscored, so the result is the drafter's own step-by-step sampling;
threshold 10 never drafts, so it is the target's; both are rebuilt here by hand with the same
per-step seeds. A scripted verifier that always (never) likes a draft gives the drafter's (the
target's) text with a score per step; drafts are charged at the drafter's size.
"""

from __future__ import annotations

import math

import pytest

from itslab import Budget, strategies
from itslab.experiments import speculative_sim as sp
from itslab.protocols import prompt_for
from itslab.rng import draw_seed, problem_rng
from itslab.strategies.base import step_finished
from itslab.types import Request, Usage

NAME = "speculative_reasoning"
HYPER = dict(max_steps=12, max_step_tokens=256, max_tokens=1024, temperature=1.0, top_p=1.0)


@pytest.fixture(scope="module")
def suite():
    return sp.sim_pair(8, seed=0, drafter_power=3.0, auc=0.8)


def stepwise(gen, problem, seed_rng, *, max_steps, max_step_tokens, max_tokens, temperature, top_p):
    """A model's own step-by-step sampling, one seed per step drawn from `seed_rng`."""
    prefix, text, n = prompt_for(problem, gen), "", 0
    for _ in range(max_steps):
        seed = draw_seed(seed_rng)
        mt = min(max_step_tokens, max_tokens - n)
        req = Request(
            prefix + text, n=1, max_tokens=mt, temperature=temperature, top_p=top_p, stop=("\n\n",), seed=seed
        )
        c = gen.generate([req])[0][0]
        text, n = text + c.text, n + c.n_tokens
        if step_finished(c):
            break
    return text


class Constant:
    """A verifier giving every text the same score (one per text)."""

    def __init__(self, value: float) -> None:
        self.value, self.name = value, f"constant({value})"

    def score(self, problem, texts):
        return [(self.value,) for _ in texts]

    def cost(self, problem, texts):
        return Usage(verifier_calls=len(texts))


@pytest.mark.parametrize("threshold, role", [(0.0, "drafter"), (-3.0, "drafter"), (10.0, "target"), (9.5, "target")])
def test_ends_of_the_threshold_are_each_models_own_sampling(suite, threshold, role):
    problems, pair, prm = suite
    fn = strategies.get(NAME)
    for p in problems[:4]:
        r = fn(p, pair, prm, Budget(samples=64), problem_rng(0, p.id), threshold=threshold, **HYPER)
        want = stepwise(getattr(pair, role), p, problem_rng(0, p.id), **HYPER)
        assert r.candidates[0].text == want
        kinds = {s.kind for s in r.trace}
        assert ("score" in kinds) is False and (("draft" in kinds) == (role == "drafter"))
        assert ("target" in kinds) == (role == "target")


@pytest.mark.parametrize("value, role", [(1.0, "drafter"), (0.0, "target")])
def test_a_verifier_that_always_or_never_likes_the_draft(suite, value, role):
    problems, pair, _ = suite
    p = problems[2]
    r = strategies.get(NAME)(p, pair, Constant(value), Budget(samples=64), problem_rng(1, p.id), threshold=7, **HYPER)
    assert r.candidates[0].text == stepwise(getattr(pair, role), p, problem_rng(1, p.id), **HYPER)
    n = r.trace[-1].info["n_steps"]
    assert sum(s.kind == "score" for s in r.trace) == sum(s.kind == "draft" for s in r.trace) == n
    assert r.trace[-1].info["n_kept"] == (n if value == 1.0 else 0)
    assert r.candidates[0].step_scores == (9.0 * value,) * n
    assert r.usage.verifier_calls == n and r.usage.samples == n * (1 if value == 1.0 else 2)


def test_drafts_are_charged_at_the_drafters_size():
    from itslab.generators.pair import ModelPair

    problems, pair, _ = sp.sim_pair(2, seed=5)
    pair.drafter.n_params, pair.target.n_params = 1e8, 5e8
    pair = ModelPair(pair.drafter, pair.target)
    p = problems[0]
    r = strategies.get(NAME)(p, pair, Constant(0.0), Budget(samples=64), problem_rng(0, p.id), **HYPER)
    kinds = [s.kind for s in r.trace]
    assert "draft" in kinds and "target" in kinds
    for s in r.trace:
        n_params = {"draft": 1e8, "target": 5e8}.get(s.kind)
        if n_params:
            u = s.usage
            assert u.generator_flops == pytest.approx(2 * n_params * (u.prompt_tokens + u.generated_tokens))


def test_a_plain_generator_drafts_for_itself(stepwise_suite):
    problems, gen = stepwise_suite
    p = problems[0]
    r = strategies.get(NAME)(p, gen, Constant(1.0), Budget(samples=64), problem_rng(0, p.id), **HYPER)
    assert r.candidates[0].text == stepwise(gen, p, problem_rng(0, p.id), **HYPER)
    assert r.correct is not None and r.trace[-1].info["stop"] == "done"


def test_without_a_verifier_the_target_rates_each_draft():
    class Rater:
        """A target that rates every step 8 (digits' log-probs peaked at " 8"); writes one finished step."""

        model_id, n_params = "rater", 0.0

        def generate(self, requests):
            from itslab.types import Completion

            return [[Completion("#### 4", n_tokens=2, finish_reason="stop", seed=r.seed)] for r in requests]

        def logprob_of(self, prefix, continuation):
            return 0.0 if continuation == " 8" else -50.0

    from itslab.generators.pair import ModelPair
    from itslab.types import Problem

    p = Problem(id="t/0", prompt="What is 2 + 2?", answer="4")
    pair = ModelPair(Rater(), Rater())
    r = strategies.get(NAME)(p, pair, None, Budget(samples=4), problem_rng(0, p.id), threshold=7)
    assert r.correct is True and r.candidates[0].step_scores == pytest.approx((8.0,))
    assert [s.kind for s in r.trace][:3] == ["draft", "score", "verdict"] and r.trace[2].info["kept"] is True


def test_a_budget_too_small_for_the_target_keeps_the_text_so_far(suite):
    problems, pair, _ = suite
    p = problems[3]
    r = strategies.get(NAME)(p, pair, Constant(0.0), Budget(samples=1), problem_rng(0, p.id), **HYPER)
    assert r.usage.samples == 1 and r.trace[-1].info["stop"] == "budget" and r.answer is None
    assert r.candidates[0].text == ""  # the rejected draft is dropped


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(max_steps=0), "max_steps"),
        (dict(max_tokens=1.5), "max_tokens"),
        (dict(threshold=math.nan), "threshold"),
        (dict(delimiter=""), "delimiter"),
        (dict(temperature=-1.0), "temperature"),
    ],
)
def test_bad_hyper_parameters_raise(suite, kw, match):
    problems, pair, prm = suite
    with pytest.raises(ValueError, match=match):
        strategies.get(NAME)(problems[0], pair, prm, Budget(samples=4), problem_rng(0, "x"), **kw)
