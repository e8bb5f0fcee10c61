"""Truncate and answer (itslab.generators.truncation): token-exact cuts in each generator's tokens, the paper's
cut rule, the answer prompt, and forced answers on the anytime simulator."""

from __future__ import annotations

import pytest

from itslab.generators.simulated import make_suite
from itslab.generators.simulated.anytime import read_trace
from itslab.generators.simulated.text import count_tokens
from itslab.generators.truncation import (
    ANSWER_PROMPTS,
    answer_prompt_for,
    cuts,
    depth_cuts,
    split_thinking,
    text_tokens,
    token_cut,
    truncate_and_answer,
)
from itslab.types import Problem, Request


@pytest.fixture(scope="module")
def anytime():
    return make_suite(4, seed=0, kind="anytime", n_segments=8, mean_think_tokens=160.0, mean_answer_tokens=5.0)


def test_depth_cuts_is_the_papers_floor_rule():
    assert depth_cuts(10, 4) == [2, 5, 7, 10]
    assert depth_cuts(7, 1) == [7]
    with pytest.raises(ValueError, match="H >= 1"):
        depth_cuts(10, 0)


def test_token_cut_counts_in_the_generators_tokens(anytime):
    _, gen = anytime
    text = " note that then each term adds more"
    assert text_tokens(gen, text) == count_tokens(text) == 7
    assert token_cut(gen, text, 3) == " note that then"
    assert token_cut(gen, text, 100) == text
    with pytest.raises(ValueError, match="n_tokens must be >= 0"):
        token_cut(gen, text, -1)


def test_without_a_tokenizer_the_cut_is_in_utf8_bytes():
    class Plain:  # a generator with no tokenizer: bytes, the count_tokens fallback
        pass

    assert text_tokens(Plain(), "héllo") == 6
    assert token_cut(Plain(), "héllo", 2) == "h"  # a split character is dropped, never garbled


def test_answer_prompt_follows_the_trace_and_the_task():
    hashed = Problem(id="g/1", prompt="q", answer="3", meta={"answer_format": "hash"})
    boxed = Problem(id="m/1", prompt="q", answer="3")
    assert answer_prompt_for(hashed, "a </think> b") == ANSWER_PROMPTS["think"]
    assert answer_prompt_for(hashed, "plain chain") == ANSWER_PROMPTS["hash"]
    assert answer_prompt_for(boxed, "plain chain") == ANSWER_PROMPTS["boxed"]
    assert split_thinking("abc</think>xyz") == ("abc", "</think>xyz")
    assert split_thinking("abc") == ("abc", "")


def test_cuts_at_j_over_H_keep_j_K_over_H_segments(anytime):
    problems, gen = anytime
    pr = problems[0]
    [trace] = gen.generate([Request(pr.prompt, n=1, max_tokens=10**4, seed=3)])[0]
    cl = cuts(gen, pr, pr.prompt, trace.text, 4)
    assert [c.depth for c in cl] == [0.25, 0.5, 0.75, 1.0]
    for j, c in enumerate(cl, 1):
        assert c.prefix.startswith(pr.prompt) and c.prefix.endswith(ANSWER_PROMPTS["think"])
        kept = c.prefix[len(pr.prompt) : -len(c.answer_prompt)]
        assert count_tokens(kept) == c.n_tokens
        assert read_trace(kept)[0] == 2 * j  # 8 segments, 4 cuts: two segments per cut


def test_truncate_and_answer_answers_every_cut(anytime):
    problems, gen = anytime
    pr = problems[1]
    [trace] = gen.generate([Request(pr.prompt, n=1, max_tokens=10**4, seed=5)])[0]
    got = truncate_and_answer(gen, pr, pr.prompt, trace.text, 4, m=3, max_tokens=50, seed=1)
    assert len(got) == 4 and all(len(outs) == 3 for _, outs in got)
    # after the whole thinking the trace has committed: the forced answer is its own (slip = 0)
    assert {c.meta["answer"] for c in got[-1][1]} == {trace.meta["answer"]}
    assert all(c.meta["forced"] and c.n_prompt_tokens == count_tokens(cut.prefix) for cut, outs in got for c in outs)
