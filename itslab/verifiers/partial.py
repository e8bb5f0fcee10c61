"""Score-returning evaluators with feedback: partial credit for tree and evolutionary search.

AB-MCTS (Inoue et al. 2025, arXiv:2503.04412) and Mind Evolution (Lee et al. 2025,
arXiv:2501.09891) need an evaluator that says *how close* a candidate is, and why, not only
whether it is right: the score steers the search, the feedback text goes into the next
refinement prompt. Both evaluators here are rules (one verifier call per text, no tokens) and
add ``feedback(problem, text) -> str`` to the `Verifier` protocol.

- `ConstraintScore`: the fraction of constraints a `RefineSimGenerator` sample meets (its
  ``Checks:`` line); feedback names the violated ones (a meeting-planning evaluator's report).
- `CountdownDistance`: Countdown's distance to the target, ``1 - min(1, |value - target| / target)``
  for an expression that uses exactly the given numbers, 0 otherwise; 1.0 exactly when correct.
- `MeetingConstraints`: the fraction of a meeting-scheduling instance's constraints the proposed
  slot keeps (0 when no slot can be read); feedback names each broken one in words.

>>> from itslab.tasks import load
>>> [p] = load("countdown", limit=1, difficulty=2, seed=0)
>>> v = CountdownDistance()
>>> v.score(p, [f"\\\\boxed{{{p.answer}}}"])
[(1.0,)]
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from itslab.protocols import Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, rule_cost

_CHECKS = re.compile(r"Checks: ([01]+)")


@dataclass(frozen=True)
class ConstraintScore:
    """Fraction of constraints met, read from the last ``Checks:`` line (0 when there is none)."""

    name: str = "constraint_score"

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """``(met / C,)`` per text."""
        return [(self._bits(t).count("1") / max(len(self._bits(t)), 1),) for t in as_texts(texts, "score")]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text, no tokens (a rule)."""
        return rule_cost(as_texts(texts, "cost"))

    def feedback(self, problem: Problem, text: str) -> str:
        """Which constraints the candidate violates, as an evaluator would report them."""
        bits = self._bits(text)
        bad = [str(i + 1) for i, c in enumerate(bits) if c == "0"]
        if not bits:
            return "No plan found in the answer."
        return "All constraints are met." if not bad else f"Constraints {', '.join(bad)} are violated."

    @staticmethod
    def _bits(text: str) -> str:
        found = _CHECKS.findall(text)
        return found[-1] if found else ""


def _value(expr: str) -> tuple[Fraction, list[int]] | None:
    from itslab.tasks.synthetic.countdown import _eval

    s = expr.replace("×", "*").replace("÷", "/").replace("\\times", "*").replace("\\div", "/")
    s = s.split("=")[0] if "=" in s else s
    try:
        used: list[int] = []
        return _eval(ast.parse(s.strip(), mode="eval"), used), used
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError, MemoryError, TypeError):
        return None


class _Assessed:
    """A rule verifier built on ``_assess(problem, text) -> (score, feedback)``: one call per text, no tokens."""

    def _assess(self, problem: Problem, text: str) -> tuple[float, str]:
        raise NotImplementedError

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Partial credit in [0, 1] per text; 1.0 exactly when the answer is right."""
        return [(self._assess(problem, t)[0],) for t in as_texts(texts, "score")]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text, no tokens (a rule)."""
        return rule_cost(as_texts(texts, "cost"))

    def feedback(self, problem: Problem, text: str) -> str:
        """What an evaluator would tell the model about its answer."""
        return self._assess(problem, text)[1]


@dataclass(frozen=True)
class CountdownDistance(_Assessed):
    """Countdown's partial credit: closeness of the expression's value to the target (module docstring)."""

    name: str = "countdown_distance"

    def _assess(self, problem: Problem, text: str) -> tuple[float, str]:
        from itslab.tasks.checking import answer_of

        numbers, target = list(problem.meta["numbers"]), int(problem.meta["target"])
        expr = answer_of(problem, text)
        got = None if expr is None else _value(expr)
        if got is None:
            return 0.0, f"No valid expression found. Give one expression that uses {numbers} to make {target}."
        value, used = got
        if sorted(used) != sorted(numbers):
            return 0.0, f"The expression uses {sorted(used)}, but it must use each of {numbers} exactly once."
        dist = abs(value - target)
        score = float(max(0.0, 1.0 - dist / target)) if target else float(dist == 0)
        if dist == 0:
            return 1.0, f"Correct: {expr} = {target}."
        return score, f"{expr} = {float(value):g}, which is {float(dist):g} away from {target}. Try again."


@dataclass(frozen=True)
class MeetingConstraints(_Assessed):
    """Meeting scheduling's partial credit: the fraction of constraints the proposed slot keeps (module docstring)."""

    name: str = "meeting_constraints"

    def _assess(self, problem: Problem, text: str) -> tuple[float, str]:
        from itslab.tasks.checking import answer_of
        from itslab.tasks.synthetic.scheduling import constraint_texts, parse_slot, slot_text, violations

        slot = parse_slot(answer_of(problem, text))
        rules = constraint_texts(problem.meta)
        if slot is None:
            return (
                0.0,
                "No slot found. Answer with a weekday and a start time between 9:00 and 16:00, e.g. Monday 9:00.",
            )
        bad = violations(problem.meta, slot)
        if not bad:
            return 1.0, f"{slot_text(slot)} meets every constraint."
        broken = "; ".join(rules[i] for i in bad)
        kept = 1.0 - len(bad) / len(rules)
        return kept, f"{slot_text(slot)} breaks {len(bad)} of {len(rules)} constraints: {broken}."
