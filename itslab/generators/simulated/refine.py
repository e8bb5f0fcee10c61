"""`RefineSimGenerator`: a simulated LLM that proposes plans with partial credit and refines them.

A problem has `n_constraints` constraints (a meeting schedule's "Ann is free at 10", a Countdown
expression's "within 5 of the target"). A fresh sample meets each one independently with
probability ``s = p ** (1 / C)``, so it meets all of them, and is correct, with probability
``p = meta["p_correct"]`` (the same pass@1 as the other simulators). The sample writes which it
meets as a line ``Checks: 101111`` before its answer; the answer is the gold one only when every
constraint is met.

**The refinement assumption.** A request whose prefix holds an earlier candidate (its ``Checks:``
line, after the problem's prompt, as `itslab.strategies.refinement.refine_prefix` writes it) is a
refinement of that candidate: each violated constraint is fixed with probability `p_fix` and each
met constraint is broken with probability `p_break`, independently. So a refined child's score
depends on its parent's: refining a nearly right plan is worth more than sampling a new one when
``p_fix`` is large, and widening wins when it is small. Nothing else of the parent carries over.

>>> from itslab.generators.simulated import make_suite
>>> from itslab.types import Request
>>> problems, gen = make_suite(2, seed=0, kind="refine", n_constraints=4)
>>> [c] = gen.generate([Request(problems[0].prompt, n=1, seed=1)])[0]
>>> "Checks: " in c.text and c.text.endswith("}.")
True
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from scipy.special import betaln
from scipy.stats import beta as beta_dist

from itslab.generators.simulated.core import SimBase, lognormal
from itslab.generators.simulated.text import answer_line, count_tokens, filler
from itslab.types import Problem, Request

CHECKS = re.compile(r"Checks: ([01]+)")


class RefineSimGenerator(SimBase):
    """Outcome simulator with a latent constraint vector per sample and a refinement model (module docstring)."""

    kind = "refine"

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        seed: int = 0,
        a: float = 2.0,
        b: float = 2.0,
        n_constraints: int = 6,
        p_fix: float = 0.3,
        p_break: float = 0.05,
        mean_tokens: float = 60.0,
        n_distractors: int = 8,
        model_id: str | None = None,
    ) -> None:
        if n_constraints < 1 or not (0 <= p_fix <= 1 and 0 <= p_break <= 1):
            raise ValueError(
                f"need n_constraints >= 1 and p_fix, p_break in [0, 1]; got {n_constraints}, {p_fix}, {p_break}"
            )
        self.n_constraints, self.p_fix, self.p_break = int(n_constraints), float(p_fix), float(p_break)
        self.mean_tokens = float(mean_tokens)
        super().__init__(
            problems,
            seed=seed,
            a=a,
            b=b,
            n_distractors=n_distractors,
            model_id=model_id,
            config={"refine": [n_constraints, p_fix, p_break, mean_tokens]},
        )

    def p_constraint(self, problem: Problem) -> float:
        """Probability that a fresh sample meets one constraint: ``p ** (1 / C)``."""
        return self.success_p(problem) ** (1.0 / self.n_constraints)

    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        C = self.n_constraints
        u = self.uniforms(request, C + 3)
        parents = CHECKS.findall(solution)
        if parents and len(parents[-1]) == C:
            old = np.array([c == "1" for c in parents[-1]])
            bits = np.where(old, u[:, :C] >= self.p_break, u[:, :C] < self.p_fix)
        else:
            bits = u[:, :C] < self.p_constraint(problem)
        m = self.answer_model(problem)
        n_body = np.maximum(1, np.rint(lognormal(self.mean_tokens, 0.35, u[:, C], u[:, C + 1]))).astype(int)
        texts, metas, counts = [], [], []
        for row, nb, off in zip(bits, n_body, (u[:, C + 2] * 1e6).astype(int)):
            k = int((~row).sum())
            ans = m.gold if k == 0 else m.distractors[(k - 1) % len(m.distractors)]
            tail = f"\nChecks: {''.join('1' if x else '0' for x in row)}\n{answer_line(ans)}"
            texts.append(filler(int(nb), int(off)).lstrip(" ") + tail)
            counts.append(int(nb) + count_tokens(tail))
            metas.append({"answer": ans, "sim_correct": k == 0, "violations": k, "confidence": max(1.0 - k / C, 1e-3)})
        return texts, metas, counts

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        return meta if text.endswith("}.") else {**meta, "answer": None, "sim_correct": False}


# --- closed forms (the notebook's calibration and sliders) -------------------------------------------
def transition(n_constraints: int, p_fix: float, p_break: float) -> np.ndarray:
    """``T[k, j]``: probability that refining a candidate with k violated constraints leaves j violated."""
    from scipy.stats import binom

    C = n_constraints
    T = np.zeros((C + 1, C + 1))
    for k in range(C + 1):
        fixed = binom.pmf(np.arange(k + 1), k, p_fix)
        broken = binom.pmf(np.arange(C - k + 1), C - k, p_break)
        for f, pf in enumerate(fixed):
            for b, pb in enumerate(broken):
                T[k, k - f + b] += pf * pb
    return T


def chain_hit(p: np.ndarray | float, n_constraints: int, p_fix: float, p_break: float, n_calls: int) -> np.ndarray:
    """Probability (per pass@1 in `p`) that one chain (a fresh sample, then `n_calls` - 1 refinements of
    the latest) meets every constraint at least once: sequential revision with an exact evaluator."""
    from scipy.stats import binom

    C = n_constraints
    s = np.atleast_1d(np.asarray(p, dtype=float)) ** (1.0 / C)
    dist = binom.pmf(np.arange(C + 1)[None, :], C, 1.0 - s[:, None])
    T = transition(C, p_fix, p_break)
    T[0] = 0.0
    T[0, 0] = 1.0  # once all constraints are met the chain has succeeded: absorb
    for _ in range(n_calls - 1):
        dist = dist @ T
    return dist[:, 0]


def beta_grid(a: float, b: float, n: int = 400) -> np.ndarray:
    """`n` equal-mass quantiles of Beta(a, b): population averages as plain means."""
    return beta_dist.ppf((np.arange(n) + 0.5) / n, a, b)


def coverage(a: float, b: float, n: int) -> float:
    """Best-of-N with an exact evaluator over p ~ Beta(a, b): ``1 - E[(1 - p)^n]`` in closed form."""
    return float(1.0 - np.exp(betaln(a, b + n) - betaln(a, b)))


def revision_success(
    a: float, b: float, n_constraints: int, p_fix: float, p_break: float, n_calls: int, n_chains: int = 1
) -> float:
    """Sequential revision's success over the Beta population: `n_chains` independent chains of
    ``n_calls // n_chains`` calls each (Lee et al.'s Sequential-Revision+ runs 10 chains)."""
    per = n_calls // n_chains
    hits = chain_hit(beta_grid(a, b, 400), n_constraints, p_fix, p_break, per)
    return float(np.mean(1.0 - (1.0 - hits) ** n_chains))


def calibrate(one_pass: float, best_of: float, n: int) -> tuple[float, float]:
    """Beta(a, b) with mean `one_pass` and closed-form best-of-`n` coverage `best_of` (bisection on a)."""
    from scipy.optimize import brentq

    def gap(log_a: float) -> float:
        a = float(np.exp(log_a))
        return coverage(a, a * (1.0 - one_pass) / one_pass, n) - best_of

    a = float(np.exp(brentq(gap, np.log(1e-3), np.log(1e3))))
    return a, a * (1.0 - one_pass) / one_pass


def calibrate_p_fix(
    a: float, b: float, n_constraints: int, p_break: float, target: float, n_calls: int, n_chains: int
) -> float:
    """The `p_fix` at which sequential revision (`n_chains` chains, `n_calls` in all) succeeds on `target`."""
    from scipy.optimize import brentq

    def gap(p_fix: float) -> float:
        return revision_success(a, b, n_constraints, p_fix, p_break, n_calls, n_chains) - target

    return float(brentq(gap, 1e-4, 0.999, xtol=1e-4))
