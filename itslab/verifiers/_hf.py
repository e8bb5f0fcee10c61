"""Torch plumbing shared by the transformers reward models: batching, padding, head readouts.

Imported only by `reward_models` and `prm`, never by ``import itslab.verifiers``.
Sequences are right-padded: with a causal model and an attention mask the logits of real
tokens do not depend on padding, so a batch scores exactly like one-by-one calls (to float
rounding), which the tests check.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch


def n_params(model: Any) -> int:
    """Number of parameters of a torch model (for FLOPs = 2·params·tokens, Kaplan et al. 2020)."""
    return int(sum(p.numel() for p in model.parameters()))


def model_device(model: Any) -> torch.device:
    """Where the model's weights live; inputs are sent there (the model decides the device)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def load_pretrained(
    auto_cls: Any, model_id: str, *, device: str | None, dtype: Any, trust_remote_code: bool, **kwargs: Any
) -> tuple[Any, Any]:
    """(model, tokenizer) from the hub or a local folder, moved to `device` (default: itslab.settings.device())."""
    from transformers import AutoTokenizer

    from itslab import settings as config
    from itslab.generators.hf.load import hub_reachable_or_raise

    if hub_reachable_or_raise(model_id):
        kwargs.setdefault("local_files_only", True)
    tok = AutoTokenizer.from_pretrained(
        model_id, trust_remote_code=trust_remote_code, local_files_only=kwargs.get("local_files_only", False)
    )
    model = auto_cls.from_pretrained(model_id, dtype=dtype, trust_remote_code=trust_remote_code, **kwargs)
    return model.to(device or config.device()).eval(), tok


def run_batches(
    seqs: Sequence[Sequence[int]],
    batch_size: int,
    pad_id: int,
    device: torch.device,
    fn: Callable[[torch.Tensor, torch.Tensor], list[Any]],
) -> list[Any]:
    """Apply ``fn(input_ids, attention_mask) -> one result per row`` over length-sorted right-padded batches.

    Sorting by length keeps padding small; results come back in the input order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out: list[Any] = [None] * len(seqs)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(seqs[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(seqs[i])] = torch.tensor(list(seqs[i]), dtype=torch.long)
            mask[r, : len(seqs[i])] = 1
        with torch.inference_mode():
            res = fn(ids.to(device), mask.to(device))
        for r, i in enumerate(idx):
            out[i] = res[r]
    return out


def hidden_states(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
    """Last hidden states of the model's backbone, or None when it has no standard backbone attribute."""
    base = getattr(model, getattr(model, "base_model_prefix", "model"), None)
    if base is None or base is model:
        return None
    return base(input_ids=ids, attention_mask=mask).last_hidden_state


def class_scores(logits: torch.Tensor, label: int | None) -> torch.Tensor:
    """Scores from classification logits [..., C]: the raw logit when C == 1 (a reward head),
    else the softmax probability of class `label` (default: the last class)."""
    logits = logits.float()
    if logits.shape[-1] == 1:
        return logits[..., 0]
    return torch.softmax(logits, dim=-1)[..., logits.shape[-1] - 1 if label is None else label]


def sequence_logits(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Classification logits [B, C] at each row's last real token.

    Decoder reward models (``*ForSequenceClassification``) apply a linear ``score`` head to every
    position and pool at the last non-pad token found by comparing ids to ``pad_token_id``;
    that breaks when a sequence legitimately ends in that id (pad = eos), so we pool by the
    attention mask instead. Models without a ``score`` head fall back to their own pooling.
    """
    last = mask.sum(dim=1) - 1
    rows = torch.arange(ids.shape[0], device=ids.device)
    head = getattr(model, "score", None)
    if isinstance(head, torch.nn.Module):
        h = hidden_states(model, ids, mask)
        if h is not None:
            return head(h[rows, last])
    out = model(input_ids=ids, attention_mask=mask)
    logits = out.logits if hasattr(out, "logits") else out[0]
    return logits if logits.dim() == 2 else logits[rows, last]


def pad_id(tokenizer: Any) -> int:
    """A padding id (its value never matters: padded positions are masked and never read)."""
    for attr in ("pad_token_id", "eos_token_id", "unk_token_id"):
        v = getattr(tokenizer, attr, None)
        if isinstance(v, int):
            return v
    return 0
