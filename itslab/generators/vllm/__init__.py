"""The vLLM backend: `VLLMGenerator` on ``vllm.LLM`` (tensor / pipeline parallel, prefix caching).

vLLM loads when a generator is built, not when this package is imported.
"""

from __future__ import annotations

from itslab.generators.vllm.generator import VLLMGenerator, estimate_params

__all__ = ["VLLMGenerator", "estimate_params"]
