"""Parallel sampling strategies: best-of-N, weighted best-of-N, (weighted) majority vote,
oracle coverage and resample-until-pass.

- ``majority_vote``: self-consistency, Wang et al. 2023 ("Self-Consistency Improves Chain of
  Thought Reasoning in Language Models", arXiv:2203.11171): the most frequent final answer.
- ``weighted_majority_vote``: Wang et al.'s weighted variant, each path weighted by its
  length-normalised probability exp(mean token logprob).
- ``best_of_n``: the candidate the verifier scores highest (Cobbe et al. 2021; Snell et al. 2024).
- ``weighted_best_of_n``: verifier scores summed per distinct answer (Beeching et al.,
  search-and-learn; Li et al. 2023 "Making Language Models Better Reasoners with Step-Aware Verifier").
- ``oracle_pass_at_n``: coverage, i.e. best-of-N under a perfect verifier (Brown et al. 2024).
- ``resample_until_pass``: draw until the verifier accepts (Stroebl et al. 2024, "Inference
  Scaling fLaws").

All samples of one pool come from one request, so the first k of n samples are the same for every
budget ≥ k, and answers are compared after normalisation / math equivalence.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run, equivalence_classes, extract, outcome_score
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem


def next_batch(
    run: Run, rng: np.random.Generator, n: int | None, drawn: int, batch: int, **sampling: Any
) -> list[Completion]:
    """Up to `batch` more samples of the prompt for a strategy that draws until it decides to stop
    (Adaptive-Consistency, early-stopping best-of-N, rejection sampling): fewer when the cap `n` or
    the budget says so, [] when none can be drawn. `sampling` goes to `Run.sample` (`max_tokens`
    required); a budget that cannot buy the first sample raises its clear error."""
    if batch < 1:
        raise ValueError(f"{run.strategy}: batch must be >= 1, got {batch}")
    want = batch if n is None else min(batch, n - drawn)
    max_tokens = sampling["max_tokens"]
    k = run.affordable(run.prompt, max_tokens, want) if want > 0 else 0
    if k <= 0:
        if not drawn and not run.steps:
            run.too_small(run.worst_case([run.prompt], [1], max_tokens), f"one sample of up to {max_tokens} tokens")
        return []
    return run.sample(run.prompt, k, rng, **sampling) or []


def draw_pool(
    run: Run,
    rng: np.random.Generator,
    n: int | None,
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: Sequence[str] = (),
) -> list[Completion]:
    """Up to `n` samples of the prompt (as many as the budget allows when `n` is None).

    With a sample budget this is one request (prefix-stable across budgets); with a token or FLOP
    budget it draws the worst-case-affordable number, then tops up with what the actual usage left.
    """
    pool: list[Completion] = []
    while n is None or len(pool) < n:
        want = None if n is None else n - len(pool)
        k = run.affordable(run.prompt, max_tokens, want)
        if k <= 0:
            if not pool and not run.steps:
                run.too_small(run.worst_case([run.prompt], [1], max_tokens), f"one sample of up to {max_tokens} tokens")
            break
        got = run.sample(
            run.prompt,
            k,
            rng,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=tuple(stop),
            logprobs=True,
        )
        if not got:
            break
        pool.extend(got)
    return pool


def _candidates(
    problem: Problem,
    pool: Sequence[Completion],
    scores: Sequence[float | None] | None = None,
    raw: Sequence[tuple[float, ...]] | None = None,
) -> list[Candidate]:
    out = []
    for i, c in enumerate(pool):
        s = None if scores is None or i >= len(scores) else scores[i]
        steps = raw[i] if raw is not None and i < len(raw) and len(raw[i]) > 1 else None
        out.append(Candidate(c.text, extract(problem, c.text), s, steps, {"index": i, "n_tokens": c.n_tokens}))
    return out


def _score_pool(
    run: Run, pool: Sequence[Completion | Candidate], agg: str
) -> tuple[list[float], list[tuple[float, ...]]]:
    """Verifier scores for the prefix of `pool` the budget can pay for."""
    texts = [c.text for c in pool]
    k = run.affordable_scores(texts)
    raw = run.score(texts[:k]) or []
    return [outcome_score(s, agg) for s in raw], raw


def _tally(
    answers: Sequence[str | None], values: Sequence[float], problem: Problem | None = None
) -> tuple[dict[int, int], dict[int, float], dict[int, int]]:
    """Per equivalence class of the answers: how many, the sum of their `values`, and the first index
    (unparsed answers belong to no class)."""
    classes = equivalence_classes(answers, problem)
    count: dict[int, int] = {}
    total: dict[int, float] = {}
    first: dict[int, int] = {}
    for i, (c, v) in enumerate(zip(classes, values)):
        if c < 0:
            continue
        count[c] = count.get(c, 0) + 1
        total[c] = total.get(c, 0.0) + float(v)
        first.setdefault(c, i)
    return count, total, first


def _vote(
    answers: Sequence[str | None], weights: Sequence[float], problem: Problem | None = None
) -> tuple[str | None, dict[str, Any]]:
    """The answer whose equivalence class has the largest total weight (ties: earliest first seen)."""
    _, totals, first = _tally(answers, weights, problem)
    if not totals:
        return None, {"n_classes": 0}
    best = max(totals, key=lambda c: (totals[c], -first[c]))
    return answers[first[best]], {
        "n_classes": len(totals),
        "winner_weight": totals[best],
        "total_weight": float(sum(totals.values())),
    }


def _hyper(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items()}


@register("majority_vote")
def majority_vote(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Self-consistency (Wang et al. 2023): sample N solutions, return the most frequent answer."""
    return pooled_vote(
        "majority_vote",
        problem,
        generator,
        budget,
        rng,
        lambda cands, pool: _vote([c.answer for c in cands], [1.0] * len(cands), problem),
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
    )


def pooled_vote(
    strategy: str,
    problem: Problem,
    generator: Generator,
    budget: Budget,
    rng: np.random.Generator,
    vote: Callable[[list[Candidate], list[Completion]], tuple[str | None, dict[str, Any]]],
    *,
    n: int | None,
    max_tokens: int,
    temperature: float,
    top_p: float,
) -> Result:
    """The body of the verifier-free voting strategies: draw one pool of N solutions and return the
    answer `vote(candidates, pool)` picks (self-consistency, Wang et al. 2023; shortest majority,
    Zeng et al. 2025)."""
    run = Run(strategy, problem, generator, None, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    cands = _candidates(problem, pool)
    answer, info = vote(cands, pool)
    run.note("vote", info)
    return run.finish(answer, cands, hyper=_hyper(n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p))


@register("weighted_majority_vote")
def weighted_majority_vote(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Wang et al. 2023's weighted self-consistency: vote weighted by exp(mean token logprob) of each path."""
    run = Run("weighted_majority_vote", problem, generator, None, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    missing = [i for i, c in enumerate(pool) if not c.logprobs]
    if missing and any(c.n_tokens for c in pool):
        raise ValueError(
            f"weighted_majority_vote needs per-token logprobs; generator {generator.model_id!r} "
            f"returned none for sample(s) {missing[:5]}"
        )
    weights = [math.exp(sum(c.logprobs) / max(1, len(c.logprobs))) if c.logprobs else 1.0 for c in pool]
    cands = [Candidate(c.text, a.answer, w, None, a.meta) for c, a, w in zip(pool, _candidates(problem, pool), weights)]
    answer, info = _vote([c.answer for c in cands], weights, problem)
    run.note("vote", info)
    return run.finish(answer, cands, hyper=_hyper(n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p))


@register("best_of_n")
def best_of_n(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
) -> Result:
    """Best-of-N with a verifier (Cobbe et al. 2021): return the highest-scoring candidate (ties: earliest)."""
    run = Run("best_of_n", problem, generator, verifier, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    scores, raw = _score_pool(run, pool, agg)
    cands = _candidates(problem, pool, scores, raw)
    answer = None
    if scores:
        best = int(np.argmax(scores))  # argmax returns the first maximum: deterministic ties
        answer = cands[best].answer
        run.note("select", {"best_index": best, "best_score": scores[best], "n_scored": len(scores)})
    return run.finish(
        answer, cands, hyper=_hyper(n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, agg=agg)
    )


@register("weighted_best_of_n")
def weighted_best_of_n(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
) -> Result:
    """Weighted best-of-N (search-and-learn): sum verifier scores per distinct answer, return the argmax answer."""
    run = Run("weighted_best_of_n", problem, generator, verifier, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    scores, raw = _score_pool(run, pool, agg)
    cands = _candidates(problem, pool, scores, raw)
    answer, info = _vote([c.answer for c in cands[: len(scores)]], scores, problem)
    run.note("vote", info)
    return run.finish(
        answer, cands, hyper=_hyper(n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, agg=agg)
    )


@register("oracle_pass_at_n")
def oracle_pass_at_n(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Coverage (Brown et al. 2024): correct iff any of N samples is correct — best-of-N with a perfect verifier."""
    from itslab.tasks.checking import check_answer, gradable

    if not gradable(problem):
        raise ValueError(f"oracle_pass_at_n needs a gold answer or a checker; problem {problem.id!r} has neither")

    run = Run("oracle_pass_at_n", problem, generator, None, budget)
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    cands = _candidates(problem, pool)
    hit = next((c for c in cands if check_answer(problem, c.answer)), None)
    answer = hit.answer if hit else (cands[0].answer if cands else None)
    run.note("oracle", {"first_correct": None if hit is None else hit.meta["index"]})
    return run.finish(answer, cands, hyper=_hyper(n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p))


@register("resample_until_pass", size="max_samples")
def resample_until_pass(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    threshold: float = 0.5,
    max_samples: int | None = None,
    batch: int = 1,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
    on_exhaust: str = "last",
) -> Result:
    """Resample until the verifier accepts (score ≥ threshold) or the budget ends (Stroebl et al. 2024).

    Draws `batch` samples at a time and checks them in order; on exhaustion returns the last
    sample's answer (``on_exhaust="last"``) or abstains (``"abstain"``).
    """
    if on_exhaust not in ("last", "abstain"):
        raise ValueError(f"on_exhaust must be 'last' or 'abstain', got {on_exhaust!r}")
    run = Run("resample_until_pass", problem, generator, verifier, budget)
    cands: list[Candidate] = []
    accepted = None
    while accepted is None and (max_samples is None or len(cands) < max_samples):
        want = batch if max_samples is None else min(batch, max_samples - len(cands))
        k = run.affordable(run.prompt, max_tokens, want)
        got = run.sample(run.prompt, k, rng, max_tokens=max_tokens, temperature=temperature, top_p=top_p) if k else None
        if not got:
            break
        for c in got:
            raw = run.score([c.text])
            if raw is None:
                break
            s = outcome_score(raw[0], agg)
            cands.append(
                Candidate(
                    c.text, extract(problem, c.text), s, raw[0] if len(raw[0]) > 1 else None, {"index": len(cands)}
                )
            )
            if s >= threshold:
                accepted = cands[-1]
                break
        else:
            continue
        break
    if accepted is not None:
        answer = accepted.answer
    else:
        answer = cands[-1].answer if (cands and on_exhaust == "last") else None
    run.note("stop", {"accepted": accepted is not None, "n_drawn": len(cands)})
    return run.finish(
        answer,
        cands,
        hyper=_hyper(
            threshold=threshold,
            max_samples=max_samples,
            batch=batch,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            agg=agg,
            on_exhaust=on_exhaust,
        ),
    )
