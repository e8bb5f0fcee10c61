"""Rule-based exact step verifiers for the synthetic step tasks, and PRMs of set quality built on them.

On the synthetic tasks the label a process reward model (Lightman et al. 2023, arXiv:2305.20050)
tries to learn can be computed exactly, so step search can run on a real model with a PRM whose
quality is known.

- `judge_steps` evaluates each step's equations exactly (`Fraction` through a whitelisted `ast`, no
  eval) and tracks whether the solution can still reach the answer (arithmetic chains: the running
  total; Countdown: the numbers left can still make the target), as Math-Shepherd's labels do.
- `RuleStepVerifier`: the exact PRM, 1.0 / 0.0 per step, at a rule-based cost (no tokens).
- `LengthBiasedPRM`: that oracle degraded to a set per-step ROC AUC plus a length bias (a step's
  logit moves by ``length_bias · log2(tokens / ref_tokens)``; Zheng et al. 2025, arXiv:2507.15698).

The rules in full, and what is not covered, are in docs/methods.md (rule-based step verifiers).
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from itslab.budget import CostModel
from itslab.protocols import STEP_DELIMITER, Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import approx_tokens, as_texts, rule_cost, split_steps
from itslab.verifiers.noisy import NoisyProcessVerifier

_LATEX = (("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"), ("×", "*"), ("÷", "/"), ("$", ""))
_LHS_TAIL = re.compile(r"[\d(][\d\s+\-*/().]*$")
_RHS_HEAD = re.compile(r"\s*(-?\d+(?:\.\d+)?(?:/\d+)?)(?![\d.]*\d)")
_HASH = re.compile(r"####\s*([^\n]+)")
_BINOPS = {
    ast.Add: Fraction.__add__,
    ast.Sub: Fraction.__sub__,
    ast.Mult: Fraction.__mul__,
    ast.Div: Fraction.__truediv__,
}


@dataclass(frozen=True)
class Equation:
    """One ``expression = value`` claim in a step: its text, operand leaves, both sides' exact values."""

    text: str
    leaves: tuple[Fraction, ...]
    lhs: Fraction | None  # None: division by zero
    rhs: Fraction


@dataclass(frozen=True)
class StepJudgement:
    """The verdict on one step: `valid` (its equations hold, its operands exist), `reachable` (the
    target can still be reached after it), `ok` = both and no earlier step failed; `reason` if not ok."""

    valid: bool
    reachable: bool
    ok: bool
    reason: str = ""


def _evaluate(node: ast.AST, leaves: list[Fraction]) -> Fraction:
    """Exact value of a whitelisted expression (numbers, + - * /, parentheses); its leaves appended."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, leaves)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        leaves.append(Fraction(repr(node.value)))
        return leaves[-1]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _evaluate(node.left, leaves), _evaluate(node.right, leaves)
        return _BINOPS[type(node.op)](a, b)
    raise ValueError(f"disallowed syntax {type(node).__name__}")


def parse_equations(step: str) -> list[Equation]:
    """The ``expression = value`` claims of `step`, left to right; a left side needs an operator.

    >>> [(e.text, e.lhs == e.rhs) for e in parse_equations("Tom buys 4 more, so 3 + 4 = 8 apples.")]
    [('3 + 4 = 8', False)]
    """
    s = str(step)
    for a, b in _LATEX:
        s = s.replace(a, b)
    out = []
    for m in re.finditer("=", s):
        tail, head = _LHS_TAIL.search(s[: m.start()].rstrip()), _RHS_HEAD.match(s, m.end())
        if tail is None or head is None:
            continue
        lhs = tail.group(0).strip()
        while lhs.count("(") > lhs.count(")") and lhs.startswith("("):  # "(so 3 + 4 = 7)"
            lhs = lhs[1:].lstrip()
        if not re.search(r"\d\s*[-+*/]", lhs) or len(lhs) > 200:
            continue
        leaves: list[Fraction] = []
        try:
            value: Fraction | None = _evaluate(ast.parse(lhs, mode="eval"), leaves)
        except ZeroDivisionError:
            value = None
        except (SyntaxError, ValueError, RecursionError):
            continue
        out.append(Equation(f"{lhs} = {head.group(1)}", tuple(leaves), value, Fraction(head.group(1))))
    return out


def _final_answer(step: str) -> str | None:
    from itslab.tasks.answers import last_boxed

    boxed = last_boxed(step)
    if boxed:
        return boxed
    hashes = _HASH.findall(step)
    return hashes[-1].strip() if hashes else None


@functools.lru_cache(maxsize=1 << 16)
def can_make(numbers: tuple[Fraction, ...], target: Fraction) -> bool:
    """Whether + - * / over all of `numbers` (each once, any order) can make `target`; exact, memoised.

    >>> can_make((Fraction(4), Fraction(6)), Fraction(24)), can_make((Fraction(4), Fraction(5)), Fraction(24))
    (True, False)
    """
    if len(numbers) == 1:
        return numbers[0] == target
    if len(numbers) > 6:
        raise ValueError(f"can_make searches at most 6 numbers, got {len(numbers)}")
    for i in range(len(numbers)):
        for j in range(i + 1, len(numbers)):
            rest = numbers[:i] + numbers[i + 1 : j] + numbers[j + 1 :]
            a, b = numbers[i], numbers[j]
            outs = {a + b, a * b, a - b, b - a} | ({a / b} if b else set()) | ({b / a} if a else set())
            if any(can_make(tuple(sorted(rest + (v,))), target) for v in outs):
                return True
    return False


def _fmt(xs: Sequence[Fraction]) -> str:
    return ", ".join(str(x) for x in xs)


def _chain(problem: Problem) -> list[Fraction]:
    """The running totals v_0 (stated in the question), v_1, …, v_d of an arithmetic problem."""
    m = re.match(r"\s*\w+ has (\d+) ", str(problem.meta.get("question", "")))
    if m is None:
        raise ValueError(f"problem {problem.id!r}: no starting amount ('<name> has N ...') in its question")
    return [Fraction(m.group(1))] + [Fraction(v) for v in problem.meta["values"]]


def _kind(problem: Problem) -> str:
    meta = problem.meta
    if meta.get("checker") == "countdown" and "numbers" in meta and "target" in meta:
        return "countdown"
    if "values" in meta and "question" in meta:
        return "arithmetic"
    raise ValueError(
        f"problem {problem.id!r} is not a synthetic arithmetic or countdown problem "
        f"(source {meta.get('source')!r}; needs meta 'values' or 'numbers'/'target')"
    )


def _arithmetic_step(chain: list[Fraction], j: int, eqs: list[Equation]) -> tuple[int, str, bool]:
    """(new position on the chain, reason if not ok, whether the arithmetic was valid)."""
    for e in eqs:
        if e.lhs != e.rhs:
            return j, f"false equation {e.text}", False
        later = [m for m in range(j + 1, len(chain)) if chain[m] == e.rhs]
        if later:
            j = later[0]
        elif e.rhs not in chain[: j + 1]:
            return j, f"{e.text} leaves the chain: the running total is {chain[j]}, next {chain[j + 1 : j + 2]}", True
    return j, "", True


def _countdown_step(state: list[Fraction], original: Counter, eqs: list[Equation]) -> tuple[list[Fraction], str, bool]:
    """(numbers left, reason if invalid, valid)."""
    for e in eqs:
        if e.lhs != e.rhs:
            return state, f"false equation {e.text}", False
        need, have = Counter(e.leaves), Counter(state)
        if need <= have:
            state = sorted((have - need).elements()) + [e.rhs]
        elif not (need <= original and e.rhs in state):  # not a recap of a value already made
            missing = _fmt(sorted((need - have).elements()))
            return state, f"{e.text} uses {missing}, not among the numbers left ({_fmt(sorted(state))})", False
    return sorted(state), "", True


def judge_steps(problem: Problem, text: str, delimiter: str = STEP_DELIMITER) -> list[StepJudgement]:
    """Exact verdicts on every step of `text` (a solution, without the prompt) for a synthetic
    arithmetic or Countdown / Game-of-24 problem; a clear ValueError for any other problem."""
    from itslab.tasks.checking import check_answer

    kind = _kind(problem)
    if kind == "arithmetic":
        chain, pos = _chain(problem), 0
    else:
        original = Counter(Fraction(x) for x in problem.meta["numbers"])
        left, target = sorted(original.elements()), Fraction(problem.meta["target"])
    out: list[StepJudgement] = []
    failed = ""
    for step in split_steps(str(text), delimiter):
        if failed:
            out.append(StepJudgement(True, False, False, f"after an earlier error ({failed})"))
            continue
        eqs = parse_equations(step)
        if kind == "arithmetic":
            pos, reason, valid = _arithmetic_step(chain, pos, eqs)
            reachable = valid and not reason
        else:
            left, reason, valid = _countdown_step(left, original, eqs)
            reachable = valid and can_make(tuple(left), target)
            reason = reason or ("" if reachable else f"dead end: {_fmt(left)} cannot make {target}")
        answer = _final_answer(step)
        if not reason and answer is not None and not check_answer(problem, answer, symbolic=False):
            reachable, reason = False, f"wrong final answer {answer!r}"
        failed = reason
        out.append(StepJudgement(valid, reachable, not reason, reason))
    return out


def step_flags(problem: Problem, text: str, delimiter: str = STEP_DELIMITER) -> list[bool]:
    """Per step, whether the solution is still on track (`judge_steps`'s `ok`): a `StepOracle`."""
    return [j.ok for j in judge_steps(problem, text, delimiter)]


class RuleStepVerifier:
    """The exact PRM of the synthetic step tasks: 1.0 for a step still on track, 0.0 otherwise."""

    def __init__(self, *, delimiter: str = STEP_DELIMITER, name: str = "step_rules") -> None:
        self.delimiter, self.name = delimiter, name

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """One 0/1 score per step per text (`judge_steps`)."""
        texts = as_texts(texts, f"{self.name}.score")
        return [tuple(float(f) for f in step_flags(problem, t, self.delimiter)) for t in texts]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """A rule-based check: one verifier call per text, no tokens, no FLOPs."""
        return rule_cost(as_texts(texts, f"{self.name}.cost"))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _logit(p: float) -> float:
    p = min(max(p, 1e-15), 1.0 - 1e-15)  # a saturated sigmoid stays finite
    return math.log(p) - math.log1p(-p)


class LengthBiasedPRM:
    """`RuleStepVerifier` degraded to per-step ROC AUC `auc` with a length bias (CoLD, arXiv:2507.15698).

    Step i scores ``sigmoid(±separation/2 + bias + noise·ε_i + length_bias·log2(tokens_i / ref_tokens))``,
    ε_i keyed by (seed, problem, text up to step i) as in `NoisyProcessVerifier` (with its
    `error_correlation` / `problem_correlation`); tokens are estimated at 4 characters each. With
    ``length_bias = 0`` the scores are exactly `NoisyProcessVerifier`'s on the exact step flags.
    """

    def __init__(
        self,
        *,
        auc: float | None = None,
        noise: float = 1.0,
        separation: float = 3.0,
        bias: float = 0.0,
        length_bias: float = 0.0,
        ref_tokens: float = 16.0,
        error_correlation: float = 0.0,
        problem_correlation: float = 0.0,
        seed: int = 0,
        delimiter: str = STEP_DELIMITER,
        cost_model: CostModel | None = None,
        name: str | None = None,
    ) -> None:
        if not (isinstance(length_bias, (int, float)) and math.isfinite(length_bias)):
            raise ValueError(f"length_bias must be a finite number, got {length_bias!r}")
        if not (isinstance(ref_tokens, (int, float)) and ref_tokens > 0):
            raise ValueError(f"ref_tokens must be > 0, got {ref_tokens!r}")
        self.base = NoisyProcessVerifier(
            functools.partial(step_flags, delimiter=delimiter),
            noise=noise,
            bias=bias,
            separation=separation,
            auc=auc,
            error_correlation=error_correlation,
            problem_correlation=problem_correlation,
            seed=seed,
            delimiter=delimiter,
            cost_model=cost_model,
        )
        self.auc, self.length_bias, self.ref_tokens = auc, float(length_bias), float(ref_tokens)
        self.delimiter = delimiter
        q = f"auc={auc:g}" if auc is not None else f"sep={self.base.separation:.3g}"
        self.name = name or f"step_rules_noisy({q},bias={bias:g},length_bias={length_bias:g})"

    def offset(self, step: str) -> float:
        """The length bias's logit offset of one step."""
        return self.length_bias * math.log2(max(1, approx_tokens(step)) / self.ref_tokens)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Per text, one score in (0, 1) per step."""
        texts = as_texts(texts, f"{self.name}.score")
        base = self.base.score(problem, texts)
        if not self.length_bias:
            return base
        out = []
        for t, s in zip(texts, base):
            steps = split_steps(t, self.delimiter)
            out.append(tuple(_sigmoid(_logit(p) + self.offset(st)) for p, st in zip(s, steps)))
        return out

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """As a model PRM: one call per text, prompt + text tokens (`NoisyProcessVerifier.cost`)."""
        return self.base.cost(problem, as_texts(texts, f"{self.name}.cost"))
