"""The batched decode loop of the transformers engine (our own loop, not `model.generate`).

Owning the loop lets the engine (a) start every row from a prompt that was prefilled once and
copied into the batch, (b) keep a preallocated KV slab, (c) hand each finished row's KV to the
prefix cache, and (d) check stop strings incrementally on a short window of the newest tokens
instead of re-decoding whole texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from itslab.generators.common import find_stop
from itslab.generators.hf.batch import BatchKV
from itslab.generators.hf.sampling import RowParams, sample_next
from itslab.generators.hf.text import TextCodec


@dataclass(eq=False)
class Row:
    """Mutable state of one sample while it is decoded."""

    unit: int
    j: int
    prompt_len: int
    max_tokens: int
    stops: tuple[str, ...]
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish: str | None = None
    stop: str | None = None

    def __post_init__(self) -> None:
        # a stop string of c characters spans at most 4c byte-level tokens, plus slack for
        # tokens that decode to partial characters
        self.window = 4 * max((len(s) for s in self.stops), default=0) + 2


def _stop_in_window(row: Row, codec: TextCodec) -> str | None:
    hit = find_stop(codec.window_text(row.tokens[-row.window :]), row.stops)
    return None if hit is None else hit[1]


def _finish(row: Row, tok: int, eos: frozenset[int], codec: TextCodec) -> None:
    if tok in eos:
        row.finish = "stop"
    elif row.stops and (hit := _stop_in_window(row, codec)) is not None:
        row.finish, row.stop = "stop", hit
    elif len(row.tokens) >= row.max_tokens:
        row.finish = "length"


def decode(
    model: Any,
    cache_kw: str,
    kv: BatchKV,
    rows: Sequence[Row],
    params: RowParams,
    logits: torch.Tensor,
    *,
    codec: TextCodec,
    eos: frozenset[int],
    on_leave: Callable[[Row, Callable[[int, int], torch.Tensor]], None],
) -> None:
    """Sample every row until it stops; `logits` [B, V] are the prompt's last-position logits.

    Rows leave the batch in groups (once a quarter of the batch has finished) so the slab is
    compacted rarely; `on_leave(row, slicer)` is called while the row's KV is still in the slab
    (its prompt plus all generated tokens but the last, which was never fed to the model).
    """
    live = list(rows)
    plen = torch.tensor([r.prompt_len for r in live], dtype=torch.long, device=kv.mask.device)
    width = params.uniforms.shape[1]
    fed = 0  # tokens fed to every row of the batch so far
    while True:
        step = torch.full((len(live),), min(fed, width - 1), dtype=torch.long, device=plen.device)
        tok, lp = sample_next(logits, params, step)
        toks, lps = tok.tolist(), lp.tolist()
        for i, row in enumerate(live):
            if row.finish is None:
                row.tokens.append(toks[i])
                row.logprobs.append(lps[i])
                _finish(row, toks[i], eos, codec)
        done = [i for i, r in enumerate(live) if r.finish is not None]
        if len(done) == len(live):
            for i in done:
                on_leave(live[i], kv.row_slicer(i))
            return
        if 4 * len(done) >= len(live):
            for i in done:
                on_leave(live[i], kv.row_slicer(i))
            keep = torch.tensor([i for i, r in enumerate(live) if r.finish is None], device=plen.device)
            kv.select(keep)
            params, plen, tok = params.select(keep), plen[keep], tok[keep]
            live = [live[i] for i in keep.tolist()]
        mask = kv.step_mask()
        out = model(
            input_ids=tok[:, None],
            attention_mask=mask,
            position_ids=(plen + fed)[:, None],
            use_cache=True,
            **{cache_kw: kv.cache},
        )
        logits = out.logits[:, -1]
        fed += 1
