"""The only place seeds become random generators.

Streams are derived with `numpy.random.SeedSequence`, so a problem's stream depends only on
(seed, problem id), never on which other problems ran or in what order, and is the same in
every process (the id is hashed with BLAKE2, not Python's salted `hash`).

>>> a = problem_rng(0, "gsm8k/12").integers(1 << 30); b = problem_rng(0, "gsm8k/12").integers(1 << 30)
>>> a == b
True
"""

from __future__ import annotations

import functools
import hashlib
from statistics import NormalDist
from typing import Any, Union

import numpy as np

SeedLike = Union[int, np.random.Generator, np.random.SeedSequence, None]


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A `numpy.random.Generator` from an int, a SeedSequence, a Generator (returned as is), or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def problem_seed_sequence(seed: int, problem_id: str, *extra: str) -> np.random.SeedSequence:
    """The SeedSequence of (seed, problem id, *extra labels) — stable across processes and orderings."""
    entropy = [int(seed), *_key(problem_id), *(w for e in extra for w in _key(e))]
    if 0 <= entropy[0] < 1 << 32:
        # the same words as the list (every entry fits in 32 bits), so the same stream; numpy
        # coerces an uint32 array ~4x faster than a list of ints, and simulators build one per request
        return np.random.SeedSequence(np.array(entropy, dtype=np.uint32))
    return np.random.SeedSequence(entropy)


def problem_rng(seed: int, problem_id: str, *extra: str) -> np.random.Generator:
    """The generator for one problem under one experiment seed (optionally one more label, e.g. a strategy)."""
    return np.random.default_rng(problem_seed_sequence(seed, problem_id, *extra))


def draw_seed(rng: np.random.Generator) -> int:
    """An integer seed for a backend request, drawn from `rng` (backends take ints, not Generators)."""
    return int(rng.integers(0, 2**31 - 1))


def sample_uniforms(seed: int, j: int, n_steps: int) -> np.ndarray:
    """The uniforms that drive sample `j` of a request with `seed`, one per generated token.

    Every sampling backend draws token t of sample j with the t-th of these, so a sample depends
    only on (seed, j), never on the batch it runs in, and the first k of n samples are the same
    for every n >= k.
    """
    if seed < 0:
        raise ValueError(f"Request.seed must be >= 0, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(j)])).random(n_steps)


def inverse_cdf(cdf: np.ndarray, u: float | np.ndarray) -> Any:
    """Inverse-CDF draws: for each uniform in `u`, the first index whose cumulative weight exceeds
    ``u * cdf[-1]`` (`cdf` need not end at 1). An int for a scalar `u`, an index array otherwise.

    The target is kept strictly below the total, so a draw never lands on a zero-weight category
    at the end, even for u = 1 or when ``u * total`` rounds up to the total.

    >>> int(inverse_cdf(np.cumsum([0.5, 0.3, 0.2]), 0.6)), int(inverse_cdf(np.cumsum([0.5, 0.5, 0.0]), 1.0))
    (1, 1)
    """
    total = cdf[-1]
    v = np.minimum(np.asarray(u, dtype=np.float64) * total, total * (1 - 1e-12))
    return np.minimum(np.searchsorted(cdf, v, side="right"), len(cdf) - 1)


_STD_NORMAL = NormalDist()


def keyed_uniform(seed: int, *labels: str) -> float:
    """A uniform draw in (0, 1) that is a pure function of (seed, labels), stable across processes.

    For simulated noise attached to an object (a verifier's score of one text): one BLAKE2 hash,
    about 20x cheaper than building a `Generator` for a single draw, and as order-independent as
    `problem_rng` (distinct labels give independent-looking draws; the hash is not salted).
    """
    h = hashlib.blake2b(int(seed).to_bytes(8, "little", signed=True), digest_size=8)
    for label in labels:
        b = label.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))  # length-prefixed: ("ab", "c") != ("a", "bc")
        h.update(b)
    return ((int.from_bytes(h.digest(), "little") >> 11) + 0.5) / float(1 << 53)


def keyed_normal(seed: int, *labels: str) -> float:
    """A standard normal draw that is a pure function of (seed, labels) (inverse CDF of `keyed_uniform`)."""
    return _STD_NORMAL.inv_cdf(keyed_uniform(seed, *labels))
