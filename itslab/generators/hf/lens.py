"""Logit lens on the transformers engine: every layer's next-token guess, for early-exit curves.

Each layer's hidden state is read through the model's final norm and LM head (the "logit lens",
nostalgebraist 2020) without training anything; layer L's guess is the model's own. Sun et al.
2024 (arXiv:2401.09964) train a head per layer instead and find that GPT-2 already predicts 54.4%
of code tokens correctly at its first layer; with the untrained lens early layers are read in
the wrong basis, so the lens gives a lower bound on how early a token could exit.

`LensReadout` holds, per layer and position, whether the guess is the final layer's and whether
it is the text's next token: `agreement` and `accuracy` per layer, and `exit_layer`, the first
layer from which the guess no longer changes — where an oracle controller could stop without
altering the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class LensReadout:
    """Per layer l + 1 and position t: whether the guess equals the final layer's (``agree[l, t]``)
    and whether it is the text's next token (``correct[l, t]``). Flags only: no token ids are kept."""

    agree: np.ndarray
    correct: np.ndarray

    @classmethod
    def from_predictions(cls, predictions: np.ndarray, targets: np.ndarray) -> "LensReadout":
        """Flags from argmax guesses ``[layers, positions]`` and the next tokens ``[positions]``."""
        p = np.asarray(predictions)
        return cls(p == p[-1], p == np.asarray(targets)[None])

    @property
    def n_layers(self) -> int:
        """Decoder layers read (the last is the model's output)."""
        return int(self.agree.shape[0])

    def agreement(self) -> np.ndarray:
        """Per layer, the share of positions whose guess equals the final layer's."""
        return self.agree.mean(axis=1)

    def accuracy(self) -> np.ndarray:
        """Per layer, the share of positions whose guess is the text's next token."""
        return self.correct.mean(axis=1)

    def exit_layer(self) -> np.ndarray:
        """Per position, the first layer (1-based) from which every deeper guess equals the final one."""
        # the length of the run of agreeing layers counted down from the top
        settled = np.flip(np.cumprod(np.flip(self.agree, axis=0), axis=0), axis=0).sum(axis=0)
        return self.n_layers - settled + 1

    def saved_fraction(self) -> np.ndarray:
        """Per position, the share of layers an oracle early exit skips: ``(L - exit_layer) / L``."""
        return (self.n_layers - self.exit_layer()) / self.n_layers


def concat(readouts: Sequence[LensReadout]) -> LensReadout:
    """Readouts of several texts as one (positions side by side)."""
    return LensReadout(
        np.concatenate([r.agree for r in readouts], axis=1), np.concatenate([r.correct for r in readouts], axis=1)
    )


def logit_lens(gen: Any, text: str, *, max_tokens: int | None = None) -> LensReadout:
    """Read `text` once (``output_hidden_states``) and return every layer's guess at each position.

    `gen` is an `HFGenerator` (its ``model`` and ``encode``); the text is cut to `max_tokens` + 1
    tokens (positions predict the next one). Sun et al. 2024 (arXiv:2401.09964), section 3.
    """
    import torch

    ids = list(gen.encode(text))
    if max_tokens is not None:
        ids = ids[: max_tokens + 1]
    if len(ids) < 2:
        raise ValueError(f"logit_lens: the text needs at least 2 tokens, got {len(ids)}")
    model = gen.model
    norm = getattr(model.get_decoder(), "norm", None)
    if norm is None:
        raise NotImplementedError(f"logit_lens: {type(model).__name__} has no final norm at model.get_decoder().norm")
    head = model.get_output_embeddings()
    x = torch.tensor([ids[:-1]], dtype=torch.long, device=gen.device)
    with torch.inference_mode():
        out = model(input_ids=x, output_hidden_states=True, use_cache=False)
        # hidden_states[0] is the embedding, [l] the output of layer l; the last has the norm applied
        inner = [head(norm(h[0])).argmax(-1) for h in out.hidden_states[1:-1]]
        preds = torch.stack([*inner, out.logits[0].argmax(-1)])
    return LensReadout.from_predictions(preds.cpu().numpy(), np.asarray(ids[1:]))
