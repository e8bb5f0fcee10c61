"""Cross-problem batching: many strategy runs, one engine call per round.

Strategies are plain sequential functions (docs/architecture.md), so a sweep that runs one problem at a
time hands an in-process engine only one problem's requests per call: 8 rows where the engine
could decode 40. `Coalescer` lets the runner execute K (problem, seed) units in K threads; each
`generate` call parks its requests, and when every live unit is parked the last one to arrive
sends the union to the wrapped generator in one call and hands each unit its share. Continuous
batching in vLLM (Kwon et al. 2023, "Efficient Memory Management for Large Language Model
Serving with PagedAttention") does the same inside a server; here it is done at the call level
so any `Generator` benefits. An engine that admits rows between its own decode steps
(``admits_concurrent_calls``: the in-process llama.cpp engine) is called directly instead; a round
waits for its longest row, which continuous admission does not.

Results do not depend on the grouping for generators that honour the contract (sample j of a
request depends only on its prefix, parameters, seed and j): the simulators and the HTTP
backends are exact; a batched float engine (transformers, llama.cpp) may differ in the last bits
of a logit with the batch's shape, as every batched engine does.
"""

from __future__ import annotations

import threading
from typing import Sequence

from itslab.protocols import Generator, GeneratorWrapper
from itslab.types import Completion, Request


class _Slot:
    __slots__ = ("requests", "out", "err", "done")

    def __init__(self, requests: list[Request]) -> None:
        self.requests = requests
        self.out: list[list[Completion]] | None = None
        self.err: BaseException | None = None
        self.done = False


class Coalescer(GeneratorWrapper):
    """A `Generator` shared by `n_workers` threads that merges their concurrent calls.

    A call returns once a batch containing it has run. A batch runs when every live worker is
    waiting in `generate` (so a worker busy scoring delays the batch rather than splitting it);
    each worker calls `leave()` when it has no more work, so the others never wait for it.
    `calls` counts batches sent to the wrapped generator, `requests` the requests in them.
    """

    def __init__(self, generator: Generator, n_workers: int) -> None:
        if n_workers < 1:
            raise ValueError(f"Coalescer.n_workers must be >= 1, got {n_workers}")
        super().__init__(generator)
        self._cv = threading.Condition()
        self._waiting: list[_Slot] = []
        self._active = n_workers
        self._busy = False
        self.calls = 0
        self.requests = 0

    def _ready(self) -> bool:
        return not self._busy and bool(self._waiting) and len(self._waiting) >= self._active

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """This worker's completions, generated in one batch with every other waiting worker's."""
        slot = _Slot(list(requests))
        with self._cv:
            self._waiting.append(slot)
            while not slot.done:
                if self._ready():
                    batch, self._waiting, self._busy = self._waiting, [], True
                    self._cv.release()
                    try:
                        self._run(batch)
                    finally:
                        self._cv.acquire()
                        self._busy = False
                        self._cv.notify_all()
                else:
                    self._cv.wait()
        if slot.err is not None:
            raise slot.err
        assert slot.out is not None  # done without an error means the batch filled it
        return slot.out

    def _run(self, batch: list[_Slot]) -> None:
        flat = [r for s in batch for r in s.requests]
        try:
            outs = self.inner.generate(flat) if flat else []
            if len(outs) != len(flat):
                raise RuntimeError(
                    f"{type(self.inner).__name__}.generate returned {len(outs)} lists for {len(flat)} requests"
                )
        except BaseException as e:  # every caller in the batch sees the failure, none hangs
            for s in batch:
                s.err, s.done = e, True
            return
        self.calls += 1
        self.requests += len(flat)
        i = 0
        for s in batch:
            s.out, s.done = [list(o) for o in outs[i : i + len(s.requests)]], True
            i += len(s.requests)

    def leave(self) -> None:
        """This worker is finished: later batches no longer wait for it."""
        with self._cv:
            self._active -= 1
            self._cv.notify_all()
