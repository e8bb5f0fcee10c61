"""Strategy registry: strategies are plain functions registered by the name their paper uses.

A registration also says what the runner needs to know about the strategy, so the runner
knows no strategy's internals: `size`, the hyper-parameter that sets its number of rollouts
(``n``, ``n_particles``), `rollout_samples`, how many generator completions one rollout may
cost given the hyper-parameters (e.g. ``max_steps × (1 + lookahead)`` for beam search), and
`fit_size`, the other hyper-parameters that follow the size (a beam no wider than the number of
beams), returned as a dict of changes.

>>> from itslab import strategies
>>> "best_of_n" in strategies.names()
True
>>> strategies.info("particle_filter").size
'n_particles'
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

F = TypeVar("F", bound=Callable)


def _one(hyper: Mapping[str, Any]) -> int:
    return 1


@dataclass(frozen=True)
class StrategyInfo:
    """What the runner knows about a registered strategy."""

    name: str
    fn: Callable
    size: str = "n"
    rollout_samples: Callable[[Mapping[str, Any]], int] = _one
    fit_size: Callable[[dict[str, Any], int], dict[str, Any]] | None = None

    def defaults(self) -> dict[str, Any]:
        """The strategy's keyword defaults (its hyper-parameters as the function declares them)."""
        return {
            k: p.default
            for k, p in inspect.signature(self.fn).parameters.items()
            if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
        }

    def with_size(self, hyper: Mapping[str, Any], n: int) -> dict[str, Any]:
        """`hyper` with the size parameter set to `n`, plus what `fit_size` changes to follow it."""
        out = {**dict(hyper), self.size: int(n)}
        if self.fit_size is not None:
            out.update(self.fit_size({**self.defaults(), **out}, int(n)))
        return out

    def samples_per_rollout(self, hyper: Mapping[str, Any]) -> int:
        """Completions one rollout may cost under `hyper` (defaults filled in)."""
        return int(self.rollout_samples({**self.defaults(), **dict(hyper)}))


_REGISTRY: dict[str, StrategyInfo] = {}
# modules whose import registers strategies; imported on first lookup so `import itslab` stays light
_MODULES: tuple[str, ...] = (
    "itslab.strategies.sampling",
    "itslab.strategies.adaptive",
    "itslab.strategies.search",
    "itslab.strategies.smc",
    "itslab.strategies.constrained_smc",
    "itslab.strategies.constrained_baselines",
    "itslab.strategies.foresight",
    "itslab.strategies.synthesis",
    "itslab.strategies.tree_search",
    "itslab.strategies.evolution",
    "itslab.strategies.early_exit",
    "itslab.strategies.length_vote",
    "itslab.strategies.budget_forcing",
    "itslab.strategies.speculative",
    "itslab.strategies.fractured",
    "itslab.strategies.meta_reasoner",
)
_loaded = False


def register(
    name: str,
    *,
    size: str = "n",
    rollout_samples: Callable[[Mapping[str, Any]], int] = _one,
    fit_size: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Decorator: register a strategy function under `name` (names must be unique), with what the
    runner needs to give it N rollouts (see the module docstring)."""

    def deco(fn: F) -> F:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"strategy {name!r} is already registered (by {_REGISTRY[name].fn.__module__})")
        if size not in inspect.signature(fn).parameters:
            raise ValueError(f"strategy {name!r}: size parameter {size!r} is not one of its parameters")
        _REGISTRY[name] = StrategyInfo(name, fn, size, rollout_samples, fit_size)
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
    return info(name).fn


def info(name: str) -> StrategyInfo:
    """The registration of strategy `name`; a `ValueError` listing the valid names otherwise."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(sorted(_REGISTRY))}") from None
