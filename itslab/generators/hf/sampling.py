"""Batched, per-row seeded token sampling for the transformers engine, in torch.

Token t of row j is an inverse-CDF draw with the t-th of ``itslab.rng.sample_uniforms(seed, j)``
after temperature, top-k and top-p (Hugging Face's warper order); logprobs are of the raw logits
(architecture.md, "Backends"). `sample_next` is the batched torch twin of `itslab.rng.inverse_cdf`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from itslab.rng import sample_uniforms

# sample_uniforms now lives in itslab.rng; it stays importable from here for one release
__all__ = ["RowParams", "sample_next", "sample_uniforms"]


@dataclass(frozen=True)
class RowParams:
    """Per-row sampling parameters as tensors of shape [B] (temperature 0 means greedy)."""

    temperature: torch.Tensor
    top_p: torch.Tensor
    top_k: torch.Tensor  # 0 = no top-k
    uniforms: torch.Tensor  # [B, n_steps], float64

    @staticmethod
    def build(
        temperature: Sequence[float],
        top_p: Sequence[float],
        top_k: Sequence[int],
        uniforms: Sequence[np.ndarray],
        device: torch.device,
    ) -> "RowParams":
        """Stack per-row settings; uniform streams are right-padded to a common length."""
        width = max((len(u) for u in uniforms), default=0)
        u = np.zeros((len(uniforms), max(width, 1)))
        for i, row in enumerate(uniforms):
            u[i, : len(row)] = row
        return RowParams(
            temperature=torch.tensor(temperature, dtype=torch.float32, device=device),
            top_p=torch.tensor(top_p, dtype=torch.float32, device=device),
            top_k=torch.tensor(top_k, dtype=torch.long, device=device),
            uniforms=torch.from_numpy(u).to(device),
        )

    def select(self, idx: torch.Tensor) -> "RowParams":
        """The rows `idx` (after finished rows leave the batch)."""
        return RowParams(self.temperature[idx], self.top_p[idx], self.top_k[idx], self.uniforms[idx])


def _filter(z: torch.Tensor, p: RowParams) -> torch.Tensor:
    """Mask (to -inf) tokens outside each row's top-k and top-p sets; one sort serves both."""
    need_k = bool((p.top_k > 0).any())
    need_p = bool((p.top_p < 1).any())
    if not (need_k or need_p):
        return z
    sz, si = torch.sort(z, dim=-1, descending=True)
    drop = torch.zeros_like(sz, dtype=torch.bool)
    if need_k:
        rank = torch.arange(z.shape[-1], device=z.device)
        k = torch.where(p.top_k > 0, p.top_k, z.shape[-1])
        drop |= rank[None, :] >= k[:, None]
    if need_p:
        sp = torch.softmax(sz.masked_fill(drop, float("-inf")), dim=-1)
        before = torch.cumsum(sp, dim=-1) - sp  # mass strictly above each token
        drop |= before >= p.top_p[:, None]
    drop[:, 0] = False  # the most likely token always survives
    return z.masked_fill(drop.scatter(1, si, drop), float("-inf"))


def sample_next(logits: torch.Tensor, p: RowParams, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one token per row: returns ``(token_ids [B], raw_logprobs [B])``.

    `step` [B] says which uniform of each row's stream to use (its number of generated tokens).
    """
    logits = logits.float()
    greedy = p.temperature <= 0
    any_greedy = bool(greedy.any())
    tok = torch.argmax(logits, dim=-1) if any_greedy else None
    if tok is None or not bool(greedy.all()):
        t = torch.where(greedy, torch.ones_like(p.temperature), p.temperature)
        z = _filter(logits if bool((t == 1).all()) else logits / t[:, None], p)
        # unnormalised weights suffice (we compare against u * total), and float32 is enough: the
        # CDF stays monotone under rounding, and ~1e-7 errors in a probability are unmeasurable
        cdf = torch.cumsum(torch.exp(z - z.amax(dim=-1, keepdim=True)), dim=-1)
        total = cdf[:, -1]
        u = p.uniforms.gather(1, step[:, None]).squeeze(1).to(cdf.dtype)
        # v < total strictly, so searchsorted lands on a token with non-zero probability
        v = torch.minimum(u * total, total * (1 - 1e-6))
        drawn = torch.searchsorted(cdf, v[:, None], right=True).squeeze(1).clamp_(max=logits.shape[-1] - 1)
        tok = torch.where(greedy, tok, drawn) if tok is not None else drawn  # tok is set iff any_greedy
    raw = logits.gather(1, tok[:, None]).squeeze(1) - torch.logsumexp(logits, dim=-1)
    return tok, raw
