"""The llama.cpp backend: `LlamaCppGenerator`, batched seeded sampling of GGUF models in-process.

llama-cpp-python loads when a model is opened, not when this package is imported.
"""

from __future__ import annotations

from itslab.generators.llamacpp.generator import EngineStats, LlamaCppGenerator

__all__ = ["EngineStats", "LlamaCppGenerator"]
