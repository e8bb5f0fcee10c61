"""Checks shared by the transformers engine's CPU tests (test_hf_engine.py) and CUDA tests (test_hf_cuda.py)."""

from __future__ import annotations

from typing import Any

from itslab.types import Request


def check_greedy_matches_model_generate(gen: Any, prompt: str, tokens: int = 8) -> None:
    """Greedy decoding of a long and a short prefix in one left-padded batch equals transformers'
    ``generate`` on each prefix alone, token for token, on the engine's device."""
    import torch

    short = "The capital of France is"
    reqs = [Request(p, n=1, max_tokens=tokens, temperature=0.0) for p in (prompt, short)]
    outs = gen.generate(reqs, ignore_eos=True)
    for r, cs in zip(reqs, outs):
        x = torch.tensor([gen.encode(r.prefix)], device=gen.device)
        ref = gen.model.generate(
            x,
            attention_mask=torch.ones_like(x),
            do_sample=False,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            pad_token_id=gen.tokenizer.eos_token_id,
        )
        assert list(cs[0].token_ids) == ref[0, x.shape[1] :].tolist()
