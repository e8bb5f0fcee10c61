"""Constraint potentials on generated text, for SMC steering (Lew et al. 2023, arXiv:2306.03081;
Grand et al. 2025, DisCIPL, arXiv:2504.07081).

A potential φ maps a partial text to a log-weight: 0 where the constraint can still be met,
``-inf`` where it cannot (a hard constraint), anything finite for a soft one. ``finished`` says
whether the text is complete, so "exactly K words" accepts a prefix with at most K words but a
finished text only with K. The SMC target is p_LM(x) · exp(φ(x)); with the LM as the proposal an
extension's incremental weight is φ(new prefix) − φ(old prefix).

Potentials are named by a spec string (hyper-parameters stay plain, comparable values):

>>> satisfies("lipogram:e", "a dog ran"), satisfies("lipogram:e", "the cat")
(True, False)
>>> potential("words:3")("one two", finished=False), potential("words:3")("one two", finished=True)
(0.0, -inf)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

NEG_INF = -math.inf


@runtime_checkable
class Potential(Protocol):
    """A log-weight of a partial text: ``-inf`` for an infeasible prefix."""

    def __call__(self, text: str, finished: bool = False) -> float: ...


@dataclass(frozen=True)
class Constant:
    """A potential that never prefers one text over another: SMC with it is plain sampling."""

    value: float = 0.0

    def __call__(self, text: str, finished: bool = False) -> float:
        return self.value


@dataclass(frozen=True)
class Lipogram:
    """No occurrence of `letter` (either case): a prefix containing it can never recover."""

    letter: str = "e"

    def __call__(self, text: str, finished: bool = False) -> float:
        return NEG_INF if self.letter.lower() in text.lower() else 0.0


@dataclass(frozen=True)
class WordCount:
    """Exactly `k` whitespace-separated words: a prefix may hold at most k, a finished text exactly k."""

    k: int

    def __call__(self, text: str, finished: bool = False) -> float:
        n = len(text.split())
        return 0.0 if (n == self.k if finished else n <= self.k) else NEG_INF


_SENTENCE = re.compile(r"(?:^|[.!?]\s+)\W*(\w)")


@dataclass(frozen=True)
class SentenceInitial:
    """Every sentence starts with `letter` (either case); a sentence starts the text or follows
    ``.``, ``!`` or ``?`` and whitespace, and its first word character is checked."""

    letter: str

    def __call__(self, text: str, finished: bool = False) -> float:
        ok = all(m.group(1).lower() == self.letter.lower() for m in _SENTENCE.finditer(text))
        return 0.0 if ok else NEG_INF


# spec name -> constructor from the text after the colon
CONSTRAINTS: dict[str, Callable[[str], Potential]] = {
    "constant": lambda arg: Constant(float(arg) if arg else 0.0),
    "lipogram": lambda arg: Lipogram(arg or "e"),
    "words": lambda arg: WordCount(int(arg)),
    "initial": lambda arg: SentenceInitial(arg),
}


def potential(spec: str | Potential) -> Potential:
    """The potential named by `spec` (``"lipogram:e"``, ``"words:12"``, ``"initial:s"``,
    ``"constant"``), or `spec` itself when it is already a potential."""
    if not isinstance(spec, str):
        if callable(spec):
            return spec
        raise TypeError(f"a constraint is a spec string or a potential, got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    if name not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {spec!r}; valid: {', '.join(sorted(CONSTRAINTS))} (e.g. 'lipogram:e')")
    try:
        pot = CONSTRAINTS[name](arg)
    except ValueError:
        raise ValueError(f"constraint {spec!r}: bad argument {arg!r}") from None
    if isinstance(pot, (Lipogram, SentenceInitial)) and len(pot.letter) != 1:
        raise ValueError(f"constraint {spec!r}: needs one letter, got {arg!r}")
    if isinstance(pot, WordCount) and pot.k < 0:
        raise ValueError(f"constraint {spec!r}: the word count must be >= 0")
    return pot


def satisfies(spec: str | Potential, text: str) -> bool:
    """Whether a finished `text` meets the constraint (its potential is finite)."""
    return math.isfinite(potential(spec)(text, finished=True))
