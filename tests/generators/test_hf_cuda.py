"""The transformers engine on a CUDA device (marked `gpu`: deselected by default, skipped without CUDA).

Run on a lent GPU machine by tools/gpu_check.sh. The model is a seeded random-initialised Llama
(tests/generators/gpu_model.py) with the embedded SmolLM2-135M's tokenizer, since weights cannot
travel there. Checked: loading from a folder picks the device and bfloat16 by itself; sampling
accounting and seeded reproducibility on the device; the same draws as the CPU engine on the same
weights; greedy decoding equal to transformers' ``generate`` across a padded batch; the prefix cache
on the device (reuse, equality with a cold engine, its byte cap); bfloat16 logprobs against
full-sequence scoring; hidden states. The generator contract runs on the device too
(tests/generators/test_generator_contract.py, backend ``hf-cuda``).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from gpu_model import cuda_device, embedded_tokenizer, random_llama
from hf_checks import check_greedy_matches_model_generate

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from itslab.generators.hf import HFGenerator  # noqa: E402
from itslab.types import Request  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def device():
    return cuda_device()


@pytest.fixture(scope="module")
def tok():
    return embedded_tokenizer()


@pytest.fixture(scope="module")
def cpu_model(tok):
    return random_llama(tok)


@pytest.fixture(scope="module")
def gen(cpu_model, tok, device):
    return HFGenerator(copy.deepcopy(cpu_model).to(device), tokenizer=tok, cache_bytes=256 << 20)


@pytest.fixture(scope="module")
def prompt(gen):
    return gen.chat_prompt([{"role": "user", "content": "What is 12 + 7? Think step by step."}])


def test_loading_a_folder_picks_the_device_and_bfloat16(tok, device, tmp_path_factory):
    d = tmp_path_factory.mktemp("random-llama")
    random_llama(tok, stop_bias=0.0).save_pretrained(d)  # a plain Llama head: no bias to load
    tok.save_pretrained(d)
    g = HFGenerator(str(d), local_files_only=True, device=None if device.type == "cuda" else "cpu")
    assert g.device.type == device.type
    want = (
        (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
        if device.type == "cuda"
        else torch.float32
    )
    assert g.dtype == want
    (c,) = g.generate([Request("Once upon a time", n=1, max_tokens=8, seed=3)])[0]
    assert 1 <= c.n_tokens <= 8 and all(np.isfinite(c.logprobs))


def test_samples_counts_logprobs_and_seeds_on_the_device(gen, prompt):
    gen.prefix_cache.clear()
    req = Request(prompt, n=4, max_tokens=16, temperature=0.8, seed=11)
    outs = gen.generate([req])[0]
    n_prompt = len(gen.encode(prompt))
    assert gen.device.type in ("cuda", "cpu") and gen.dtype == torch.float32
    assert [c.n_cached_tokens for c in outs] == [0, n_prompt, n_prompt, n_prompt]
    for c in outs:
        assert 1 <= c.n_tokens <= 16 and c.n_tokens == len(c.token_ids) == len(c.logprobs)
        assert all(lp <= 0 for lp in c.logprobs)
        assert abs(c.logprob - gen.logprob_of(prompt, c.token_ids)) < 1e-3
    again = gen.generate([dataclasses.replace(req, n=2)])[0]
    assert [c.token_ids for c in again] == [c.token_ids for c in outs[:2]]
    assert len({c.token_ids for c in outs}) > 1


def test_the_device_draws_what_the_cpu_engine_draws(gen, cpu_model, tok, prompt):
    """Same weights, same seeds: the draws are the device-independent inverse-CDF draws of
    itslab.rng, so the device and the CPU give the same tokens (the logits agree to ~1e-5)."""
    cpu = HFGenerator(cpu_model, tokenizer=tok, cache_bytes=0)
    req = Request(prompt, n=4, max_tokens=24, temperature=0.8, seed=7)
    on_dev, on_cpu = gen.generate([req])[0], cpu.generate([req])[0]
    assert [c.token_ids for c in on_dev] == [c.token_ids for c in on_cpu]
    for a, b in zip(on_dev, on_cpu):
        assert np.allclose(a.logprobs, b.logprobs, atol=1e-3)


def test_greedy_matches_model_generate_across_padded_batch(gen, prompt):
    check_greedy_matches_model_generate(gen, prompt)


def test_prefix_cache_on_the_device_reuses_agrees_and_keeps_its_cap(gen, cpu_model, tok, device, prompt):
    gen.prefix_cache.clear()
    step = dict(n=1, max_tokens=20, stop=("\n\n",), temperature=0.7)
    prefix = prompt
    for k in range(3):
        c = gen.generate([Request(prefix, seed=k, **step)])[0][0]
        if k > 0:  # at least the prompt is served from the cache (a random model's text need not
            # re-tokenize into the tokens it was sampled as, so the cached share of the steps varies)
            assert c.n_cached_tokens >= len(gen.encode(prompt))
        prefix += c.text
    cold = HFGenerator(gen.model, tokenizer=tok, cache_bytes=0)
    a = gen.generate([Request(prefix, seed=5, **step)])[0][0]
    b = cold.generate([Request(prefix, seed=5, **step)])[0][0]
    assert a.n_cached_tokens > 0 and b.n_cached_tokens == 0
    assert a.token_ids == b.token_ids and np.allclose(a.logprobs, b.logprobs, atol=1e-3)
    n_layers, heads, head_dim = gen._dims
    per_token = 2 * n_layers * heads * head_dim * 4
    small = HFGenerator(gen.model, tokenizer=tok, cache_bytes=60 * per_token)
    small.generate([Request(prompt, n=2, max_tokens=8, seed=1)])
    small.generate([Request("Once upon a time", n=1, max_tokens=8, seed=1)])
    st = small.prefix_cache.stats()
    assert st.nbytes <= 60 * per_token and st.evicted_tokens > 0


def test_bfloat16_sampling_scores_like_full_sequence_scoring(cpu_model, tok, device, prompt):
    """bfloat16 keeps ~3 significant digits: incremental decoding and one full-sequence pass
    round differently, so logprobs agree to about 0.05 per token rather than 1e-3."""
    g = HFGenerator(copy.deepcopy(cpu_model).to(device=device, dtype=torch.bfloat16), tokenizer=tok)
    outs = g.generate([Request(prompt, n=4, max_tokens=16, temperature=0.8, seed=2)])[0]
    for c in outs:
        assert all(np.isfinite(c.logprobs)) and all(lp <= 0 for lp in c.logprobs)
        per_token = np.abs(np.array(c.logprobs) - np.array(g.token_logprobs(prompt, c.token_ids)))
        assert per_token.mean() < 0.05


def test_hidden_states_on_the_device(gen):
    h = gen.hidden_states(["a b c", "hello"])
    assert h.shape == (2, gen.model.config.hidden_size) and h.dtype == np.float32 and np.isfinite(h).all()
