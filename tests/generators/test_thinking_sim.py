"""The thinking-trace simulator (`ThinkingSimGenerator`): one trace however it is continued, probes that
answer with the settled answer from the settle token on, and the latent statistics it is built on
(seeded; tolerances stated beside each check)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.generators.simulated import THINK_END, extract_boxed, make_suite
from itslab.generators.simulated.thinking import HEADER_WORDS, OPENER
from itslab.strategies.probes import DYNASOR_PROBE, probe_answer
from itslab.types import Request


@pytest.fixture(scope="module")
def suite():
    return make_suite(40, seed=4, kind="thinking", mean_think_tokens=200.0, settle_mean=0.5)


def _grow(gen, prompt, seed, chunk):
    """A trace grown `chunk` tokens at a time, each request with its own seed."""
    text, k = "", 0
    while True:
        [c] = gen.generate([Request(prompt + text, n=1, seed=seed + k, max_tokens=chunk, temperature=0.8)])[0]
        text, k = text + c.text, k + 1
        if c.finish_reason == "stop":
            return text


def test_a_trace_grown_in_chunks_is_the_trace_written_at_once(suite):
    problems, gen = suite
    for p in problems[:8]:
        [whole] = gen.generate([Request(p.prompt, n=1, seed=3, max_tokens=10_000, temperature=0.8)])[0]
        [head] = gen.generate([Request(p.prompt, n=1, seed=3, max_tokens=20, temperature=0.8)])[0]
        rest = _grow(gen, p.prompt + head.text, 100, 17)  # later chunks' seeds do not matter
        assert head.text + rest == whole.text and whole.finish_reason == "stop"
        assert whole.n_tokens == gen.plan(p, whole.text[: len(OPENER) + 5 * HEADER_WORDS]).n_tokens
        assert extract_boxed(whole.text) == whole.meta["final_answer"] and THINK_END in whole.text


def test_a_header_cut_short_is_completed(suite):
    problems, gen = suite
    for chunk in (2, 3, 5):
        text = _grow(gen, problems[0].prompt, 7, chunk)
        plan = gen.plan(problems[0], text[: len(OPENER) + 5 * HEADER_WORDS])
        assert text == plan.text


def test_probes_answer_the_settled_answer_from_the_settle_token_on(suite):
    problems, gen = suite
    n_before = n_before_final = 0
    for p in problems:
        [c] = gen.generate([Request(p.prompt, n=1, seed=1, max_tokens=10_000, temperature=0.8)])[0]
        plan = gen.plan(p, c.text[: len(OPENER) + 5 * HEADER_WORDS])
        for t in range(16, plan.think_tokens, 16):
            [head] = gen.generate([Request(p.prompt, n=1, seed=1, max_tokens=t, temperature=0.8)])[0]
            [pr] = gen.generate([Request(p.prompt + head.text + DYNASOR_PROBE, n=1, seed=9, max_tokens=20)])[0]
            ans = probe_answer(pr.text)
            assert pr.meta["probe_position"] == t and pr.n_tokens == 20  # the model talks on after the box
            if t >= plan.settle_token:
                assert ans == plan.answer
            else:
                n_before += 1
                n_before_final += ans == plan.answer
    # before settling a probe guesses: gold with probability 0.3 p (when A is gold), else a scratch value
    assert n_before > 100 and n_before_final / n_before < 0.3


def test_latent_statistics():
    problems, gen = make_suite(
        600, seed=5, kind="thinking", mean_think_tokens=300.0, settle_mean=0.4, settle_concentration=4.0
    )
    plans = []
    for p in problems:
        [c] = gen.generate([Request(p.prompt, n=1, seed=2, max_tokens=40, temperature=1.0)])[0]
        plans.append(gen.plan(p, c.text[: len(OPENER) + 5 * HEADER_WORDS]))
    right = np.array([pl.answer == p.answer for pl, p in zip(plans, problems)])
    frac = np.array([pl.settle_token / pl.think_tokens for pl in plans])
    mean_p = np.mean([p.meta["p_correct"] for p in problems])
    # 600 traces: pass@1 sd <= 0.021, settle-fraction mean sd = sqrt(0.4*0.6/5/600) = 0.009 (4 sd)
    assert abs(right.mean() - mean_p) < 0.085
    assert abs(frac.mean() - 0.4) < 0.036
    think = np.array([pl.think_tokens for pl in plans])
    expect = np.mean([gen.mean_tokens(p) for p in problems])
    assert abs(think.mean() / expect - 1) < 0.1  # lognormal sd 0.4: mean within 10 % (sd of the mean 1.7 %)


def test_greedy_traces_are_one_trace(suite):
    problems, gen = suite
    cs = gen.generate([Request(problems[0].prompt, n=3, seed=1, max_tokens=64, temperature=0.0)])[0]
    assert len({c.text for c in cs}) == 1


def test_other_text_is_context_and_a_broken_trace_is_closed_with_a_guess(suite):
    problems, gen = suite
    [c] = gen.generate([Request(problems[0].prompt + "Some notes.\n", n=1, seed=1, max_tokens=64)])[0]
    assert c.text.startswith(OPENER)  # text before a trace is context: the trace starts after it
    broken = OPENER + " this trace was written by someone else entirely, in longer words"
    [c] = gen.generate([Request(problems[0].prompt + broken, n=1, seed=1, max_tokens=64)])[0]
    assert c.text.startswith(f"\n{THINK_END}") and extract_boxed(c.text) is not None


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="settle_mean"):
        make_suite(2, seed=0, kind="thinking", settle_mean=1.0)
    with pytest.raises(ValueError, match="n_distractors must be <= 31"):
        make_suite(2, seed=0, kind="thinking", n_distractors=40)
