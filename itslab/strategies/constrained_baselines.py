"""Baselines for constrained generation, run at the same budget as SMC steering (Lew et al. 2023,
arXiv:2306.03081; DisCIPL, Grand et al. 2025, arXiv:2504.07081): best-of-N with the constraint as a
final filter, and rejection sampling (draw full texts until one satisfies). Both return an exact draw
from p_LM(x | constraint) when they succeed; they differ only in when they stop spending. The
constraint is a potential spec (`itslab.tasks.constraints`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run
from itslab.strategies.constrained_smc import answer_or_text, constraint_of
from itslab.strategies.sampling import draw_pool, next_batch
from itslab.tasks.constraints import Potential, potential, satisfies
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem


def _filtered(run: Run, pool: Sequence[Completion], c: str | Potential, hyper: dict[str, Any]) -> Result:
    """The first sample meeting the constraint (i.i.d. samples: an exact draw from p_LM(x | constraint))."""
    cands = [
        Candidate(x.text, None, 1.0 if satisfies(c, x.text) else 0.0, None, {"index": i, "n_tokens": x.n_tokens})
        for i, x in enumerate(pool)
    ]
    hit = next((i for i, x in enumerate(cands) if x.score == 1.0), None)
    if hit is not None:
        cands[hit] = replace(cands[hit], answer=answer_or_text(run.problem, cands[hit].text))
    run.note("select", {"chosen": hit, "n_samples": len(pool), "n_satisfied": sum(x.score == 1.0 for x in cands)})
    return run.finish(None if hit is None else cands[hit].answer, cands, hyper=hyper)


@register("constrained_best_of_n")
def constrained_best_of_n(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    constraint: str | Potential | None = None,
    n: int | None = None,
    max_tokens: int = 256,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
) -> Result:
    """Best-of-N with the constraint as a final filter: N full samples (as many as the budget allows
    when `n` is None), the first that satisfies it; the baseline SMC steering is compared with."""
    c = constraint_of("constrained_best_of_n", problem, constraint)
    potential(c)  # a bad spec fails before anything is spent
    run = Run("constrained_best_of_n", problem, generator, verifier, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop)
    hyper = dict(constraint=c, n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=tuple(stop))
    return _filtered(run, pool, c, hyper)


@register("rejection_sampling", size="max_samples")
def rejection_sampling(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    constraint: str | Potential | None = None,
    max_samples: int | None = None,
    batch: int = 1,
    max_tokens: int = 256,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
) -> Result:
    """Rejection sampling: draw full texts `batch` at a time until one satisfies the constraint, the
    budget ends or `max_samples` are drawn. Exact when it succeeds; spends nothing after a success."""
    c = constraint_of("rejection_sampling", problem, constraint)
    pot = potential(c)
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"rejection_sampling: batch must be an int >= 1, got {batch!r}")
    run = Run("rejection_sampling", problem, generator, verifier, budget)
    if max_samples is None:
        run.affordable(run.prompt, max_tokens)  # a clear error when the budget does not bound the samples
    pool: list[Completion] = []
    while max_samples is None or len(pool) < max_samples:
        got = next_batch(
            run,
            rng,
            max_samples,
            len(pool),
            batch,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=tuple(stop),
        )
        if not got:
            break
        pool.extend(got)
        if any(satisfies(pot, x.text) for x in got):
            break
    hyper = dict(
        constraint=c, max_samples=max_samples, batch=batch, max_tokens=max_tokens, temperature=temperature, top_p=top_p
    )
    return _filtered(run, pool, c, {**hyper, "stop": tuple(stop)})
