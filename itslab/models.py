"""Public face of the model registry: ``itslab.models.load("smollm2-135m")``.

A thin re-export of `itslab.generators.models` (kept light: torch is imported only when a model
is converted or loaded).

>>> from itslab import models
>>> "smollm2-135m" in models.registry()
True
"""
from __future__ import annotations

from itslab.generators.models import (REGISTRY, ModelSpec, format_registry, gguf_path, install, load,
                                      model_dir, registry, spec, verify)

__all__ = ["REGISTRY", "ModelSpec", "format_registry", "gguf_path", "install", "load", "model_dir",
           "registry", "spec", "verify"]
