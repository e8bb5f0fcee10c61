"""Strategy registry: strategies are plain functions registered by the name their paper uses.

>>> from itslab import strategies
>>> "best_of_n" in strategies.names()
True
"""
from __future__ import annotations

import importlib
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

_REGISTRY: dict[str, Callable] = {}
# modules whose import registers strategies; imported on first lookup so `import itslab` stays light
_MODULES: tuple[str, ...] = ("itslab.strategies.sampling", "itslab.strategies.search", "itslab.strategies.smc")
_loaded = False


def register(name: str) -> Callable[[F], F]:
    """Decorator: register a strategy function under `name` (names must be unique)."""
    def deco(fn: F) -> F:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"strategy {name!r} is already registered (by {_REGISTRY[name].__module__})")
        _REGISTRY[name] = fn
        fn.strategy_name = name  # type: ignore[attr-defined]
        return fn
    return deco


def _load() -> None:
    global _loaded
    if not _loaded:
        for m in _MODULES:
            importlib.import_module(m)
        _loaded = True


def names() -> list[str]:
    """All registered strategy names, sorted."""
    _load()
    return sorted(_REGISTRY)


def get(name: str) -> Callable:
    """The strategy registered as `name`; a `ValueError` listing the valid names otherwise."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(sorted(_REGISTRY))}") from None
