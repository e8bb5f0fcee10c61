"""The transformers backend: `HFGenerator`, batched seeded sampling with automatic prefix caching.

torch and transformers load when `HFGenerator` is first used, not when this package is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itslab.generators.hf.generator import HFGenerator


def __getattr__(name: str) -> Any:
    if name == "HFGenerator":
        from itslab.generators.hf.generator import HFGenerator

        return HFGenerator
    raise AttributeError(f"module 'itslab.generators.hf' has no attribute {name!r}")


__all__ = ["HFGenerator"]
