"""Adaptive sampling: draw a few samples at a time and stop as soon as the answer is settled.

- ``adaptive_self_consistency``: Adaptive-Consistency (Aggarwal et al. 2023, "Let's Sample Step by
  Step", arXiv:2305.11860). Sample `batch` solutions at a time; after each batch, the Beta
  posterior that the leading answer beats the runner-up (`itslab.scaling.majority_posterior`);
  stop when it reaches `threshold` or after `n` samples, and return the majority answer. With
  ``threshold=inf`` it is fixed-N self-consistency; with ``batch=n`` too it draws the very samples
  `majority_vote` draws.
- ``early_stop_bon``: early-stopping best-of-N (Huang et al. 2025, "Efficient Test-Time Scaling via
  Self-Calibration", arXiv:2503.00031; Manvi et al. 2024's adaptive sampling, arXiv:2410.02725,
  with the model's self-evaluation as the verifier). Sample and score `batch` solutions at a time;
  stop when a score reaches `threshold`, return the best-scored answer. Every score is a verifier
  call charged to the budget.

Both are the same loop: draw a batch through `Run` (charged, traced), update a statistic, test it.
"""

from __future__ import annotations

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.scaling.stopping import majority_posterior
from itslab.strategies import register
from itslab.strategies.base import Run, equivalence_classes, outcome_score
from itslab.strategies.sampling import _candidates, _vote, next_batch
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem


def _leader_votes(classes: list[int]) -> tuple[int, int]:
    """Votes for the leading answer class and for the runner-up (abstentions, class -1, excluded)."""
    counts = (
        sorted(np.bincount([c for c in classes if c >= 0]).tolist(), reverse=True)
        if any(c >= 0 for c in classes)
        else []
    )
    return (counts[0] if counts else 0), (counts[1] if len(counts) > 1 else 0)


@register("adaptive_self_consistency")
def adaptive_self_consistency(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    threshold: float = 0.95,
    batch: int = 1,
    min_samples: int = 1,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Adaptive-Consistency: majority vote over samples drawn until P(leader beats runner-up) ≥ `threshold`.

    `n` caps the number of samples (None: as many as the budget allows).
    """
    run = Run("adaptive_self_consistency", problem, generator, None, budget)
    if n is None:
        run.affordable(run.prompt, max_tokens)  # raises if the budget does not bound the samples
    pool: list[Completion] = []
    posteriors: list[float] = []
    while n is None or len(pool) < n:
        got = next_batch(
            run,
            rng,
            n,
            len(pool),
            batch,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=(),
            logprobs=True,
        )
        if not got:
            break
        pool.extend(got)
        cands = _candidates(problem, pool)
        v1, v2 = _leader_votes(equivalence_classes([c.answer for c in cands], problem))
        posteriors.append(float(majority_posterior(v1, v2)))
        if len(pool) >= min_samples and posteriors[-1] >= threshold:
            break
    cands = _candidates(problem, pool)
    answer, info = _vote([c.answer for c in cands], [1.0] * len(cands), problem)
    run.note("vote", {**info, "n_drawn": len(pool), "posteriors": tuple(posteriors)})
    hyper = dict(
        n=n,
        threshold=threshold,
        batch=batch,
        min_samples=min_samples,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
    )
    return run.finish(answer, cands, hyper=hyper)


@register("early_stop_bon")
def early_stop_bon(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    threshold: float = 0.9,
    batch: int = 1,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
) -> Result:
    """Early-stopping best-of-N: score samples as they come, stop once one scores ≥ `threshold`;
    return the best-scored answer (ties: earliest). `n` caps the samples (None: the budget's)."""
    run = Run("early_stop_bon", problem, generator, verifier, budget)
    if n is None:
        run.affordable(run.prompt, max_tokens)
    cands: list[Candidate] = []
    scores: list[float] = []
    stopped = False
    while not stopped and (n is None or len(cands) < n):
        got = next_batch(
            run,
            rng,
            n,
            len(cands),
            batch,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=(),
            logprobs=True,
        )
        if not got:
            break
        k = run.affordable_scores([c.text for c in got])
        raw = (run.score([c.text for c in got[:k]]) or []) if k else []
        new = [outcome_score(s, agg) for s in raw]
        start = len(cands)
        for i, c in enumerate(_candidates(problem, got, new, raw)):
            cands.append(Candidate(c.text, c.answer, c.score, c.step_scores, {**c.meta, "index": start + i}))
        scores.extend(new)
        # stop on a confident sample, or when the verifier can no longer be paid
        stopped = bool(new and max(new) >= threshold) or len(raw) < len(got)
    answer = None
    if scores:
        best = int(np.argmax(scores))  # the first maximum: deterministic ties
        answer = cands[best].answer
        run.note("select", {"best_index": best, "best_score": scores[best], "n_drawn": len(cands)})
    hyper = dict(
        n=n, threshold=threshold, batch=batch, max_tokens=max_tokens, temperature=temperature, top_p=top_p, agg=agg
    )
    return run.finish(answer, cands, hyper=hyper)
