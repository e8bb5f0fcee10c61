"""Probe-based early exit replayed on recorded probes (Dynasor-CoT / Certaindex, Fu et al., arXiv:2412.20993).

A trace recorded with a probe every k tokens and run to its end (``probe_early_exit`` with a window
no trace can fill) holds every exit rule with an interval m·k: probes m-1, 2m-1, ... are the ones
that rule makes, at the same positions of the same trace. So one recording gives the whole
(interval, window) grid, as Dynasor's own evaluation does (benchmark/TokenDeprivation). Probe
answers come as class ids (one id per equivalent answer; -1 for a probe that stated none or
hesitated), so agreement is an integer comparison.

- `exit_index`     the first probe at which the last `window` probes agree (Certaindex's rule)
- `replay`         per trace: thinking tokens, probe tokens, correctness and whether it exited
- `forced_answer`  the answer probed at a token budget (token deprivation: the baseline curve)

>>> rec = ProbeRecord.from_lists([300], [True], [[100, 200]], [[-1, 4]], [[5, 5]], [[False, True]])
>>> r = replay(rec, every=1, window=1)
>>> int(r.think[0]), int(r.probe[0]), bool(r.correct[0]), bool(r.exited[0])
(200, 10, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class ProbeRecord:
    """Recorded traces: per trace its full length and correctness, and its probes in order."""

    think: np.ndarray  # [T] thinking tokens of the trace run to its end (or the cap)
    correct: np.ndarray  # [T] whether the trace's own answer is right
    positions: tuple[np.ndarray, ...]  # per trace: thinking tokens read at each probe
    ids: tuple[np.ndarray, ...]  # per trace: answer class of each probe (-1: none, or hesitant)
    probe_tokens: tuple[np.ndarray, ...]  # per trace: tokens each probe decoded
    probe_correct: tuple[np.ndarray, ...]  # per trace: whether each probe's answer is right

    @classmethod
    def from_lists(
        cls,
        think: Sequence[int],
        correct: Sequence[bool],
        positions: Sequence[Sequence[int]],
        ids: Sequence[Sequence[int]],
        probe_tokens: Sequence[Sequence[int]],
        probe_correct: Sequence[Sequence[bool]],
    ) -> "ProbeRecord":
        """A record from per-trace lists (all of one length per trace), checked."""
        cols = [positions, ids, probe_tokens, probe_correct]
        if not len(think) == len(correct) == len(positions) == len(ids) == len(probe_tokens) == len(probe_correct):
            raise ValueError(f"ProbeRecord: {len(think)} traces but per-trace lists of {[len(c) for c in cols]}")
        for t, row in enumerate(zip(*cols)):
            if len({len(x) for x in row}) > 1:
                raise ValueError(f"ProbeRecord: trace {t} has probe lists of lengths {[len(x) for x in row]}")
        return cls(
            np.asarray(think, float),
            np.asarray(correct, bool),
            *(tuple(np.asarray(x, dtype) for x in c) for c, dtype in zip(cols, (float, int, float, bool))),
        )

    def __len__(self) -> int:
        return len(self.think)


@dataclass(frozen=True)
class ExitReplay:
    """Per trace under one exit rule: thinking and probe tokens spent, correctness, whether it exited."""

    think: np.ndarray
    probe: np.ndarray
    correct: np.ndarray
    exited: np.ndarray

    @property
    def tokens(self) -> np.ndarray:
        """Decoded tokens per trace: thinking plus probes."""
        return self.think + self.probe


def exit_index(ids: np.ndarray, window: int) -> int | None:
    """Index of the first probe at which the last `window` probes share one class id >= 0 (None: never)."""
    if window < 1:
        raise ValueError(f"exit_index: window must be >= 1, got {window}")
    run, prev = 0, None
    for i, a in enumerate(np.asarray(ids, int).tolist()):
        run = 0 if a < 0 else (run + 1 if a == prev else 1)
        prev = a
        if run >= window:
            return i
    return None


def replay(record: ProbeRecord, every: int, window: int) -> ExitReplay:
    """Probe every `every`-th recorded probe, exit at `window` agreeing ones (module docstring)."""
    if every < 1:
        raise ValueError(f"replay: every must be >= 1, got {every}")
    n = len(record)
    think, probe = record.think.copy(), np.zeros(n)
    correct, exited = record.correct.copy(), np.zeros(n, bool)
    for t in range(n):
        sel = slice(every - 1, None, every)
        ids, tok = record.ids[t][sel], record.probe_tokens[t][sel]
        j = exit_index(ids, window)
        if j is None:
            probe[t] = tok.sum()
            continue
        think[t], probe[t] = record.positions[t][sel][j], tok[: j + 1].sum()
        correct[t], exited[t] = record.probe_correct[t][sel][j], True
    return ExitReplay(think, probe, correct, exited)


def forced_answer(record: ProbeRecord, budget: float) -> ExitReplay:
    """Stop every trace at `budget` thinking tokens and answer with the probe made there (traces that
    finish first answer themselves); `budget` must be a recorded probe position or beyond the traces."""
    n = len(record)
    think, probe = np.minimum(record.think, budget), np.zeros(n)
    correct, exited = record.correct.copy(), np.zeros(n, bool)
    for t in range(n):
        if record.think[t] <= budget:
            continue
        hit = np.flatnonzero(record.positions[t] == budget)
        if not len(hit):
            raise ValueError(f"forced_answer: trace {t} has no probe at {budget} tokens")
        i = int(hit[0])
        probe[t], correct[t], exited[t] = record.probe_tokens[t][i], record.probe_correct[t][i], True
    return ExitReplay(think, probe, correct, exited)
