"""One prompt route: a strategy and a pool send the same prefix for the same problem, on every generator class.

Before `itslab.protocols.prompt_for`, strategies used ``format_prompt`` (else the plain prompt) and
pools used ``chat_prompt`` on the chat messages: `VLLMGenerator`, which had only the second, got
the raw prompt from strategies and the chat-templated one from pools.
"""

from __future__ import annotations

import pytest

from itslab import Budget, strategies
from itslab.pools import draw_pool
from itslab.rng import problem_rng
from itslab.types import Completion, Problem


class _Tok:
    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + (
            "<assistant>" if add_generation_prompt else ""
        )

    def encode(self, text):
        return list(text.encode())


class _Engine:
    """Stands in for the model behind a backend: a chat template and a tokenizer, nothing else."""

    def chat_prompt(self, messages, add_generation_prompt=True):
        return _Tok().apply_chat_template(messages, add_generation_prompt=add_generation_prompt)

    def get_tokenizer(self):
        return _Tok()


def _bare(cls, **attrs):
    obj = object.__new__(cls)
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def _hf():
    from itslab.generators.hf import HFGenerator

    return _bare(HFGenerator, codec=_Engine(), model_id="hf", n_params=1.0)


def _llamacpp():
    from itslab.generators.llamacpp import LlamaCppGenerator

    return _bare(LlamaCppGenerator, llm=_Engine(), model_id="llamacpp", n_params=1.0)


def _vllm():
    from itslab.generators.vllm import VLLMGenerator

    return _bare(VLLMGenerator, llm=_Engine(), model_id="vllm", n_params=1.0)


def _http():
    from itslab.generators.http import OpenAIGenerator

    return _bare(OpenAIGenerator, model_id="http", n_params=1.0)


def _simulated():
    from itslab.generators.simulated import make_suite

    return make_suite(1, seed=0)[1]


def _replay():
    from itslab.generators.replay import ReplayGenerator
    from itslab.generators.store import SampleStore

    return ReplayGenerator(SampleStore(":memory:"), "replay")


def _bank():
    import pandas as pd

    from itslab import banks

    df = pd.DataFrame(
        [
            {c: None for c in banks.COLUMNS}
            | {
                "problem_id": "p",
                "problem_index": 0,
                "sample_index": 0,
                "text": "#### 7",
                "generated_tokens": 1,
                "prompt_tokens": 1,
                "finish_reason": "stop",
                "logprob_mean": 0.0,
                "self_eval": 0.5,
                "correct": True,
            }
        ]
    )
    b = banks.Bank(
        name="b",
        frame=df,
        manifest={},
        problem_ids=("p",),
        correct=df[["correct"]].to_numpy(),
        answers=df[["answer"]].to_numpy(),
        tokens=df[["generated_tokens"]].to_numpy(),
        logprob_mean=df[["logprob_mean"]].to_numpy(float),
        self_eval=df[["self_eval"]].to_numpy(float),
    )
    return banks.BankReplay(b)


GENERATORS = {
    "hf": _hf,
    "llamacpp": _llamacpp,
    "vllm": _vllm,
    "http": _http,
    "simulated": _simulated,
    "replay": _replay,
    "bank": _bank,
}


@pytest.mark.parametrize("make", list(GENERATORS.values()), ids=list(GENERATORS))
def test_strategy_and_pool_send_the_same_prefix(make, monkeypatch):
    gen = make()
    problem = Problem(
        "p", "Question: what is 3 + 4?\nAnswer:", "7", messages=({"role": "user", "content": "What is 3 + 4?"},)
    )
    if hasattr(gen, "sample_table"):  # a simulator knows only its own problems, and pools skip generate
        problem = gen.problems[0]
        monkeypatch.setattr(gen, "sample_table", None)
    seen: list[str] = []

    def generate(requests, **kw):
        seen.extend(r.prefix for r in requests)
        return [[Completion("#### 7", n_tokens=1, logprobs=(-0.1,)) for _ in range(r.n)] for r in requests]

    monkeypatch.setattr(gen, "generate", generate, raising=False)
    monkeypatch.setattr(gen, "count_tokens", lambda text: len(text), raising=False)
    strategies.get("majority_vote")(problem, gen, None, Budget(samples=1), problem_rng(0, "p"), n=1, max_tokens=8)
    draw_pool(gen, [problem], 1, seed=0, max_tokens=8)
    assert len(seen) == 2 and seen[0] == seen[1], f"strategy prefix {seen[0]!r} != pool prefix {seen[1]!r}"
