"""Countdown and the Game of 24, with an exact solver that certifies every generated instance.

Countdown (as used for reasoning search in TinyZero / Stream-of-Search, Gandhi et al. 2024):
combine all the given numbers, each exactly once, with ``+ - * /`` to reach a target. The Game
of 24 (Tree of Thoughts, Yao et al. 2023) is the case of four numbers in 1-13 and target 24.
Intermediate results may be fractions (Game-of-24 rules), computed exactly with `Fraction`.

Difficulty: Countdown uses ``difficulty + 1`` numbers (difficulty 1: "use 3 and 5 to make 8");
the Game of 24 bands instances by how many derivations reach 24 (1 = many, 5 = very few).

>>> solve([4, 6], 24)
'4*6'
>>> check_expression("(8 - 4) * 6", [4, 6, 8], 24)
True
"""

from __future__ import annotations

import ast
import re
import warnings
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np

from itslab.tasks.answers import extract_answer
from itslab.tasks.synthetic._common import check_difficulty, check_n, make_problem
from itslab.types import Problem

_OPS = ("+", "-", "*", "/")


def _combine(a: Fraction, b: Fraction) -> list[tuple[Fraction, str, bool]]:
    """Values of ``a op b`` and ``b op a`` with the operator and whether operands are swapped."""
    out = [(a + b, "+", False), (a * b, "*", False), (a - b, "-", False), (b - a, "-", True)]
    if b != 0:
        out.append((a / b, "/", False))
    if a != 0:
        out.append((b / a, "/", True))
    return out


def _search(items: tuple[tuple[Fraction, str], ...], target: Fraction) -> str | None:
    """Depth-first search over pair merges; the first expression reaching `target`, or None."""
    if len(items) == 1:
        return items[0][1] if items[0][0] == target else None
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            rest = items[:i] + items[i + 1 : j] + items[j + 1 :]
            (a, ea), (b, eb) = items[i], items[j]
            for v, op, swap in _combine(a, b):
                found = _search(rest + ((v, f"({eb}{op}{ea})" if swap else f"({ea}{op}{eb})"),), target)
                if found:
                    return found
    return None


def solve(numbers: Sequence[int], target: int) -> str | None:
    """An expression using every number exactly once that equals `target`, or None if there is none."""
    expr = _search(tuple((Fraction(x), str(x)) for x in numbers), Fraction(target))
    if expr is None:
        return None
    expr = expr[1:-1] if expr.startswith("(") and len(numbers) > 1 else expr
    return expr


def count_solutions(numbers: Sequence[int], target: int) -> int:
    """Number of derivations (ordered pair merges) reaching `target`: a proxy for how easy an instance is.

    Counted in floating point (within 1e-9) for speed: it only ranks difficulty; solvability
    itself is certified exactly by `solve` and `check_expression`.
    """
    return _count(tuple(sorted(float(x) for x in numbers)), float(target))


@lru_cache(maxsize=1 << 16)
def _count(values: tuple[float, ...], target: float) -> int:
    # memoised on the sorted multiset of values: many merge orders reach the same state
    if len(values) == 2:
        a, b = values
        outs = [a + b, a * b, a - b, b - a] + ([a / b] if b else []) + ([b / a] if a else [])
        return sum(abs(v - target) < 1e-9 for v in outs)
    total = 0
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            rest = values[:i] + values[i + 1 : j] + values[j + 1 :]
            a, b = values[i], values[j]
            outs = [a + b, a * b, a - b, b - a] + ([a / b] if b else []) + ([b / a] if a else [])
            for v in outs:
                total += _count(tuple(sorted(rest + (round(v, 12),))), target)
    return total


@lru_cache(maxsize=4096)
def _reachable(numbers: tuple[int, ...]) -> frozenset[Fraction]:
    """All values of expressions using every number of the multiset exactly once."""
    if len(numbers) == 1:
        return frozenset({Fraction(numbers[0])})
    out: set[Fraction] = set()
    n = len(numbers)
    for mask in range(1, (1 << n) - 1):
        if mask & 1 == 0:  # each split once: the first number always goes left
            continue
        left = tuple(sorted(numbers[i] for i in range(n) if mask >> i & 1))
        right = tuple(sorted(numbers[i] for i in range(n) if not mask >> i & 1))
        for a in _reachable(left):
            for b in _reachable(right):
                out.update(v for v, _, _ in _combine(a, b))
    return frozenset(out)


_ALLOWED = (ast.Expression, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Constant)


def _eval(node: ast.AST, used: list[int]) -> Fraction:
    if isinstance(node, ast.Expression):
        return _eval(node.body, used)
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _eval(node.left, used), _eval(node.right, used)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return a / b  # ZeroDivisionError is caught by the caller
    raise ValueError(f"disallowed syntax: {type(node).__name__}")


def expression_key(expr: str) -> tuple[Fraction, tuple[int, ...]] | None:
    """``(value, sorted numbers used)`` of an arithmetic expression written as models write them
    (LaTeX operators, brackets, one side of an ``=``), or None when it is not one.

    Two expressions with the same key are the same answer to a Countdown problem: the same numbers
    combined to the same value, so they are valid or invalid together (``(8-4)*6`` and ``6*(8-4)``,
    or any two solutions). Voting groups answers by it (`itslab.tasks.same_answer`), which needs no
    gold: the key is read off the expression alone.
    """
    if not isinstance(expr, str) or len(expr) > 200:
        return None
    s = expr.replace("\\times", "*").replace("\\cdot", "*").replace("\\div", "/").replace("×", "*")
    s = s.replace("÷", "/").replace("\\left", "").replace("\\right", "").replace("$", "")
    s = s.replace("{", "(").replace("}", ")").replace("[", "(").replace("]", ")")
    if "=" in s:  # "(8-4)*6 = 24" or "24 = (8-4)*6": keep the side that has operators
        sides = [p for p in s.split("=") if re.search(r"[-+*/]", p)]
        if len(sides) != 1:
            return None
        s = sides[0]
    try:
        used: list[int] = []
        with warnings.catch_warnings():  # "1.5.2" and the like: not an expression, no warning to print
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(s.strip(), mode="eval")
        value = _eval(tree, used)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError, MemoryError, TypeError):
        return None
    return value, tuple(sorted(used))


def check_expression(expr: str, numbers: Sequence[int], target: int) -> bool:
    """Whether `expr` uses exactly the given numbers (each once) with + - * / and equals `target`. Never raises."""
    key = expression_key(expr)
    return key is not None and key == (target, tuple(sorted(numbers)))


_EXPR_TAIL = re.compile(r"[\d(][\d\s+\-*/().×÷]*$")


def candidate_expressions(problem: Problem, text: str) -> list[str | None]:
    """Where a Countdown answer may stand in `text`: the extracted answer first, then the expression
    left of ``= target`` on the last line that has one."""
    target = problem.meta["target"]
    cands = [extract_answer(text)]
    for line in reversed(str(text).splitlines()):
        if re.search(rf"=\s*\$?{target}\b", line):
            lhs = line.rsplit("=", 1)[0]
            m = _EXPR_TAIL.search(lhs.rstrip())
            cands += [lhs] + ([m.group(0)] if m else [])
            break
    return cands


def _question(numbers: Sequence[int], target: int) -> str:
    nums = ", ".join(str(x) for x in numbers[:-1]) + f" and {numbers[-1]}"
    return (
        f"Use the numbers {nums}, each exactly once, with +, -, * and / (and parentheses) "
        f"to make {target}. Give the expression as your answer."
    )


def _problem(task: str, i: int, difficulty: int, numbers: list[int], target: int, template: str | None) -> Problem:
    expr = solve(numbers, target)
    if expr is None or not check_expression(expr, numbers, target):  # the certificate
        raise AssertionError(f"uncertified instance {numbers} -> {target}")
    solution = f"{expr} = {target}"
    return make_problem(
        task,
        i,
        difficulty,
        _question(numbers, target),
        expr,
        solution,
        {
            "numbers": tuple(numbers),
            "target": target,
            "checker": "countdown",
            "n_derivations": count_solutions(numbers, target),
        },
        template,
    )


def countdown(
    n: int, *, difficulty: int = 1, rng: np.random.Generator, max_target: int = 100, template: str | None = None
) -> list[Problem]:
    """`n` Countdown instances with ``difficulty + 1`` numbers (difficulty 1-4).

    Targets are drawn from the values reachable with all the numbers, so every instance is solvable.
    """
    check_n(n)
    check_difficulty(difficulty, 1, 4)
    hi = 10 if difficulty <= 2 else 25
    out: list[Problem] = []
    while len(out) < n:
        numbers = sorted(int(x) for x in rng.integers(1, hi + 1, size=difficulty + 1))
        targets = sorted(
            int(v)
            for v in _reachable(tuple(numbers))
            if v.denominator == 1 and 1 <= v <= max_target and int(v) not in numbers
        )
        if targets:
            target = targets[int(rng.integers(len(targets)))]
            out.append(_problem("countdown", len(out), difficulty, numbers, target, template))
    return out


# derivation-count bands for the Game of 24 (difficulty 1 = most derivations); chosen so the five
# bands split the solvable quadruples of 1..13 roughly into quintiles
GAME24_BANDS: tuple[tuple[int, int], ...] = ((35, 10**9), (17, 34), (10, 16), (6, 9), (1, 5))


def game24(
    n: int, *, difficulty: int = 3, rng: np.random.Generator, template: str | None = None, max_tries: int = 100_000
) -> list[Problem]:
    """`n` solvable Game-of-24 instances (four numbers in 1-13) in the derivation-count band `difficulty` (1-5)."""
    check_n(n)
    check_difficulty(difficulty, 1, 5)
    lo, hi = GAME24_BANDS[difficulty - 1]
    out: list[Problem] = []
    for _ in range(max_tries):
        if len(out) >= n:
            break
        numbers = tuple(sorted(int(x) for x in rng.integers(1, 14, size=4)))
        if lo <= count_solutions(numbers, 24) <= hi:
            out.append(_problem("game24", len(out), difficulty, list(numbers), 24, template))
    if len(out) < n:
        raise RuntimeError(f"found only {len(out)} of {n} Game-of-24 instances at difficulty {difficulty}")
    return out
