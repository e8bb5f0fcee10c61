"""`StepScore`, SpecReason's scorer (Pan et al. 2025, arXiv:2504.07891): the expected 0-9 digit
under the model's renormalised digit probabilities, over 9; the one-read path agrees with ten
`logprob_of` calls; the cost counts the rating prompt and the digits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from itslab.types import Problem
from itslab.verifiers import StepScore
from itslab.verifiers.step_score import DIGITS, REPLY

P = Problem(id="x", prompt="What is 2 + 2?", answer="4")
WEIGHTS = np.array([0, 0, 0, 0, 1, 0, 0, 0, 2, 1], float)  # P(4) : P(8) : P(9) = 1 : 2 : 1


class Digits:
    """A model whose rating digits have fixed probabilities (a constant common head factor)."""

    model_id, n_params = "digits", 1e6

    def logprob_of(self, prefix, continuation):
        d = int(continuation.strip())
        return math.log(WEIGHTS[d]) - 0.7 if WEIGHTS[d] else -60.0

    def count_tokens(self, text):
        return len(text.split())


class OneRead(Digits):
    """The same model with a vocabulary of tokens: " " is 100, digit d is d."""

    def encode_plain(self, text):
        return [100, int(text.strip())]

    def next_token_logprobs(self, prefix, then=()):
        assert list(then) == [100]
        lp = np.full(101, -60.0)
        lp[:10] = [math.log(w) if w else -60.0 for w in WEIGHTS]
        return lp


@pytest.mark.parametrize("model", [Digits(), OneRead()])
def test_score_is_the_expected_digit_over_nine(model):
    (s,) = StepScore(model).score(P, ["2 + 2 = 4\n\n"])[0]
    assert s == pytest.approx((4 * 1 + 8 * 2 + 9 * 1) / 4 / 9)


def test_prompt_puts_the_solution_in_the_assistant_turn():
    class Chat(Digits):
        def chat_prompt(self, messages, add_generation_prompt=True):
            return "|".join(f"{m['role']}:{m['content']}" for m in messages) + "|assistant:"

    v = StepScore(Chat())
    text = v.prefix(P, "2 + 2 = 4")
    assert text.startswith("user:What is 2 + 2?|assistant:2 + 2 = 4|user:Rate") and text.endswith(REPLY)
    assert StepScore(Digits()).prefix(P, "2 + 2 = 4").startswith(P.prompt + "2 + 2 = 4")


def test_cost_counts_the_prompt_and_each_digit():
    v = StepScore(Digits())
    u = v.cost(P, ["a b", "c"])
    per = len(DIGITS) + sum(len(d.split()) for d in DIGITS)
    want = sum(len(v.prefix(P, t).split()) + per for t in ["a b", "c"])
    assert u.verifier_calls == 2 and u.verifier_tokens == want and u.verifier_flops == 2 * 1e6 * want


def test_a_model_without_log_probabilities_is_refused():
    class Mute:
        model_id, n_params = "mute", 0.0

    with pytest.raises(TypeError, match="logprob_of"):
        StepScore(Mute()).score(P, ["x"])


def test_one_read_agrees_with_ten_calls_on_llamacpp():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator("smollm2-135m", n_threads=1, n_ctx=2048, max_batch=2)
    v = StepScore(gen)
    assert v._shared_head() is not None  # SmolLM2: " 7" is a space token then a digit token
    prefix = v.prefix(P, "2 + 2 = 4, so the answer is 4.\n\n")
    one = gen.next_token_logprobs(prefix)
    t = gen.encode_plain(" 7")[0]
    assert abs(one[t] - gen.token_logprobs(prefix, [t])[0]) < 0.2  # one read vs a read with the token fed
    assert np.isclose(np.exp(one).sum(), 1.0)
    (fast,) = v.score(P, ["2 + 2 = 4, so the answer is 4.\n\n"])[0]
    slow = np.array([gen.logprob_of(prefix, d) for d in DIGITS])
    w = np.exp(slow - slow.max())
    assert fast == pytest.approx(float((np.arange(10) * w).sum() / w.sum() / 9), abs=0.03)
    gen.close()
