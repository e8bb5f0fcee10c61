"""Core records shared by every part of itslab: problems, requests, completions, usage.

All records are frozen dataclasses so a strategy can never mutate what it was given, and a
`Result` built from them is a faithful trace (docs/architecture.md, "Contracts").

>>> u = Usage(samples=1, generated_tokens=10) + Usage(samples=2, generated_tokens=5)
>>> (u.samples, u.generated_tokens)
(3, 15)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


# A read-only, picklable mapping for the meta/info fields of frozen records: types.MappingProxyType
# cannot be pickled or deep-copied, and results must cross process boundaries (Ray, the store) intact.
class FrozenDict(dict):
    """A dict whose mutators raise `TypeError`; equal to, and pickled as, a plain dict's contents."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__} is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> "FrozenDict":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenDict":
        import copy

        return FrozenDict({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: repr(kv[0]))))


_ATOMS = (str, int, float, bool, type(None))


def freeze(x: Any) -> Any:
    """Deep-freeze plain containers: mappings become `FrozenDict`, lists and tuples become tuples."""
    # exact-type checks first: records freeze their meta on every construction, and the
    # `Mapping` ABC check is the slow path (strategies build hundreds of thousands of records)
    t = type(x)
    if t in _ATOMS or t is FrozenDict and all(type(v) in _ATOMS for v in x.values()):
        return x
    if t is dict:
        return FrozenDict({k: freeze(v) for k, v in x.items()})
    if isinstance(x, Mapping):
        return FrozenDict({k: freeze(v) for k, v in x.items()})
    if t is tuple and all(type(v) in _ATOMS for v in x):  # e.g. per-particle weights in a trace note
        return x
    if isinstance(x, (list, tuple)):
        return tuple(freeze(v) for v in x)
    return x


def _frozen_map(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return FrozenDict(m or {})


@dataclass(frozen=True)
class Problem:
    """One task instance: a prompt (or chat messages), its gold answer and metadata.

    `meta` carries e.g. ``difficulty`` (MATH level, synthetic steps), ``subject`` and ``source``.
    """

    id: str
    prompt: str
    answer: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[Mapping[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Problem.id must be a non-empty string, got {self.id!r}")
        object.__setattr__(self, "meta", _frozen_map(self.meta))
        if self.messages is not None:
            object.__setattr__(self, "messages", tuple(_frozen_map(m) for m in self.messages))


@dataclass(frozen=True)
class Request:
    """What a strategy asks a generator for: `n` continuations of a text `prefix`.

    The prefix is the whole prompt plus any partial solution; backends with a KV cache reuse
    whatever part of it they have already processed (automatic prefix caching, as in vLLM).
    `seed` fixes the samples: sample i of a request is the same for every n > i.
    """

    prefix: str
    n: int = 1
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    seed: int = 0
    logprobs: bool = False

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"Request.n must be >= 0, got {self.n}")
        if self.max_tokens < 0:
            raise ValueError(f"Request.max_tokens must be >= 0, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"Request.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"Request.top_p must be in (0, 1], got {self.top_p}")
        object.__setattr__(self, "stop", tuple(self.stop))


@dataclass(frozen=True)
class Completion:
    """One sampled continuation with the accounting a strategy needs.

    `n_prompt_tokens` counts the prefix, `n_cached_tokens` how much of it was served from a
    prefix cache rather than re-read, `n_tokens` the generated tokens.
    """

    text: str
    n_tokens: int
    n_prompt_tokens: int = 0
    n_cached_tokens: int = 0
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None
    finish_reason: str = "stop"
    seed: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", _frozen_map(self.meta))
        if self.token_ids is not None:
            object.__setattr__(self, "token_ids", tuple(self.token_ids))
        if self.logprobs is not None:
            object.__setattr__(self, "logprobs", tuple(map(float, self.logprobs)))

    @property
    def logprob(self) -> float | None:
        """Sum of per-token logprobs, when the backend reported them."""
        return None if self.logprobs is None else float(sum(self.logprobs))


USAGE_AXES: tuple[str, ...] = (
    "samples",
    "prompt_tokens",
    "cached_tokens",
    "generated_tokens",
    "verifier_calls",
    "verifier_tokens",
    "generator_flops",
    "verifier_flops",
    "wall_time",
    "price",
)


@dataclass(frozen=True)
class Usage:
    """The one ledger of compute spent (docs/architecture.md, "Contracts").

    `prompt_tokens` counts prefix tokens the backend had to read (cached ones excluded);
    `cached_tokens` counts prefix tokens served from a prefix cache. FLOPs are the usual
    2·params·tokens estimate (Kaplan et al. 2020), kept separately for generator and verifier.
    """

    samples: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    verifier_calls: int = 0
    verifier_tokens: int = 0
    generator_flops: float = 0.0
    verifier_flops: float = 0.0
    # wall time is a measurement, not a deterministic count: excluded from equality so that
    # "same seed => identical Result" holds while the time is still recorded
    wall_time: float = field(default=0.0, compare=False)
    price: float = 0.0

    def __add__(self, other: "Usage") -> "Usage":
        if not isinstance(other, Usage):
            return NotImplemented
        # positional, in field order (USAGE_AXES): the hottest record operation in a sweep
        a, b = self.__dict__, other.__dict__
        return Usage(*[a[k] + b[k] for k in USAGE_AXES])

    def __radd__(self, other: Any) -> "Usage":
        # lets sum(usages) work, whose start value is 0
        if other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: "Usage") -> "Usage":
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{a: getattr(self, a) - getattr(other, a) for a in USAGE_AXES})

    @property
    def total_tokens(self) -> int:
        """Tokens read or written by the generator: prompt (uncached) + generated."""
        return self.prompt_tokens + self.generated_tokens

    @property
    def flops(self) -> float:
        """Generator plus verifier FLOPs."""
        return self.generator_flops + self.verifier_flops

    def get(self, axis: str) -> float:
        """Value on a named axis: any field, or ``total_tokens`` / ``flops``."""
        if axis in ("total_tokens", "flops"):
            return getattr(self, axis)
        if axis not in USAGE_AXES:
            raise ValueError(f"unknown usage axis {axis!r}; valid: {sorted(USAGE_AXES + ('total_tokens', 'flops'))}")
        return getattr(self, axis)

    def as_dict(self) -> dict[str, float]:
        """All axes, derived ones included, as a flat dict (for frames)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["total_tokens"] = self.total_tokens
        d["flops"] = self.flops
        return d


def total_usage(usages: Sequence[Usage]) -> Usage:
    """Sum of a sequence of `Usage` records (the empty sum is zero usage)."""
    # column sums from 0 in sequence order: bit-identical to folding `+`, without a record per step
    zero = Usage().__dict__
    cols = [zero[k] for k in USAGE_AXES]
    for u in usages:
        d = u.__dict__
        cols = [c + d[k] for c, k in zip(cols, USAGE_AXES)]
    return Usage(*cols)


# Usage.__add__ builds records positionally from USAGE_AXES: the two orders must agree
if tuple(f.name for f in dataclasses.fields(Usage)) != USAGE_AXES:  # pragma: no cover - a definition error
    raise ImportError("itslab.types: USAGE_AXES must list Usage's fields in declaration order")
