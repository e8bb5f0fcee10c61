"""Serial search against adaptive parallel reasoning under a context limit: a toy model (notebook 14).

APR (Pan et al. 2025, "Learning Adaptive Parallel Reasoning with Language Models", arXiv:2504.15466)
lets a parent thread `spawn()` child threads that search parts of the tree in their own context
windows and `join()` back a short result. On Countdown it reaches 83.4 % where serialized search
(SoS+) reaches 60.0 % within a 4K context (abstract). The toy keeps only that mechanism: a
search explores candidate paths of `path_tokens` tokens, each succeeding with the problem's
probability q ~ Beta(a, b); a serial search fits ``(context - prompt) / path_tokens`` paths in one
window; APR's parent spends ``spawn_tokens + join_tokens`` of its window per child and each child
fits ``(context - child_prompt) / path_tokens`` paths in its own. Success is 1 - E[(1 - q)^N] in
closed form (a Beta mixture). The Beta is calibrated so that serial search gives 60.0 % at 4K;
the learned policy of APR (when and how wide to spawn) is not modelled: `n_children` is given.
Latency counts decode steps on the critical path: the parent plus its longest child.

>>> m = calibrated()
>>> round(success(m, serial_paths(m, 4096)), 3)
0.6
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq
from scipy.special import betaln

PAPER = {"serial_4k": 0.600, "apr_4k": 0.834, "serial_20k_tokens": 0.666, "apr_20k_tokens": 0.801}


@dataclass(frozen=True)
class SearchModel:
    """Toy search costs (tokens) and the Beta(a, b) of a path's success probability."""

    a: float = 0.5
    b: float = 10.0
    prompt_tokens: int = 100
    path_tokens: int = 200
    child_prompt_tokens: int = 60
    spawn_tokens: int = 40
    join_tokens: int = 40


def success(m: SearchModel, n_paths: float | np.ndarray) -> float | np.ndarray:
    """P(at least one of `n_paths` explored paths succeeds) = 1 - B(a, b + N) / B(a, b)."""
    n = np.maximum(np.asarray(n_paths, dtype=float), 0.0)
    out = 1.0 - np.exp(betaln(m.a, m.b + n) - betaln(m.a, m.b))
    return float(out) if out.ndim == 0 else out


def serial_paths(m: SearchModel, context: int) -> int:
    """Paths one serial search fits in a window of `context` tokens."""
    return max(0, (context - m.prompt_tokens) // m.path_tokens)


def apr_paths(m: SearchModel, context: int, n_children: int) -> int:
    """Paths APR explores: the children the parent's window can spawn and join, each filling its own window."""
    room = (context - m.prompt_tokens) // (m.spawn_tokens + m.join_tokens)
    return min(n_children, max(0, room)) * max(0, (context - m.child_prompt_tokens) // m.path_tokens)


def latency_tokens(m: SearchModel, context: int, n_children: int | None = None) -> int:
    """Decode steps on the critical path: the serial thread, or APR's parent plus its longest child."""
    if n_children is None:
        return serial_paths(m, context) * m.path_tokens
    k = min(n_children, (context - m.prompt_tokens) // (m.spawn_tokens + m.join_tokens))
    return k * (m.spawn_tokens + m.join_tokens) + ((context - m.child_prompt_tokens) // m.path_tokens) * m.path_tokens


def calibrated(target: float = PAPER["serial_4k"], context: int = 4096, **fields: float) -> SearchModel:
    """A `SearchModel` whose serial search succeeds with probability `target` at `context` (b solved)."""
    m = replace(SearchModel(), **fields)  # type: ignore[arg-type]
    n = serial_paths(m, context)
    b = brentq(lambda b: success(replace(m, b=b), n) - target, 1e-3, 1e6)
    return replace(m, b=float(b))


def simulate(
    m: SearchModel, context: int, n_children: int, n_problems: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem success of serial search and of APR on the same problems (q drawn once, then each
    path a Bernoulli(q); APR's first paths are the serial search's, so the comparison is paired)."""
    q = rng.beta(m.a, m.b, n_problems)
    n_s, n_a = serial_paths(m, context), apr_paths(m, context, n_children)
    first = rng.geometric(np.clip(q, 1e-12, 1.0))  # index of the first successful path (1-based)
    return first <= n_s, first <= n_a
