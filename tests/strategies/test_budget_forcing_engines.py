"""Budget forcing on the real engines (llama.cpp and transformers, embedded SmolLM2-135M): the
mechanics, and that every prefix the strategy sends, inserted "Wait"s and re-read text included, is
what the ledger charges (uncached as prompt tokens, the rest as cached tokens)."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.protocols import GeneratorWrapper
from itslab.types import Problem

PROBLEM = Problem(id="q", prompt="What is 12 + 7? Think step by step.", answer="19")


class _Log(GeneratorWrapper):
    """Records every request it passes on."""

    def __init__(self, generator) -> None:
        super().__init__(generator)
        self.requests: list = []

    def generate(self, requests):
        self.requests += list(requests)
        return self.inner.generate(requests)


@pytest.fixture(scope="module")
def llamacpp():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator("smollm2-135m", n_ctx=4096, max_batch=8)
    yield gen
    gen.close()


@pytest.fixture(scope="module")
def hf():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from itslab import models

    return models.load("smollm2-135m", device="cpu", cache_bytes=64 << 20, num_threads=1)


@pytest.mark.parametrize("engine", ["llamacpp", "hf"])
def test_budget_forcing_on_an_engine_charges_every_prefix(engine, request):
    log = _Log(request.getfixturevalue(engine))
    r = strategies.get("budget_forcing")(
        PROBLEM,
        log,
        None,
        Budget(samples=40),
        np.random.default_rng(0),
        n=2,
        n_waits=1,
        probe_answers=True,
        think_end="\n",  # a delimiter this model writes often: every trace is made to go on once
        wait=" Wait,",
        max_thinking_tokens=48,
        max_answer_tokens=6,
        temperature=0.7,
    )
    for c in r.candidates:
        assert c.meta["thinking_tokens"] <= 48 and c.meta["n_waits"] <= 1
        assert c.text.count(" Wait,") == c.meta["n_waits"]
    assert any(" Wait," in q.prefix for q in log.requests)  # the inserted string was read by the model
    read = sum(q.n * log.count_tokens(q.prefix) for q in log.requests)
    assert r.usage.prompt_tokens + r.usage.cached_tokens == read
    assert r.usage.samples == sum(q.n for q in log.requests)
    assert r.answer is None or isinstance(r.answer, str)
