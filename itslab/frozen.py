"""A read-only, picklable mapping for the meta/info fields of frozen records.

`types.MappingProxyType` would do, but it cannot be pickled or deep-copied, and results must
cross process boundaries (Ray, the sample store) intact.
"""
from __future__ import annotations

from typing import Any, Mapping


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
