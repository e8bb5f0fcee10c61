"""Run-time configuration read from the environment: smoke/full mode, data dir, cache, progress bars, device."""

from __future__ import annotations

import os
from pathlib import Path


def mode() -> str:
    """``"smoke"`` when ``ITSLAB_MODE=smoke`` or ``CI`` is set, ``"full"`` otherwise.

    ``ITSLAB_MODE=full`` forces full mode even under CI.
    """
    m = os.environ.get("ITSLAB_MODE", "").strip().lower()
    if m in ("smoke", "full"):
        return m
    if m:
        raise ValueError(f"ITSLAB_MODE must be 'smoke' or 'full', got {m!r}")
    return "smoke" if os.environ.get("CI") else "full"


def data_dir() -> Path | None:
    """The benchmark data folder from ``ITSLAB_DATA_DIR`` (None when unset)."""
    d = os.environ.get("ITSLAB_DATA_DIR")
    if not d:
        return None
    p = Path(d).expanduser()
    if not p.is_dir():
        raise FileNotFoundError(f"ITSLAB_DATA_DIR={d!r} is not a directory")
    return p


def cache_dir() -> Path:
    """Where itslab keeps converted models and sample stores (``ITSLAB_CACHE_DIR``, default ~/.cache/itslab)."""
    d = Path(os.environ.get("ITSLAB_CACHE_DIR") or Path.home() / ".cache" / "itslab").expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return d


def progress_disable() -> bool | None:
    """tqdm's ``disable`` for itslab's progress bars, from ``ITSLAB_PROGRESS``: ``1`` shows them even
    when stderr is not a terminal (`make demo` sets it, so a piped or logged run shows progress too),
    ``0`` hides them; unset, tqdm decides (shown on terminals and in notebooks, silent in CI logs)."""
    v = os.environ.get("ITSLAB_PROGRESS", "").strip().lower()
    if v in ("", "auto"):
        return None
    if v in ("1", "true", "yes", "on"):
        return False
    if v in ("0", "false", "no", "off"):
        return True
    raise ValueError(f"ITSLAB_PROGRESS must be 1, 0 or auto, got {v!r}")


def device() -> str:
    """The torch device to use: ``ITSLAB_DEVICE`` or the best available (cuda, mps, cpu). Imports torch."""
    d = os.environ.get("ITSLAB_DEVICE")
    if d:
        return d
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
