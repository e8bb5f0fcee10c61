"""Results and their traces: what a strategy returns.

A `Result` holds the chosen answer, every candidate with its scores, the step-by-step trace
(particles, weights, ESS, ancestors, beams — whatever the strategy records in `StepRecord.info`),
and the total `Usage`. The same rng ⇒ an identical `Result` (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from itslab.types import Usage, total_usage
from itslab.types import freeze as _freeze


@dataclass(frozen=True)
class Candidate:
    """A finished solution the strategy considered: text, extracted answer, score(s)."""

    text: str
    answer: str | None = None
    score: float | None = None
    step_scores: tuple[float, ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", _freeze(self.meta))
        if self.step_scores is not None:
            object.__setattr__(self, "step_scores", tuple(float(s) for s in self.step_scores))


@dataclass(frozen=True)
class StepRecord:
    """One step of a strategy: what it spent (`usage`, this step only) and what it saw (`info`)."""

    step: int
    kind: str
    usage: Usage
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", _freeze(self.info))


@dataclass(frozen=True)
class Result:
    """What a strategy returns: answer, candidates, full trace, `Usage`, provenance.

    `usage` is the sum of the trace's per-step usage (checked at construction).
    """

    problem_id: str
    strategy: str
    answer: str | None
    candidates: tuple[Candidate, ...]
    trace: tuple[StepRecord, ...]
    usage: Usage
    hyper: Mapping[str, Any] = field(default_factory=dict)
    correct: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        object.__setattr__(self, "trace", tuple(self.trace))
        object.__setattr__(self, "hyper", _freeze(self.hyper))
        summed = total_usage([s.usage for s in self.trace])
        if self.trace and not _close(summed, self.usage):
            raise ValueError(f"Result.usage {self.usage} differs from the trace's sum {summed}")

    def to_frame(self):  # -> pandas.DataFrame
        """The trace as a tidy DataFrame: one row per step, per-step and cumulative usage.

        Columns: ``step``, ``kind``, every usage axis (this step), ``cum_<axis>`` (running
        total), and scalar entries of ``info``.
        """
        import pandas as pd

        rows, cum = [], Usage()
        for rec in self.trace:
            cum = cum + rec.usage
            row: dict[str, Any] = {
                "problem_id": self.problem_id,
                "strategy": self.strategy,
                "step": rec.step,
                "kind": rec.kind,
            }
            row.update(rec.usage.as_dict())
            row.update({f"cum_{k}": v for k, v in cum.as_dict().items()})
            row.update({k: v for k, v in rec.info.items() if isinstance(v, (int, float, str, bool)) or v is None})
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """A flat dict for one row of an experiment table."""
        out: dict[str, Any] = {
            "problem_id": self.problem_id,
            "strategy": self.strategy,
            "answer": self.answer,
            "correct": self.correct,
            "n_candidates": len(self.candidates),
            "n_steps": len(self.trace),
        }
        out.update(self.usage.as_dict())
        return out


def _close(a: Usage, b: Usage) -> bool:
    da, db = a.as_dict(), b.as_dict()
    return all(abs(da[k] - db[k]) <= 1e-9 * max(1.0, abs(da[k]), abs(db[k])) for k in da)
