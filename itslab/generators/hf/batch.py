"""A preallocated, left-padded KV cache for one decoding batch of the transformers engine.

Rows of a batch come from prompts of different lengths (different particles, beams or
problems), so each row's tokens are right-aligned at the batch's longest prompt ("left
padding"); an attention mask hides the padding and explicit position ids keep each row's
positions 0..L-1, so a row's keys and values are those it would have alone. The KV buffers are
allocated once with room for the generated tokens and written in place, instead of growing by
``torch.cat`` at every step as Hugging Face's `DynamicCache` does (an O(length) copy per token).

Needs transformers' layered cache API (`transformers.cache_utils.DynamicLayer`, >= 4.56).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


class SlabLayer(DynamicLayer):
    """One layer's KV in a buffer of shape ``[B, heads, capacity, head_dim]``, filled up to `length`."""

    def __init__(self, kbuf: torch.Tensor, vbuf: torch.Tensor, length: int) -> None:
        super().__init__()
        self.kbuf, self.vbuf, self.length = kbuf, vbuf, length
        self.is_initialized = True
        self.device = kbuf.device
        self._sync()

    def _sync(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Point `keys`/`values` at the filled part of the buffers; return those views."""
        keys, values = self.kbuf[:, :, : self.length], self.vbuf[:, :, : self.length]
        self.keys, self.values = keys, values
        return keys, values

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Nothing to do: the buffers exist from construction."""

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new tokens' keys/values in place and return views of everything so far."""
        end = self.length + key_states.shape[-2]
        if end > self.kbuf.shape[2]:
            self.grow(max(end, 2 * self.kbuf.shape[2]))
        self.kbuf[:, :, self.length : end] = key_states
        self.vbuf[:, :, self.length : end] = value_states
        self.length = end
        return self._sync()

    def grow(self, capacity: int) -> None:
        """Reallocate the buffers with room for `capacity` positions (rarely needed)."""
        b, h, _, d = self.kbuf.shape
        for name in ("kbuf", "vbuf"):
            old = getattr(self, name)
            new = old.new_zeros((b, h, capacity, d))
            new[:, :, : self.length] = old[:, :, : self.length]
            setattr(self, name, new)
        self._sync()

    def get_seq_length(self) -> int:
        return self.length

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.length + query_length, 0

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.kbuf, self.vbuf = self.kbuf[indices], self.vbuf[indices]
        self._sync()


class BatchKV:
    """The KV slab, attention mask and per-row offsets of one batch.

    Row r's real tokens sit at slab positions ``offset[r] .. length-1`` (its prompt right-aligned
    at `prompt_width`, then the generated tokens).
    """

    def __init__(
        self,
        n_layers: int,
        n_rows: int,
        heads: int,
        head_dim: int,
        prompt_width: int,
        capacity: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        shape = (n_rows, heads, capacity, head_dim)
        self.layers = [
            SlabLayer(
                torch.zeros(shape, dtype=dtype, device=device),
                torch.zeros(shape, dtype=dtype, device=device),
                prompt_width,
            )
            for _ in range(n_layers)
        ]
        self.cache = DynamicCache()
        self.cache.layers = list(self.layers)
        self.cache.layer_class_to_replicate = None
        self.mask = torch.zeros((n_rows, capacity), dtype=torch.long, device=device)
        self.offset = torch.full((n_rows,), prompt_width, dtype=torch.long, device=device)

    @property
    def length(self) -> int:
        """Filled positions (prompt width plus tokens fed so far)."""
        return self.layers[0].length

    def put_prompt(self, rows: slice, pieces: Sequence[torch.Tensor]) -> None:
        """Right-align a prompt's KV (pieces of ``[2, n_layers, H, len, D]``) in `rows`."""
        total = sum(p.shape[3] for p in pieces)
        start = self.length - total
        for li, layer in enumerate(self.layers):
            pos = start
            for p in pieces:
                n = p.shape[3]
                layer.kbuf[rows, :, pos : pos + n] = p[0, li]
                layer.vbuf[rows, :, pos : pos + n] = p[1, li]
                pos += n
        self.mask[rows, start : self.length] = 1
        self.offset[rows] = start

    def step_mask(self) -> torch.Tensor:
        """Attention mask for feeding one more token to every row."""
        n = self.length + 1
        if n > self.mask.shape[1]:
            pad = self.mask.new_zeros((self.mask.shape[0], max(n, 2 * self.mask.shape[1]) - self.mask.shape[1]))
            self.mask = torch.cat([self.mask, pad], dim=1)
        self.mask[:, self.length] = 1
        return self.mask[:, :n]

    def row_slicer(self, r: int) -> Callable[[int, int], torch.Tensor]:
        """``slicer(a, b)`` over row r's own token positions (for `RadixKVCache.insert`)."""
        off = int(self.offset[r])

        def slicer(a: int, b: int) -> torch.Tensor:
            ks = torch.stack([layer.kbuf[r, :, off + a : off + b] for layer in self.layers])
            vs = torch.stack([layer.vbuf[r, :, off + a : off + b] for layer in self.layers])
            return torch.stack([ks, vs])

        return slicer

    def select(self, idx: torch.Tensor) -> None:
        """Keep only rows `idx` (finished rows leave the batch)."""
        for layer in self.layers:
            layer.batch_select_indices(idx)
        self.mask, self.offset = self.mask[idx], self.offset[idx]


def cache_supported(model: Any) -> bool:
    """True when every attention layer of `model` uses a plain full-attention `DynamicLayer`.

    Sliding-window and linear-attention (hybrid) models keep other cache layouts, which the
    slab and the prefix cache do not handle.
    """
    layers = DynamicCache(config=model.config).layers
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)
