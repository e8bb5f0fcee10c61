"""`ModelPair`: the target behind the Generator protocol, the drafter beside it with its own prompt."""

from __future__ import annotations

import pytest

from itslab.generators.pair import ModelPair
from itslab.protocols import Generator, prompt_for
from itslab.types import Problem, Request


class Chat:
    """A generator with its own chat template and token count."""

    def __init__(self, name: str, n_params: float) -> None:
        self.model_id, self.n_params = name, n_params

    def chat_prompt(self, messages, add_generation_prompt=True):
        return f"<{self.model_id}>" + "".join(m["content"] for m in messages) + "</>"

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, requests):
        from itslab.types import Completion

        return [[Completion(self.model_id, n_tokens=1, seed=r.seed) for _ in range(r.n)] for r in requests]

    def logprob_of(self, prefix, continuation):
        return -1.0 if self.model_id == "big" else -2.0


def test_the_pair_is_its_target_and_carries_its_drafter():
    small, big = Chat("small", 1e8), Chat("big", 1e9)
    pair = ModelPair(small, big)
    p = Problem(id="x", prompt="2 + 2?", answer="4")
    assert isinstance(pair, Generator) and pair.n_params == 1e9 and pair.model_id == "small+big"
    assert prompt_for(p, pair) == "<big>2 + 2?</>" and pair.drafter_prompt(p) == "<small>2 + 2?</>"
    assert pair.generate([Request("q", n=2, seed=0)])[0][0].text == "big"
    assert pair.count_tokens("a b c") == 3 and pair.logprob_of("q", "a") == -1.0
    assert "small" in repr(pair) and pair.drafter is small and pair.target is big


def test_a_pair_needs_two_generators():
    with pytest.raises(TypeError, match="drafter must be a Generator"):
        ModelPair(object(), Chat("big", 1e9))
