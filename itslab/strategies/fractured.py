"""Fractured sampling (Liao et al. 2025, "Fractured Chain-of-Thought Reasoning", arXiv:2505.12992).

Sample n reasoning trajectories; cut each at j/H of its thinking tokens (j = 1..H-1) and decode m
answers after each cut (`itslab.generators.truncation`); at j = H the trajectory's own answer is
the first of its m. The n·H·m answers are aggregated by majority vote, or the verifier's best
(``select="best"``, the paper's best-of-N across the three axes). H = m = 1 is plain sampling:
with ``select="best"`` it is `best_of_n`, sample for sample. Trajectories are drawn first, then
the cuts depth by depth, shallow to deep, each only if its worst case still fits the budget; every
cut's prefix (the re-read trace) and its inserted answer prompt are charged as prompt tokens.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from itslab.budget import Budget
from itslab.generators.common import count_tokens
from itslab.generators.truncation import cuts, forced_answer, truncation_requests
from itslab.protocols import Generator, Verifier
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run
from itslab.strategies.sampling import _candidates, _score_pool, _vote, draw_pool
from itslab.trace import Candidate, Result
from itslab.types import Problem, Usage

SELECT = ("majority", "best")


def answers_per_trajectory(H: int, m: int) -> int:
    """Completions one trajectory costs: itself, m at each of H - 1 cuts, m - 1 more after its whole thinking."""
    return 1 + (H - 1) * m + (m - 1)


def _check(H: int, m: int, select: str, answer_tokens: int) -> None:
    if int(H) != H or H < 1 or int(m) != m or m < 1:
        raise ValueError(f"fractured_sampling: H and m must be integers >= 1, got H={H}, m={m}")
    if select not in SELECT:
        raise ValueError(f"fractured_sampling: select must be one of {SELECT}, got {select!r}")
    if answer_tokens < 1:
        raise ValueError(f"fractured_sampling: answer_tokens must be >= 1, got {answer_tokens}")


def _plan_size(run: Run, H: int, m: int, max_tokens: int, answer_tokens: int) -> int:
    """Trajectories whose whole plan (trajectory and all its cuts) fits the budget in the worst case."""
    prompt = count_tokens(run.generator, run.prompt)
    k = answers_per_trajectory(H, m) - 1
    # a cut re-reads at most the prompt and the whole trajectory, plus a short answer prompt
    read = prompt + max_tokens + 8
    extra = Usage(
        samples=k,
        prompt_tokens=(H - 1 + (m > 1)) * read,
        generated_tokens=k * answer_tokens,
        generator_flops=2.0 * run.cost.generator_params * ((H - 1 + (m > 1)) * read + k * answer_tokens),
    )
    try:
        return run.meter.affordable_samples(prompt, max_tokens, per_sample=extra, cost=run.cost)
    except ValueError:
        raise ValueError(
            f"fractured_sampling: budget {dict(run.meter.budget.limits)} does not bound the number of "
            "trajectories; pass n= or limit samples, tokens or FLOPs"
        ) from None


@register("fractured_sampling", rollout_samples=lambda h: answers_per_trajectory(h["H"], h["m"]))
def fractured_sampling(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    m: int = 1,
    H: int = 1,
    max_tokens: int = 512,
    answer_tokens: int = 16,
    temperature: float = 0.8,
    top_p: float = 1.0,
    select: str = "majority",
    answer_prompt: str | None = None,
    stop: tuple[str, ...] = (),
    agg: str = "last",
) -> Result:
    """Fractured sampling (Liao et al. 2025, arXiv:2505.12992): n trajectories × H cuts × m answers, then select."""
    _check(H, m, select, answer_tokens)
    run = Run("fractured_sampling", problem, generator, verifier if select == "best" else None, budget)
    if n is None and answers_per_trajectory(H, m) > 1:  # leave room for the cuts (without any: best_of_n's pool)
        n = max(1, _plan_size(run, H, m, max_tokens, answer_tokens))  # 0 fits: draw_pool names the shortfall
    pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    cands = [
        replace(c, meta={**c.meta, "depth": 1.0, "trajectory": i}) for i, c in enumerate(_candidates(problem, pool))
    ]
    plans = [cuts(generator, problem, run.prompt, c.text, H, answer_prompt=answer_prompt) for c in pool]
    # cut j of every trajectory in one batch, shallow to deep; after the whole thinking only m - 1 more
    for j in range(H):
        want = m - 1 if j == H - 1 else m
        if want <= 0:
            continue
        batch = [(i, plan[j]) for i, plan in enumerate(plans)]
        reqs = truncation_requests(
            [c for _, c in batch],
            m=want,
            max_tokens=answer_tokens,
            seeds=[draw_seed(rng) for _ in batch],
            temperature=temperature,
            top_p=top_p,
            stop=stop,
        )
        outs = run.sample_batch(reqs, kind="truncate", info={"depth": (j + 1) / H, "m": want})
        if outs is None:  # the budget cannot pay for this depth: stop (never overspend)
            break
        for (i, cut), got in zip(batch, outs):
            for c in got:
                text = cut.prefix[len(run.prompt) :] + c.text
                meta = {"depth": cut.depth, "trajectory": i, "n_tokens": c.n_tokens, "cut_tokens": cut.n_tokens}
                cands.append(Candidate(text, forced_answer(problem, cut, c), None, None, meta))
    answer, cands = _select(run, cands, select, agg)
    hyper: dict[str, Any] = dict(
        n=n, m=m, H=H, max_tokens=max_tokens, answer_tokens=answer_tokens, temperature=temperature
    )
    hyper.update(top_p=top_p, select=select, answer_prompt=answer_prompt, agg=agg)
    return run.finish(answer, cands, hyper=hyper)


def _select(run: Run, cands: list[Candidate], select: str, agg: str) -> tuple[str | None, list[Candidate]]:
    """The chosen answer, and the candidates with their verifier scores (where scored)."""
    if select == "majority":
        answer, info = _vote([c.answer for c in cands], [1.0] * len(cands), run.problem)
        run.note("vote", info)
        return answer, cands
    scores, _ = _score_pool(run, cands, agg)  # no cuts: the pool's texts, exactly best_of_n's scoring
    cands = [replace(c, score=s) for c, s in zip(cands, scores)] + cands[len(scores) :]
    if not scores:
        return None, cands
    best = int(np.argmax(scores))  # the first maximum: deterministic ties, as best_of_n
    run.note("select", {"best_index": best, "best_score": scores[best], "n_scored": len(scores)})
    return cands[best].answer, cands


__all__ = ["SELECT", "answers_per_trajectory", "fractured_sampling"]
