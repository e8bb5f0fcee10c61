"""Repeated-sampling pools (itslab.pools): shapes, prefix stability, agreement with generate()."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.generators.simulated import SimulatedGenerator, make_suite
from itslab.pools import (
    Pool,
    draw_pool,
    draw_pools,
    exact_pass_at_k,
    fold_scores,
    majority_limit,
    monte_carlo_pass_at_k,
    prompt_text,
    raw_scores,
    score_pool,
    shift_skill,
)
from itslab.types import Completion, Problem, Request
from itslab.verifiers import ExactAnswer, NoisyVerifier


@pytest.fixture(scope="module")
def suite():
    return make_suite(6, seed=3, a=2, b=2)


def test_pool_shapes_and_readonly(suite):
    problems, gen = suite
    pool = draw_pool(gen, problems, 16, seed=0)
    assert pool.correct.shape == pool.answers.shape == pool.tokens.shape == pool.confidence.shape == (6, 16)
    assert pool.problem_ids == tuple(p.id for p in problems) and pool.n == 16 and pool.n_problems == 6
    with pytest.raises(ValueError):
        pool.correct[0, 0] = True  # read-only record


def test_head_equals_smaller_pool(suite):
    problems, gen = suite
    big, small = draw_pool(gen, problems, 32, seed=5), draw_pool(gen, problems, 8, seed=5)
    h = big.head(8)
    assert (h.answers == small.answers).all() and (h.correct == small.correct).all()
    assert np.array_equal(h.tokens, small.tokens) and np.allclose(h.confidence, small.confidence)
    with pytest.raises(ValueError, match="1..32"):
        big.head(33)


def test_fast_path_matches_generate(suite):
    # the sample_table fast path and the text path (generate + extraction + checking) agree sample by sample
    problems, gen = suite
    fast = draw_pool(gen, problems, 12, seed=1, temperature=0.7)
    slow = draw_pool(gen, problems, 12, seed=1, temperature=0.7, keep_texts=True)
    assert slow.texts is not None and len(slow.texts[0]) == 12
    assert (fast.correct == slow.correct).all()
    assert (fast.answers == slow.answers).all()
    assert np.array_equal(fast.tokens, slow.tokens)
    assert np.allclose(fast.confidence, slow.confidence)


def test_pass_at_1_close_to_closed_form():
    # 200 problems x 400 samples: mean pass@1 within 4 standard errors of the exact mean p (seeded)
    problems, gen = make_suite(200, seed=0, a=2, b=3)
    pool = draw_pool(gen, problems, 400, seed=0)
    exact = np.mean([gen.p_correct(p) for p in problems])
    est = pool.pass_at_1()
    se = np.sqrt(np.mean([gen.p_correct(p) * (1 - gen.p_correct(p)) for p in problems]) / 400 / 200)
    assert abs(est.mean() - exact) < 4 * se


def test_max_tokens_cuts_like_generate(suite):
    problems, gen = suite
    fast = draw_pool(gen, problems, 10, seed=2, max_tokens=60)
    slow = draw_pool(gen, problems, 10, seed=2, max_tokens=60, keep_texts=True)
    assert (fast.tokens <= 60).all() and (fast.answers == None).any()  # noqa: E711 (elementwise)
    assert (fast.correct == slow.correct).all() and (fast.answers == slow.answers).all()


def test_score_pool_with_oracle_and_noisy(suite):
    problems, gen = suite
    pool = draw_pool(gen, problems, 8, seed=0, keep_texts=True)
    oracle = score_pool(pool, problems, ExactAnswer())
    assert np.array_equal(oracle == 1.0, pool.correct)
    noisy = score_pool(pool, problems, NoisyVerifier(tpr=1.0, fpr=0.0))
    assert np.array_equal(noisy, oracle)
    raw = raw_scores(pool, problems, NoisyVerifier(tpr=1.0, fpr=0.0))
    assert len(raw) == 6 and all(len(r) == 8 and len(r[0]) == 1 for r in raw)
    assert np.array_equal(fold_scores(raw, "min"), oracle)
    with pytest.raises(ValueError, match="keep_texts"):
        score_pool(draw_pool(gen, problems, 4, seed=0), problems, ExactAnswer())
    with pytest.raises(ValueError, match="order"):
        score_pool(pool, problems[::-1], ExactAnswer())


def test_shift_skill_is_monotone_and_keeps_prompts(suite):
    problems, _ = suite
    strong = shift_skill(problems, 1.0)
    weak = shift_skill(problems, -1.0)
    for p, s, w in zip(problems, strong, weak):
        assert w.meta["p_correct"] < p.meta["p_correct"] < s.meta["p_correct"]
        assert s.prompt == p.prompt and s.id == p.id
    back = shift_skill(strong, -1.0)
    assert np.allclose([b.meta["p_correct"] for b in back], [p.meta["p_correct"] for p in problems])
    gen_strong = SimulatedGenerator(strong, seed=3)
    assert gen_strong.p_correct(strong[0]) == pytest.approx(strong[0].meta["p_correct"])
    with pytest.raises(ValueError, match="p_correct"):
        shift_skill([Problem("x", "q", "1")], 1.0)


class _EchoChat:
    """A stub generator with a chat template: returns '#### 7' for every sample."""

    model_id = "stub"

    def chat_prompt(self, messages):
        return "<chat>" + messages[-1]["content"]

    def generate(self, requests):
        return [
            [Completion(text="so #### 7", n_tokens=3, logprobs=(-0.1, -0.2, -0.3)) for _ in range(r.n)]
            for r in requests
        ]


def test_text_path_with_a_stub_generator():
    probs = [
        Problem("a", "plain a", "7", messages=({"role": "user", "content": "A?"},)),
        Problem("b", "plain b", "8", messages=({"role": "user", "content": "B?"},)),
    ]
    gen = _EchoChat()
    assert prompt_text(probs[0], gen) == "<chat>A?"
    assert prompt_text(probs[0], gen, chat=False) == "plain a"
    pool = draw_pool(gen, probs, 3, seed=0, batch=1)
    assert pool.correct.tolist() == [[True] * 3, [False] * 3]
    assert pool.answers[0, 0] == "7" and pool.tokens[0, 0] == 3
    assert pool.confidence[0, 0] == pytest.approx(np.exp(-0.2))


def test_bad_inputs(suite):
    problems, gen = suite
    with pytest.raises(ValueError, match="n must be"):
        draw_pool(gen, problems, 0, seed=0)
    with pytest.raises(ValueError, match="no problems"):
        draw_pool(gen, [], 3, seed=0)
    with pytest.raises(ValueError, match="chat=True needs"):
        prompt_text(problems[0], gen, chat=True)
    with pytest.raises(ValueError, match="shape"):
        Pool(("a",), np.zeros((2, 3), bool), np.zeros((2, 3), object), np.zeros((2, 3), int), np.zeros((2, 3)))
    assert isinstance(Request(problems[0].prompt), Request)


def test_process_scores_fold_per_step():
    from itslab.generators.simulated import step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    problems, gen = make_suite(3, seed=1, kind="stepwise", n_steps=4)
    pool = draw_pool(gen, problems, 5, seed=0, keep_texts=True)
    raw = raw_scores(pool, problems, NoisyProcessVerifier(step_oracle, noise=0.5, seed=0))
    assert all(len(s) == 4 for row in raw for s in row)  # one score per step
    lo, last, prod = fold_scores(raw, "min"), fold_scores(raw, "last"), fold_scores(raw, "prod")
    assert np.all(lo <= last + 1e-12) and np.all(prod <= lo + 1e-12)
    assert np.array_equal(last, np.array([[s[-1] for s in row] for row in raw]))


def test_draw_pools_equals_separate_pools(suite):
    problems, gen = suite
    grid = [{"temperature": 0.5}, {"temperature": 1.0, "top_p": 0.9}]
    for keep in (False, True):
        pools = draw_pools(gen, problems, 6, seed=4, grid=grid, keep_texts=keep)
        for pool, g in zip(pools, grid):
            one = draw_pool(gen, problems, 6, seed=4, keep_texts=keep, **g)
            assert (pool.answers == one.answers).all() and pool.params["temperature"] == g["temperature"]
    with pytest.raises(ValueError, match="grid entries"):
        draw_pools(gen, problems, 2, seed=0, grid=[{"temp": 1.0}])
    with pytest.raises(ValueError, match="empty"):
        draw_pools(gen, problems, 2, seed=0, grid=[])


def test_draw_pools_batches_requests():
    calls = []

    class Counting(_EchoChat):
        def generate(self, requests):
            calls.append([r.temperature for r in requests])
            return super().generate(requests)

    probs = [Problem(f"p{i}", f"q{i}", "7") for i in range(3)]
    pools = draw_pools(Counting(), probs, 2, seed=0, grid=[{"temperature": t} for t in (0.2, 0.7)], batch=64)
    assert calls == [[0.2, 0.2, 0.2, 0.7, 0.7, 0.7]] and len(pools) == 2
    assert all(p.correct.all() for p in pools)


def test_monte_carlo_matches_the_unbiased_estimator():
    # 30 pools of 12: Monte Carlo over 4000 subsets within 5 standard errors of Chen et al.'s exact expectation
    from itslab.rng import as_rng
    from itslab.scaling import pass_at_k_matrix

    correct = as_rng(0).random((30, 12)) < 0.2
    ks = [1, 3, 12]
    mc = monte_carlo_pass_at_k(correct, ks, n_mc=4000, rng=as_rng(1))
    exact = pass_at_k_matrix(12, correct.sum(axis=1), ks)
    se = np.sqrt(exact * (1 - exact) / 4000) + 1e-12
    assert np.all(np.abs(mc - exact) <= 5 * se)
    assert np.array_equal(mc[:, -1], correct.any(axis=1).astype(float))  # k = n: the whole pool
    with pytest.raises(ValueError, match="1 <= k <= n"):
        monte_carlo_pass_at_k(correct, [13], n_mc=10, rng=as_rng(0))


def test_exact_pass_at_k_and_majority_limit(suite):
    problems, gen = suite
    ex = exact_pass_at_k(gen, problems, [1, 4], temperature=0.5)
    p = np.array([gen.p_correct(pr, temperature=0.5) for pr in problems])
    assert np.allclose(ex[:, 0], p) and np.allclose(ex[:, 1], 1 - (1 - p) ** 4)
    lim = majority_limit(gen, problems)
    greedy = np.array([gen.p_correct(pr, temperature=0.0) for pr in problems]) == 1.0
    # greedy (T = 0) follows the likeliest reasoning path, the gold mass being split over more paths
    # than a distractor's: it finds gold only where voting's limit does, and is voting's limit at T = 0
    assert lim.dtype == bool and np.all(lim[greedy])
    assert np.array_equal(majority_limit(gen, problems, temperature=0.0), greedy)
