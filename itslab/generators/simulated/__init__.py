"""Simulated generators: weight-free LLMs whose statistics are known in closed form.

Three models share one answer model (`core`): `SimulatedGenerator` (whole solutions;
repeated sampling, voting, best-of-n), `StepwiseSimGenerator` (step-by-step solutions with a
latent still-correct state; beam search, particle filtering, PRMs) and `SequentialSimGenerator`
(a thinking trace extended with "Wait"; budget forcing). `make_suite` builds matching synthetic
problems and a generator for them in one call.

>>> from itslab.types import Request
>>> problems, gen = make_suite(4, seed=0, a=2, b=2)
>>> [c.meta["answer"] for c in gen.generate([Request(problems[0].prompt, n=3, seed=7)])[0]] == \\
...     [c.meta["answer"] for c in gen.generate([Request(problems[0].prompt, n=5, seed=7)])[0][:3]]
True
"""

from __future__ import annotations

from typing import Any

from itslab.generators.simulated.anytime import AnytimeSimGenerator
from itslab.generators.simulated.core import AnswerModel, SimBase
from itslab.generators.simulated.outcome import SimulatedGenerator, expected_tokens
from itslab.generators.simulated.refine import RefineSimGenerator
from itslab.generators.simulated.sequential import THINK_END, WAIT, SequentialSimGenerator, current_answer
from itslab.generators.simulated.stepwise import (
    StepwiseSimGenerator,
    hidden_chain,
    n_steps,
    outcome_oracle,
    step_oracle,
)
from itslab.generators.simulated.text import (
    ANSWER_TEMPLATE,
    answer_line,
    apply_limits,
    count_tokens,
    extract_boxed,
    sim_tokenize,
)
from itslab.generators.simulated.thinking import ThinkingSimGenerator
from itslab.rng import problem_rng
from itslab.types import Problem

KINDS: dict[str, type[SimBase]] = {
    "outcome": SimulatedGenerator,
    "stepwise": StepwiseSimGenerator,
    "sequential": SequentialSimGenerator,
    "refine": RefineSimGenerator,
    "thinking": ThinkingSimGenerator,
    "anytime": AnytimeSimGenerator,
}


def make_problems(
    n_problems: int, *, seed: int, a: float = 2.0, b: float = 2.0, n_steps: int | tuple[int, int] = (3, 8)
) -> list[Problem]:
    """Synthetic problems for the simulators, with gold answers and latent difficulty.

    Each problem gets p ~ Beta(a, b) (``meta["p_correct"]``, pass@1 at T = 1), difficulty
    ``1 - p`` (``meta["difficulty"]``), a MATH-style ``meta["level"]`` 1–5 (difficulty in
    bins of 0.2), an integer gold answer, and ``meta["n_steps"]``: fixed, or for a range (lo, hi)
    ``lo + round((1 - p)(hi - lo))`` (harder problems take more steps).
    """
    if n_problems < 1:
        raise ValueError(f"n_problems must be >= 1, got {n_problems}")
    lo, hi = (n_steps, n_steps) if isinstance(n_steps, int) else n_steps
    if not 1 <= lo <= hi:
        raise ValueError(f"n_steps must be an int >= 1 or a range (lo, hi) with 1 <= lo <= hi, got {n_steps!r}")
    out = []
    for i in range(n_problems):
        pid = f"sim{seed}-{i:05d}"
        rng = problem_rng(seed, pid, "suite")
        p = float(rng.beta(a, b))
        d = 1.0 - p
        out.append(
            Problem(
                id=pid,
                prompt=(
                    f"Problem {pid}. A simulated task with a hidden integer answer. "
                    "Reason step by step and give the final answer as \\boxed{N}.\n\n"
                ),
                answer=str(int(rng.integers(10, 1000))),
                meta={
                    "p_correct": p,
                    "difficulty": d,
                    "level": min(5, 1 + int(5 * d)),
                    "n_steps": lo + int(round(d * (hi - lo))),
                    "source": "simulated",
                },
            )
        )
    return out


def make_suite(
    n_problems: int,
    *,
    seed: int,
    kind: str = "outcome",
    a: float = 2.0,
    b: float = 2.0,
    n_steps: int | tuple[int, int] = (3, 8),
    **params: Any,
) -> tuple[list[Problem], SimBase]:
    """Synthetic problems plus a simulated generator for them: ``(problems, generator)``.

    `kind` is ``"outcome"`` (`SimulatedGenerator`), ``"stepwise"`` (`StepwiseSimGenerator`),
    ``"sequential"`` (`SequentialSimGenerator`), ``"refine"`` (`RefineSimGenerator`) or ``"thinking"``
    (`ThinkingSimGenerator`, a trace whose probed answer settles part-way) or ``"anytime"``
    (`AnytimeSimGenerator`, a trace cut and answered at any depth); `params`
    go to its constructor (e.g.
    ``distractor_concentration``, ``gold_paths``, ``distractor_paths``, ``confidence_auc``,
    ``recover``, ``p_fix``). The generator's ``p_correct(problem)`` equals
    ``problem.meta["p_correct"]`` at T = 1 (before any "Wait").
    """
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown simulator kind {kind!r}; valid: {sorted(KINDS)}")
    problems = make_problems(n_problems, seed=seed, a=a, b=b, n_steps=n_steps)
    return problems, cls(problems, seed=seed, a=a, b=b, **params)


__all__ = [
    "ANSWER_TEMPLATE",
    "AnswerModel",
    "AnytimeSimGenerator",
    "KINDS",
    "RefineSimGenerator",
    "SequentialSimGenerator",
    "SimBase",
    "SimulatedGenerator",
    "StepwiseSimGenerator",
    "ThinkingSimGenerator",
    "THINK_END",
    "WAIT",
    "answer_line",
    "apply_limits",
    "count_tokens",
    "current_answer",
    "expected_tokens",
    "extract_boxed",
    "hidden_chain",
    "make_problems",
    "make_suite",
    "n_steps",
    "outcome_oracle",
    "sim_tokenize",
    "step_oracle",
]
