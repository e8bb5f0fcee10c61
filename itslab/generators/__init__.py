"""Generator backends behind one contract (`itslab.protocols.Generator`).

One sub-package per backend (`simulated`, `hf`, `llamacpp`, `http`, `vllm`), the sample store and
replay beside them, and what every backend shares in `common`. Backends are imported lazily:
``from itslab.generators import HFGenerator`` loads torch only then.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Sequence

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
    "OpenAIGenerator": "itslab.generators.http",
    "BackendError": "itslab.generators.http",
    "RetryPolicy": "itslab.generators.http",
    "VLLMGenerator": "itslab.generators.vllm",
    "MixtureGenerator": "itslab.generators.mixture",
    "MixtureConfig": "itslab.generators.mixture",
    "ModelPair": "itslab.generators.pair",
}


def _simulated(name: str | None, problems: Sequence[Any], **options: Any) -> Any:
    from itslab.generators.simulated import KINDS

    kind = name or "outcome"
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a simulator; valid: {', '.join(KINDS)}")
    return KINDS[kind](list(problems), **options)


def _hf(name: str | None, problems: Sequence[Any], **options: Any) -> Any:
    from itslab import models

    return models.load(_named(name, "hf"), **options)


def _class(attr: str) -> Callable[..., Any]:
    def build(name: str | None, problems: Sequence[Any], **options: Any) -> Any:
        return __getattr__(attr)(_named(name, attr), **options)

    return build


def _bank(name: str | None, problems: Sequence[Any], **options: Any) -> Any:
    from itslab import banks

    return banks.replay(_named(name, "bank"), **options)


def _named(name: str | None, backend: str) -> str:
    if not name:
        raise ValueError(f"backend {backend!r} needs a model name (registry name, HF id, path, URL or bank)")
    return name


# backend (as configs write it) -> factory(name, problems, **options)
_BACKENDS: dict[str, Callable[..., Any]] = {
    "simulated": _simulated,
    "hf": _hf,
    "llamacpp": _class("LlamaCppGenerator"),
    "http": _class("OpenAIGenerator"),
    "vllm": _class("VLLMGenerator"),
    "bank": _bank,
}


def register(backend: str, factory: Callable[..., Any]) -> None:
    """Make `factory(name, problems, **options)` buildable as backend `backend` (YAML configs, `get`)."""
    if backend in _BACKENDS and _BACKENDS[backend] is not factory:
        raise ValueError(f"backend {backend!r} is already registered")
    _BACKENDS[backend] = factory


def names() -> list[str]:
    """The registered backend names."""
    return sorted(_BACKENDS)


def get(backend: str) -> Callable[..., Any]:
    """The factory of `backend`: ``get(backend)(name, problems, **options)``; a clear error otherwise."""
    try:
        return _BACKENDS[backend]
    except (KeyError, TypeError):
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(names())}") from None


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'itslab.generators' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


__all__ = ["Generator", "get", "names", "register", *_LAZY]
