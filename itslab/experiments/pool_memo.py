"""Generator wrappers a sweep puts around its generator: the per-unit pool memo (nested budgets share one
sample pool) and the engine counter (what the engine really generated, for the manifest)."""

from __future__ import annotations

import threading
import time
from typing import Sequence

from itslab.protocols import Generator, GeneratorWrapper
from itslab.types import Completion, Request


class PoolMemo(GeneratorWrapper):
    """Generator wrapper that remembers every request's samples and serves any prefix of them.

    Keyed by (prefix, sampling params, seed); a request for n samples where m ≥ n are known is
    served from memory; m < n generates n afresh (prefix-stable generators give the same first m).
    `calls` counts requests that reached the wrapped generator.
    """

    def __init__(self, generator: Generator) -> None:
        super().__init__(generator)
        self._memo: dict[tuple, list[Completion]] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.generated = 0

    @staticmethod
    def _key(r: Request) -> tuple:
        return (r.prefix, r.max_tokens, r.stop, r.temperature, r.top_p, r.top_k, r.seed, r.logprobs)

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        with self._lock:
            todo = [r for r in requests if len(self._memo.get(self._key(r), ())) < r.n]
        if todo:
            outs = self.inner.generate(todo)
            with self._lock:
                self.calls += len(todo)
                for r, cs in zip(todo, outs):
                    self.generated += len(cs)
                    self._memo[self._key(r)] = list(cs)
        with self._lock:
            return [list(self._memo[self._key(r)][: r.n]) if r.n else [] for r in requests]


class EngineCounter(GeneratorWrapper):
    """Generator wrapper counting what reached the engine: calls, samples, generated tokens, seconds.

    Rows report what each budget *would* have spent (nested budgets share one pool), so summing
    a frame's ``generated_tokens`` over-counts the work done; this counts it once, for throughput.
    Safe from several threads: `seconds` is the time at least one call was inside the engine, so
    calls that overlap (a continuously batching engine) are not counted twice.
    """

    def __init__(self, generator: Generator) -> None:
        super().__init__(generator)
        self.calls = self.samples = self.generated_tokens = 0
        self.seconds = 0.0
        self._lock, self._inside, self._since = threading.Lock(), 0, 0.0

    @property
    def admits_concurrent_calls(self) -> bool:  # type: ignore[override]
        """As the wrapped engine: counting is thread-safe."""
        return bool(getattr(self.inner, "admits_concurrent_calls", False))

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        with self._lock:
            if self._inside == 0:
                self._since = time.perf_counter()
            self._inside += 1
        try:
            outs = self.inner.generate(requests)
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self.seconds += time.perf_counter() - self._since
        with self._lock:
            self.calls += 1
            self.samples += sum(len(o) for o in outs)
            self.generated_tokens += sum(c.n_tokens for o in outs for c in o)
        return outs

    def stats(self) -> dict[str, float]:
        """Counts and engine throughput (generated tokens per second spent inside `generate`)."""
        return {
            "engine_calls": self.calls,
            "engine_samples": self.samples,
            "engine_generated_tokens": self.generated_tokens,
            "engine_seconds": round(self.seconds, 2),
            "engine_tokens_per_s": round(self.generated_tokens / max(self.seconds, 1e-9), 2),
        }
