"""Loading Hugging Face causal LMs (hub id, local directory or GGUF file) for the transformers engine.

dtype policy: float32 on CPU (bfloat16 matmuls are about 5x slower than float32 on x86 CPUs
without AMX, measured here on SmolLM2-135M: 0.81 s vs 0.20 s per 32-row decode step), bfloat16 on
CUDA devices that support it (else float16), float16 on Apple MPS.
"""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import Any, Iterator

import torch


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device to run on: the argument, else `itslab.settings.device()` (cuda, mps, cpu)."""
    if device is None:
        from itslab import settings as config

        device = config.device()
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """The compute dtype: the argument (a torch dtype or its name), else the per-device default above."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.type == "mps" else torch.float32
    named = getattr(torch, str(dtype), None)
    if not isinstance(named, torch.dtype):
        raise ValueError(
            f"dtype must be a torch dtype or one of 'auto', 'float32', 'bfloat16', 'float16'; got {dtype!r}"
        )
    return named


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Silence transformers' per-tensor progress bars while loading, restoring the setting after."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def split_gguf(source: str | Path, gguf_file: str | None) -> tuple[str, str | None]:
    """Accept ``source="dir/model.gguf"`` as shorthand for ``(dir, gguf_file="model.gguf")``."""
    p = Path(str(source)).expanduser()
    if gguf_file is None and p.suffix == ".gguf":
        if not p.is_file():
            raise FileNotFoundError(f"GGUF file {str(p)!r} does not exist")
        return str(p.parent), p.name
    return str(source), gguf_file


def hub_reachable_or_raise(source: str | Path, filename: str = "config.json") -> bool:
    """Whether `source` must be read from local files only: True for a local folder or a hub id in the
    Hugging Face cache. Otherwise the hub must answer; when it cannot be reached (offline, as here)
    a one-line error names the model at once instead of after transformers' ~50 s of retries."""
    import os
    import socket
    from urllib.parse import urlparse

    if Path(source).exists():
        return True
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(str(source), filename)
    except ValueError:  # not a valid repo id either
        cached = None
    if isinstance(cached, str):
        return True
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    why = "HF_HUB_OFFLINE is set" if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0") else None
    if why is None:
        host = urlparse(endpoint).hostname or "huggingface.co"
        try:
            socket.create_connection((host, 443), timeout=5).close()
            return False
        except OSError as e:
            why = f"{host} cannot be reached ({e})"
    raise FileNotFoundError(
        f"model {str(source)!r}: not a local folder, not in the Hugging Face cache, and {why}; "
        "known offline models: itslab models list"
    )


def load_pretrained(
    source: str | Path,
    *,
    gguf_file: str | None,
    device: torch.device,
    dtype: torch.dtype,
    local_files_only: bool = False,
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a hub id, a local directory, or a GGUF file in it.

    GGUF weights are de-quantised by transformers' GGUF loader (needs the `gguf` package).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, gguf_file = split_gguf(source, gguf_file)
    local_files_only = local_files_only or hub_reachable_or_raise(source, gguf_file or "config.json")
    kw: dict[str, Any] = {"local_files_only": local_files_only}
    if gguf_file is not None:
        kw["gguf_file"] = gguf_file
    with quiet_progress():
        tokenizer = AutoTokenizer.from_pretrained(source, **kw)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kw)
    # transformers decorates PreTrainedModel.to with functools.wraps, whose typeshed `_Wrapped` does not bind self
    return model.to(device).eval(), tokenizer  # type: ignore[arg-type]


def forward_keywords(model: Any) -> tuple[str, bool]:
    """``(name of the KV-cache argument, whether logits_to_keep exists)`` for `model.forward`.

    transformers 5.x renamed ``past_key_values`` to ``cache``; older releases only know the former.
    """
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"
    return cache_kw, "logits_to_keep" in params


def text_dims(model: Any) -> tuple[int, int, int]:
    """``(n_layers, n_kv_heads, head_dim)`` of a decoder's attention (shape of its KV cache)."""
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = cfg.num_attention_heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    return cfg.num_hidden_layers, kv_heads, head_dim
