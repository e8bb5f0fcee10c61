"""The only place seeds become random generators.

Streams are derived with `numpy.random.SeedSequence`, so a problem's stream depends only on
(seed, problem id), never on which other problems ran or in what order, and is the same in
every process (the id is hashed with BLAKE2, not Python's salted `hash`).

>>> a = problem_rng(0, "gsm8k/12").integers(1 << 30); b = problem_rng(0, "gsm8k/12").integers(1 << 30)
>>> a == b
True
"""
from __future__ import annotations

import hashlib
from typing import Union

import numpy as np

SeedLike = Union[int, np.random.Generator, np.random.SeedSequence, None]


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A `numpy.random.Generator` from an int, a SeedSequence, a Generator (returned as is), or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """`n` independent child generators of `rng` (SeedSequence spawning; advances `rng`'s spawn counter only)."""
    return list(rng.spawn(n))


def _key(text: str) -> list[int]:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def problem_seed_sequence(seed: int, problem_id: str, *extra: str) -> np.random.SeedSequence:
    """The SeedSequence of (seed, problem id, *extra labels) — stable across processes and orderings."""
    entropy = [int(seed)] + _key(problem_id) + [w for e in extra for w in _key(e)]
    return np.random.SeedSequence(entropy)


def problem_rng(seed: int, problem_id: str, *extra: str) -> np.random.Generator:
    """The generator for one problem under one experiment seed (optionally one more label, e.g. a strategy)."""
    return np.random.default_rng(problem_seed_sequence(seed, problem_id, *extra))


def draw_seed(rng: np.random.Generator) -> int:
    """An integer seed for a backend request, drawn from `rng` (backends take ints, not Generators)."""
    return int(rng.integers(0, 2**31 - 1))
