"""A seeded, random-initialised Llama with the embedded SmolLM2-135M's tokenizer, for the `gpu`-marked tests.

Weights cannot travel to a lent GPU machine (its working tree is capped at 64 MiB), so the CUDA
tests build their model from a config. The tokenizer is read from ``ITSLAB_TOKENIZER_DIR`` (a folder
holding tokenizer.json, which tools/gpu_check.sh copies beside the checkout) or from the installed
embedded model; the tests skip when neither exists or when no CUDA device is present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def cuda_device() -> Any:
    """The first CUDA device, or a skip. ``ITSLAB_GPU_TESTS_ON_CPU=1`` runs the tests' code on the CPU
    instead (a dry run of the test logic on a machine without a GPU; it checks nothing about CUDA)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if os.environ.get("ITSLAB_GPU_TESTS_ON_CPU") == "1":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device("cuda")


def tokenizer_dir() -> Path:
    """Where the embedded model's tokenizer lies (ITSLAB_TOKENIZER_DIR, else the installed model), or a skip."""
    env = os.environ.get("ITSLAB_TOKENIZER_DIR")
    if env:
        return Path(env)
    from itslab import models

    d = models.model_dir("smollm2-135m") / "hf-bf16"
    if not (d / "tokenizer.json").is_file():
        pytest.skip("no tokenizer: set ITSLAB_TOKENIZER_DIR or run `itslab models install smollm2-135m`")
    return d


def embedded_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir(), local_files_only=True)


def random_llama(
    tokenizer: Any,
    *,
    layers: int = 4,
    hidden: int = 256,
    seed: int = 0,
    logit_scale: float = 20.0,
    stop_bias: float = 10.0,
) -> Any:
    """A float32 Llama over the tokenizer's vocabulary, weights drawn with torch seed `seed`, on CPU.

    The output layer is scaled by `logit_scale`: at the default init the next-token distribution is
    nearly uniform over 49k tokens, where float rounding that differs between kernels (CPU vs GPU,
    batch of 1 vs 3) moves inverse-CDF draws often enough to make equality checks flaky; scaled, the
    model is as confident as a trained one and a draw moves only when the logits really differ.
    `stop_bias` is added to the logits of every token whose text holds '.' or a newline (0.5 % of
    the vocabulary), so that short samples end at such stop strings as often as real text does.
    """
    import torch
    import transformers

    cfg = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)  # test-only: the random init
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(logit_scale)
        if stop_bias:
            head = torch.nn.Linear(hidden, len(tokenizer), bias=True)
            head.weight.copy_(model.lm_head.weight)
            texts = [tokenizer.decode([i]) for i in range(len(tokenizer))]
            head.bias.copy_(torch.tensor([stop_bias if ("." in t or "\n" in t) else 0.0 for t in texts]))
            model.lm_head = head
    return model
