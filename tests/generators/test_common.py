"""The pieces every backend shares (itslab/generators/common.py), where the copies they replace disagreed."""

from __future__ import annotations

import pytest

from itslab import Budget
from itslab.generators.common import count_tokens, empty_completions, find_stop, upper_bound_tokens, validate_requests
from itslab.strategies.base import Run
from itslab.types import Problem, Request
from itslab.verifiers import SelfEvaluation


def test_find_stop_cuts_where_the_first_stop_completes():
    assert find_stop("x = 1\n\ny", ("\n\n",)) == (7, "\n\n")
    assert find_stop("no stop here", ("\n",)) is None
    # the llama.cpp copy took the earliest *start* ("abc", cut after c); read a character at a time
    # "b" completes first, so the cut no longer depends on how the tokenizer grouped "abc"
    assert find_stop("xabc", ("abc", "b")) == (3, "b")
    assert find_stop("xab", ("b", "ab")) == (3, "ab")  # ending together: the longer one
    # the transformers copy matched "" everywhere and stopped after one token; empty stops are ignored
    assert find_stop("abc", ("",)) is None and find_stop("abc", ("", "c")) == (3, "c")


def test_find_stop_scans_only_what_is_new_and_works_on_bytes():
    text = "one, two, three"
    assert find_stop(text, (",",), start=5) == (9, ",")  # the comma at 3 ended before the new text
    assert find_stop(text.encode(), (b", t",), start=4) == (6, b", t")  # a match may start in old text
    assert find_stop("añb".encode(), ("ñ".encode(),)) == (3, "ñ".encode())


def test_empty_completions_read_and_generate_nothing():
    # the copies disagreed: transformers and llama.cpp reported the prefix as read (n_prompt_tokens =
    # its length, n_cached_tokens = 0) although nothing was read; HTTP reported token_ids=None
    cs = empty_completions(Request("some prefix", n=3, max_tokens=0, seed=5))
    assert [c.meta["index"] for c in cs] == [0, 1, 2]
    for c in cs:
        assert (c.text, c.n_tokens, c.n_prompt_tokens, c.n_cached_tokens) == ("", 0, 0, 0)
        assert (c.token_ids, c.logprobs, c.finish_reason, c.seed) == ((), (), "length", 5)
    assert empty_completions(Request("x", n=0, max_tokens=0)) == []


def test_validate_requests_names_the_first_bad_one():
    validate_requests([Request("a", seed=0, top_k=0)])
    with pytest.raises(TypeError, match=r"requests\[0\] must be an itslab Request, got dict"):
        validate_requests([{"prefix": "a"}])
    with pytest.raises(ValueError, match=r"requests\[2\]\.seed must be >= 0, got -3"):
        validate_requests([Request("a"), Request("b"), Request("c", seed=-3)])


def test_count_tokens_uses_the_generator_else_utf8_bytes():
    class Counts:
        def count_tokens(self, text):
            return 2

    assert count_tokens(Counts(), "anything") == 2
    assert count_tokens(object(), "héllo") == upper_bound_tokens("héllo") == 6


def test_judges_and_strategies_share_the_fallback():
    # the judges' copy fell back to a tokenizer and then to ~4 characters per token, strategies to
    # bytes: one generator gave two counts; now a generator without count_tokens costs its bytes
    p = Problem(id="t/1", prompt="What is 2 + 2?", answer="4")

    class LogprobsOnly:
        n_params = 10.0

        def logprob_of(self, prefix, continuation):
            return -1.0

    judge = SelfEvaluation(LogprobsOnly())
    want = upper_bound_tokens(judge.prefix(p, "4")) + upper_bound_tokens(judge.yes) + upper_bound_tokens(judge.no)
    assert judge.cost(p, ["4"]).verifier_tokens == want
    run = Run("x", p, LogprobsOnly(), None, Budget(samples=1))
    assert run.worst_case(["héllo"], [1], 0).prompt_tokens == 6
