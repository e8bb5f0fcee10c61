"""Generator backends behind one contract (`itslab.protocols.Generator`).

Backends are imported lazily: ``from itslab.generators import HFGenerator`` loads torch only then.
"""
from __future__ import annotations

import importlib
from typing import Any

from itslab.protocols import Generator

# public name -> module that defines it; each module is imported on first attribute access
_LAZY: dict[str, str] = {
    "SimulatedGenerator": "itslab.generators.simulated",
    "StepwiseSimGenerator": "itslab.generators.simulated",
    "SequentialSimGenerator": "itslab.generators.simulated",
    "make_suite": "itslab.generators.simulated",
    "ReplayGenerator": "itslab.generators.replay",
    "MissingSample": "itslab.generators.store",
    "Cached": "itslab.generators.store",
    "SampleStore": "itslab.generators.store",
    "HFGenerator": "itslab.generators.hf",
    "LlamaCppGenerator": "itslab.generators.llamacpp",
    "OpenAIGenerator": "itslab.generators.openai_http",
    "BackendError": "itslab.generators.openai_http_retry",
    "RetryPolicy": "itslab.generators.openai_http_retry",
    "VLLMGenerator": "itslab.generators.vllm_backend",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'itslab.generators' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


__all__ = ["Generator", *_LAZY]
