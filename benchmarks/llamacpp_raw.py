"""Baselines for benchmarks/bench_backends.py, written plainly against llama-cpp-python's C API.

`raw_decode`: what the engine itself does for n samples of one prompt — the prompt decoded once
into all n sequences (a token may belong to several sequences), then one token per sequence per
``llama_decode``, each sequence sampled by llama.cpp's own sampler chain (temperature, then a
seeded draw from the softmax), end-of-sequence ignored so every sample has exactly `tokens` tokens.
No prefix cache, no Python-side sampling: the figure `LlamaCppGenerator` is held against.

`read_bandwidth`: the machine's memory read bandwidth, from summing a large array in `threads`
threads (numpy releases the GIL in reductions), best of several passes.

`weight_bytes_per_token`: the bytes of weights a batch-1 decode step reads — every tensor, except
the token embedding when the model has a separate output matrix (then one row is looked up).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np


def raw_decode(
    path: Path,
    prompt: Sequence[int],
    n_seq: int,
    tokens: int,
    threads: int,
    temperature: float = 0.8,
    seed: int = 0,
    unified: bool = True,
) -> tuple[int, float]:
    """(generated tokens, seconds) of `n_seq` samples x `tokens` tokens of `prompt`, prompt read included.

    ``unified=False``: a KV stream per sequence (llama.cpp's ``kv_unified=False``), the prompt read
    into sequence 0 and copied whole into the others; each row then attends over its own cells only.
    """
    import llama_cpp as L

    L.llama_backend_init()
    model = L.llama_model_load_from_file(str(path).encode(), L.llama_model_default_params())
    cp = L.llama_context_default_params()
    n_batch = max(len(prompt), n_seq)
    per_seq = len(prompt) + tokens + 256
    cp.n_ctx = len(prompt) + n_seq * tokens + 256 if unified else n_seq * per_seq
    cp.n_batch, cp.n_ubatch = n_batch, n_batch
    cp.n_seq_max, cp.kv_unified, cp.no_perf = n_seq, unified, True
    cp.n_threads = cp.n_threads_batch = threads
    ctx = L.llama_init_from_model(model, cp)
    batch = L.llama_batch_init(n_batch, 0, n_seq)
    samplers = []
    for s in range(n_seq):
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(temperature))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed + s))
        samplers.append(chain)
    t0 = time.perf_counter()
    shared = n_seq if unified else 1  # separate streams: read into sequence 0, then copied
    for i, tok in enumerate(prompt):  # the prompt once, in every sequence
        batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = tok, i, shared, i == len(prompt) - 1
        for s in range(shared):
            batch.seq_id[i][s] = s
    batch.n_tokens = len(prompt)
    if L.llama_decode(ctx, batch) != 0:
        raise RuntimeError("raw_decode: llama_decode failed on the prompt")
    for s in range(1, n_seq if not unified else 1):
        L.llama_memory_seq_cp(L.llama_get_memory(ctx), 0, s, -1, -1)
    rows = [len(prompt) - 1] * n_seq  # batch index of each sequence's logits
    for t in range(tokens):
        picked = [L.llama_sampler_sample(samplers[s], ctx, rows[s]) for s in range(n_seq)]
        if t == tokens - 1:
            break
        for s, tok in enumerate(picked):
            batch.token[s], batch.pos[s], batch.n_seq_id[s], batch.logits[s] = tok, len(prompt) + t, 1, True
            batch.seq_id[s][0] = s
        batch.n_tokens = n_seq
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError(f"raw_decode: llama_decode failed at step {t}")
        rows = list(range(n_seq))
    seconds = time.perf_counter() - t0
    for chain in samplers:
        L.llama_sampler_free(chain)
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)
    return n_seq * tokens, seconds


def read_bandwidth(threads: int, mib: int = 1024, passes: int = 5) -> float:
    """Bytes per second read by `threads` threads summing disjoint parts of a `mib`-MiB array."""
    a = np.ones(mib * 2**20 // 8)
    parts = np.array_split(a, threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as ex:
        for _ in range(passes):
            t0 = time.perf_counter()
            list(ex.map(np.sum, parts))
            best = min(best, time.perf_counter() - t0)
    return a.nbytes / best


def weight_bytes_per_token(path: Path) -> int:
    """Bytes of weights one batch-1 decode step reads (tensor sizes from the GGUF header)."""
    from gguf import GGUFReader

    sizes = {t.name: int(t.n_bytes) for t in GGUFReader(str(path)).tensors}
    # tied embeddings (no output.weight): the embedding matrix is the output layer, read in full
    return sum(sizes.values()) - (sizes["token_embd.weight"] if "output.weight" in sizes else 0)
