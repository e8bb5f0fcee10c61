"""The transformers engine: sampling, logprobs and automatic prefix caching (what every backend must
do — seeds, stop strings, bad requests — is checked in tests/generators/test_generator_contract.py).

Model tests run the embedded SmolLM2-135M on CPU (installed into the model cache on first use);
the sampler and radix-cache tests use synthetic tensors.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the transformers engine is the optional `hf` extra
pytest.importorskip("transformers")

from hf_checks import check_greedy_matches_model_generate  # noqa: E402

from itslab.generators.hf.cache import RadixKVCache  # noqa: E402
from itslab.generators.hf.sampling import RowParams, sample_next  # noqa: E402
from itslab.rng import sample_uniforms  # noqa: E402
from itslab.types import Request  # noqa: E402

# ---------------------------------------------------------------- sampler and cache (no model)


def _params(n, t=1.0, p=1.0, k=0, steps=1, seed=0):
    return RowParams.build(
        [t] * n, [p] * n, [k] * n, [sample_uniforms(seed, j, steps) for j in range(n)], torch.device("cpu")
    )


def test_inverse_cdf_sampler_matches_softmax():
    # 20k rows drawn from one logit vector: frequencies within 4 binomial sd of softmax(z / T)
    z = torch.tensor([2.0, 1.0, 0.0, -1.0, -3.0])
    n = 20_000
    tok, lp = sample_next(z.expand(n, -1), _params(n, t=0.7), torch.zeros(n, dtype=torch.long))
    want = torch.softmax(z / 0.7, -1).numpy()
    got = np.bincount(tok.numpy(), minlength=5) / n
    assert np.all(np.abs(got - want) <= 4 * np.sqrt(want * (1 - want) / n) + 1e-9)
    # reported logprobs are the raw (T = 1) log-softmax of the chosen token
    assert torch.allclose(lp, torch.log_softmax(z, -1)[tok])


def test_top_k_and_top_p_restrict_support():
    z = torch.tensor([3.0, 2.9, 1.0, 0.5, 0.0])
    n = 2000
    tok, _ = sample_next(z.expand(n, -1), _params(n, k=2), torch.zeros(n, dtype=torch.long))
    assert set(tok.tolist()) == {0, 1}
    # softmax mass of token 0 is ~0.44 < 0.5, so top-p 0.5 keeps tokens 0 and 1 only
    tok, _ = sample_next(z.expand(n, -1), _params(n, p=0.5), torch.zeros(n, dtype=torch.long))
    assert set(tok.tolist()) == {0, 1}
    tok, _ = sample_next(z.expand(n, -1), _params(n, t=0.0), torch.zeros(n, dtype=torch.long))
    assert set(tok.tolist()) == {0}


def _kv(n, fill):
    return torch.full((2, 1, 1, n, 2), float(fill))


def test_radix_cache_longest_prefix_and_sharing():
    c = RadixKVCache(max_bytes=1 << 20)
    c.insert([1, 2, 3, 4], lambda a, b: _kv(4, 1)[..., a:b, :])
    c.insert([1, 2, 5], lambda a, b: _kv(3, 2)[..., a:b, :])  # shares [1, 2]: only [5] is new
    assert c.n_tokens == 5
    m, pieces = c.match([1, 2, 3, 9])
    assert m == 3 and sum(p.shape[3] for p in pieces) == 3
    assert torch.cat(pieces, 3).flatten().unique().tolist() == [1.0]
    m, pieces = c.match([1, 2, 5, 6])
    assert m == 3 and torch.cat(pieces, 3)[0, 0, 0, :, 0].tolist() == [1.0, 1.0, 2.0]
    assert c.match([1, 2, 3, 4], limit=2)[0] == 2
    assert c.match([7])[0] == 0


def test_radix_cache_lru_eviction_under_byte_cap():
    per_token = _kv(1, 0).numel() * 4
    c = RadixKVCache(max_bytes=6 * per_token)
    c.insert([1, 2, 3], lambda a, b: _kv(3, 1)[..., a:b, :])
    c.insert([4, 5, 6], lambda a, b: _kv(3, 2)[..., a:b, :])
    c.match([1, 2, 3])  # [1,2,3] is now more recent than [4,5,6]
    c.insert([7, 8, 9], lambda a, b: _kv(3, 3)[..., a:b, :])
    assert c.nbytes <= 6 * per_token
    assert c.match([4, 5, 6])[0] == 0 and c.match([1, 2, 3])[0] == 3 and c.match([7, 8, 9])[0] == 3
    assert c.stats().evicted_tokens == 3
    RadixKVCache(0).insert([1], lambda a, b: _kv(1, 0))  # a zero cap stores nothing, silently


# ---------------------------------------------------------------- the real engine (SmolLM2-135M)


@pytest.fixture(scope="module")
def gen():
    from itslab import models

    # one thread: on a shared 2-core machine, spinning OpenMP threads make torch several times
    # slower than a single thread; restored after the module
    threads = torch.get_num_threads()
    yield models.load("smollm2-135m", device="cpu", cache_bytes=256 << 20, num_threads=1)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def prompt(gen):
    return gen.chat_prompt([{"role": "user", "content": "What is 12 + 7? Think step by step."}])


def test_four_samples_counts_logprobs_and_seeds(gen, prompt):
    gen.prefix_cache.clear()
    req = Request(prompt, n=4, max_tokens=16, temperature=0.8, seed=11)
    outs = gen.generate([req])[0]
    n_prompt = len(gen.encode(prompt))
    assert gen.model_id == "smollm2-135m" and gen.n_params > 1e8
    assert [c.n_cached_tokens for c in outs] == [0, n_prompt, n_prompt, n_prompt]
    for c in outs:
        assert 1 <= c.n_tokens <= 16 and c.n_tokens == len(c.token_ids) == len(c.logprobs)
        assert c.n_prompt_tokens == n_prompt and c.seed == 11
        assert c.finish_reason == ("length" if c.n_tokens == 16 else "stop")
        assert all(lp <= 0 for lp in c.logprobs)
        # the sampled tokens' logprobs equal an independent full-sequence scoring (tol 1e-3)
        assert abs(c.logprob - gen.logprob_of(prompt, c.token_ids)) < 1e-3
    # same seed, same samples; the first 2 of n=2 are the first 2 of n=4
    # (this second call reads the prompt from the prefix cache: cached and uncached runs agree)
    again = gen.generate([dataclasses.replace(req, n=2)])[0]
    assert [c.token_ids for c in again] == [c.token_ids for c in outs[:2]]
    assert again[0].n_cached_tokens == n_prompt - 1  # whole prompt cached but its last token


@pytest.mark.slow  # ~5 s: runs HF generate as well
def test_greedy_matches_model_generate_across_padded_batch(gen, prompt):
    check_greedy_matches_model_generate(gen, prompt)


@pytest.mark.slow  # ~10 s of batch-1 decoding
def test_stop_strings_steps_and_prefix_cache_reuse(gen, prompt):
    gen.prefix_cache.clear()
    step = dict(n=1, max_tokens=20, stop=("\n\n",), temperature=0.7)
    prefix = prompt
    for k in range(2):
        c = gen.generate([Request(prefix, seed=k, **step)])[0][0]
        if c.finish_reason == "stop" and c.meta["stop"] == "\n\n":
            assert c.text.endswith("\n\n") and c.text.count("\n\n") == 1
        if k > 0:  # everything read before (prompt + earlier steps) is served from the cache
            assert c.n_cached_tokens >= c.n_prompt_tokens - 3
        prefix += c.text
    # outputs identical with the cache disabled (same model, fresh engine)
    from itslab.generators.hf import HFGenerator

    cold = HFGenerator(gen.model, tokenizer=gen.tokenizer, cache_bytes=0)
    a = gen.generate([Request(prefix, seed=5, **step)])[0][0]
    b = cold.generate([Request(prefix, seed=5, **step)])[0][0]
    assert a.n_cached_tokens > 0 and b.n_cached_tokens == 0
    assert a.token_ids == b.token_ids
    assert np.allclose(a.logprobs, b.logprobs, atol=1e-3)


def test_tiny_cache_cap_evicts_lru_and_stays_under_cap(gen, prompt):
    n_layers, heads, head_dim = gen._dims
    per_token = 2 * n_layers * heads * head_dim * 4
    from itslab.generators.hf import HFGenerator

    small = HFGenerator(gen.model, tokenizer=gen.tokenizer, cache_bytes=60 * per_token)
    small.generate([Request(prompt, n=2, max_tokens=8, seed=1)])
    small.generate([Request("Once upon a time", n=1, max_tokens=8, seed=1)])
    st = small.prefix_cache.stats()
    assert st.nbytes <= 60 * per_token and st.evicted_tokens > 0


def test_forced_continuation_and_hidden_states(gen, prompt):
    base = Request(prompt + "12 + 7 = 19.", n=1, max_tokens=4, seed=0)
    gen.generate([base])
    cont = gen.continue_with(base, " Wait", strip=("19.",))
    assert cont[0].meta["forced"] == " Wait"
    assert cont[0].n_cached_tokens >= len(gen.encode(prompt)) - 1
    h = gen.hidden_states(["a b c", "hello"])
    assert h.shape == (2, gen.model.config.hidden_size) and np.isfinite(h).all()


@pytest.mark.slow  # ~30 s: de-quantises the GGUF in memory
def test_gguf_file_loads_directly_and_agrees_with_converted_model(gen, prompt):
    from itslab import models
    from itslab.generators.hf import HFGenerator

    path = models.gguf_path("smollm2-135m")
    raw = HFGenerator(path.parent, gguf_file=path.name, device="cpu", local_files_only=True)
    assert raw.model_id.endswith(path.name)
    req = Request(prompt, n=1, max_tokens=8, temperature=0.0)
    # the converted copy stores bfloat16 weights, so logprobs agree to ~1e-1, greedy tokens exactly
    a, b = raw.generate([req])[0][0], gen.generate([req])[0][0]
    assert a.token_ids == b.token_ids
    assert np.allclose(a.logprobs, b.logprobs, atol=0.2)
