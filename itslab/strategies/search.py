"""Step-level search with a process verifier (PRM): beam search, DVTS and REBASE.

`beam_search` (Snell et al. 2024, arXiv:2408.03314), `dvts` (Beeching et al., search-and-learn)
and `rebase` (Wu et al. 2024, arXiv:2408.00724) grow solutions one step at a time. Each depth is
ONE batched `Run.sample_batch` call (continuations of ``run.prompt + text`` stopped at
``STEP_DELIMITER``, so a prefix-caching backend re-reads nothing) and one `Run.score` call; when
either does not fit the budget the search stops and answers from what it has. Where these differ
from the reference code, and why: docs/methods.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run, step_finished
from itslab.strategies.steps import candidate, check_step_hyper, expand, lookahead_texts, score_nodes, select_answer
from itslab.trace import Candidate, Result
from itslab.types import Problem


def _spread(total: int, k: int) -> list[int]:
    """`total` copies spread over `k` survivors as search-and-learn's ``(active * repeats)[:n]`` does."""
    return [total // k + (1 if i < total % k else 0) for i in range(k)]


def _common(temperature: float, top_p: float, max_step_tokens: int, max_tokens: int) -> dict[str, Any]:
    return {"temperature": temperature, "top_p": top_p, "max_step_tokens": max_step_tokens, "max_tokens": max_tokens}


@dataclass(frozen=True)
class Child:
    """One expansion of a search node: its parent's index, its whole text so far, the tokens it
    has generated in total, and whether the solution is finished."""

    parent: int
    text: str
    n_tokens: int
    finished: bool


def _children(texts: list[str], toks: list[int], outs: list[list], last: bool, max_tokens: int) -> list[Child]:
    """Every child in `outs` (aligned with the parents' `texts` and token counts `toks`)."""
    return [
        Child(
            i, texts[i] + c.text, toks[i] + c.n_tokens, last or step_finished(c) or toks[i] + c.n_tokens >= max_tokens
        )
        for i, cs in enumerate(outs)
        for c in cs
    ]


def _score_children(
    run: Run,
    rng: np.random.Generator,
    texts: list[str],
    fin: list[bool],
    agg: str,
    lookahead: int,
    top_p: float,
    max_step_tokens: int,
    depth: int,
):
    ext = (
        lookahead_texts(run, rng, texts, fin, lookahead, top_p=top_p, max_step_tokens=max_step_tokens)
        if lookahead
        else [""] * len(texts)
    )
    return score_nodes(run, [t + e for t, e in zip(texts, ext)], agg, info={"depth": depth})


# --- beam search -----------------------------------------------------------------------------
def _steps(hyper: Mapping[str, Any]) -> int:
    """Completions one rollout of a step-level search may cost: one per step."""
    return int(hyper["max_steps"])


def _steps_with_lookahead(hyper: Mapping[str, Any]) -> int:
    """One per step, plus `lookahead` rollout steps after each (Snell et al. 2024's lookahead search)."""
    return int(hyper["max_steps"]) * (1 + int(hyper["lookahead"]))


def _beam_no_wider(hyper: Mapping[str, Any], n: int) -> dict[str, Any]:
    """A beam cannot be wider than the number of beams."""
    return {"beam_width": min(int(hyper["beam_width"]), n)}


@register("beam_search", rollout_samples=_steps_with_lookahead, fit_size=_beam_no_wider)
def beam_search(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int = 16,
    beam_width: int = 4,
    lookahead: int = 0,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "weighted",
) -> Result:
    """PRM-guided beam search (Snell et al. 2024; search-and-learn ``_beam_search``).

    Each depth: the n active beams (the N/M survivors, each copied to fill n) take one step;
    children are scored (after an optional `lookahead`); finished ones join the completed set;
    the ``n // beam_width`` best active children survive. The answer is chosen by `select` over
    the first n completed beams (search-and-learn's default, ``sort_completed=False``).
    """
    hyper = dict(
        n=n,
        beam_width=beam_width,
        lookahead=lookahead,
        agg=agg,
        max_steps=max_steps,
        select=select,
        **_common(temperature, top_p, max_step_tokens, max_tokens),
    )
    check_step_hyper("beam_search", verifier, **hyper)
    if beam_width > n:
        raise ValueError(f"beam_search: beam_width ({beam_width}) must be <= n ({n})")
    run = Run("beam_search", problem, generator, verifier, budget)
    keep = n // beam_width
    beams, toks = [""], [0]
    completed: list[Candidate] = []
    stop = "max_steps"
    for depth in range(max_steps):
        last = depth == max_steps - 1
        outs = expand(
            run,
            rng,
            beams,
            _spread(n, len(beams)),
            last=last,
            n_tokens=toks,
            info={"depth": depth},
            **_common(temperature, top_p, max_step_tokens, max_tokens),
        )
        if outs is None:
            stop = "budget"
            break
        kids = _children(beams, toks, outs, last, max_tokens)
        texts, fin = [k.text for k in kids], [k.finished for k in kids]
        sc = _score_children(run, rng, texts, fin, agg, lookahead, top_p, max_step_tokens, depth)
        if sc is None:
            stop = "budget"
            break
        scores, raw = sc
        for j, k in enumerate(kids):
            if k.finished:
                completed.append(candidate(problem, k.text, True, scores[j], raw[j], depth=depth, n_tokens=k.n_tokens))
        # the best n // beam_width active children survive (a stable sort: ties keep their order)
        active = sorted((j for j in range(len(kids)) if not fin[j]), key=lambda j: -scores[j])
        survivors = active[:keep]
        run.note(
            "select",
            {
                "depth": depth,
                "parents": [k.parent for k in kids],
                "scores": scores,
                "finished": fin,
                "survivors": survivors,
                "n_completed": len(completed),
            },
        )
        beams, toks = [texts[j] for j in survivors], [kids[j].n_tokens for j in survivors]
        if not beams:
            stop = "done"
            break
    unfinished = [candidate(problem, t, False, None, None, n_tokens=k) for t, k in zip(beams, toks)]
    cands = completed + (unfinished if stop != "done" else [])
    answer, info = select_answer(completed[:n], select, problem=problem)
    run.note("answer", {**info, "stop": stop})
    return run.finish(answer, cands, hyper=hyper)


# --- diverse verifier tree search ------------------------------------------------------------
@register("dvts", rollout_samples=_steps_with_lookahead, fit_size=_beam_no_wider)
def dvts(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int = 16,
    beam_width: int = 4,
    lookahead: int = 0,
    temperature: float = 0.8,
    top_p: float = 1.0,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "weighted",
) -> Result:
    """Diverse verifier tree search (Beeching et al., search-and-learn ``_dvts``).

    ``n // beam_width`` independent subtrees; at each depth every live subtree expands its beam
    into `beam_width` children and keeps the best-scoring one; a subtree ends when its kept
    child is finished. The candidates are each subtree's last `beam_width` children.
    """
    hyper = dict(
        n=n,
        beam_width=beam_width,
        lookahead=lookahead,
        agg=agg,
        max_steps=max_steps,
        select=select,
        **_common(temperature, top_p, max_step_tokens, max_tokens),
    )
    check_step_hyper("dvts", verifier, **hyper)
    if n % beam_width:
        raise ValueError(f"dvts: n ({n}) must be a multiple of beam_width ({beam_width}), as in search-and-learn")
    run = Run("dvts", problem, generator, verifier, budget)
    n_trees = n // beam_width
    beam, toks, done = [""] * n_trees, [0] * n_trees, [False] * n_trees
    leaves: list[list[Candidate]] = [[] for _ in range(n_trees)]  # each subtree's last children
    stop = "max_steps"
    for depth in range(max_steps):
        alive = [t for t in range(n_trees) if not done[t]]
        if not alive:
            stop = "done"
            break
        last = depth == max_steps - 1
        outs = expand(
            run,
            rng,
            [beam[t] for t in alive],
            [beam_width] * len(alive),
            last=last,
            n_tokens=[toks[t] for t in alive],
            info={"depth": depth},
            **_common(temperature, top_p, max_step_tokens, max_tokens),
        )
        if outs is None:
            stop = "budget"
            break
        # children name their subtree (the index into `beam`), not their position among the alive ones
        kids = [
            replace(k, parent=alive[k.parent])
            for k in _children([beam[t] for t in alive], [toks[t] for t in alive], outs, last, max_tokens)
        ]
        texts, fin = [k.text for k in kids], [k.finished for k in kids]
        sc = _score_children(run, rng, texts, fin, agg, lookahead, top_p, max_step_tokens, depth)
        if sc is None:
            stop = "budget"
            break
        scores, raw = sc
        kept = []
        for t in alive:
            js = [j for j, k in enumerate(kids) if k.parent == t]
            best = max(js, key=lambda j: (scores[j], -j))
            kept.append(best)
            leaves[t] = [
                candidate(
                    problem, texts[j], fin[j], scores[j], raw[j], subtree=t, depth=depth, n_tokens=kids[j].n_tokens
                )
                for j in js
            ]
            beam[t], toks[t], done[t] = texts[best], kids[best].n_tokens, fin[best]
        run.note(
            "select",
            {"depth": depth, "parents": [k.parent for k in kids], "scores": scores, "finished": fin, "kept": kept},
        )
    cands = [c for group in leaves for c in group]
    answer, info = select_answer(cands, select, problem=problem)
    run.note("answer", {**info, "stop": stop})
    return run.finish(answer, cands, hyper=hyper)


# --- REBASE ----------------------------------------------------------------------------------
def balanced_widths(rewards: Sequence[float], width: int, softmax_temperature: float) -> list[int]:
    """REBASE's expansion widths: ``W_j ≈ width · softmax(R / T)_j``, summing to `width`.

    As in the authors' ``select_softmax``: nodes in order of decreasing reward each take
    ``ceil(remaining · e_j / Σ_remaining e)`` and leave the rest to the others, so the widths sum
    to exactly `width` and low-reward nodes may get none. Returned in the input order.

    >>> balanced_widths([0.9, 0.1, 0.5], 8, 0.5)
    [5, 0, 3]
    """
    r = np.asarray(rewards, dtype=float) / softmax_temperature
    e = np.exp(r - r.max())
    order = sorted(range(len(e)), key=lambda i: -r[i])  # stable sort: ties keep input order
    out = [0] * len(e)
    left, mass = width, float(e.sum())
    for i in order:
        k = min(left, int(math.ceil(left * e[i] / mass - 1e-12))) if mass > 0 else 0
        out[i] = k
        left -= k
        mass -= float(e[i])
    return out


@register("rebase", rollout_samples=_steps)
def rebase(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int = 16,
    softmax_temperature: float = 0.2,
    temperature: float = 1.0,
    top_p: float = 1.0,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "weighted",
) -> Result:
    """Reward-balanced search (Wu et al. 2024, arXiv:2408.00724, Algorithm "REBASE").

    Width `n` (the number of solutions); the root is expanded into n children; at each depth
    finished nodes each take one unit of width for good, and the rest is shared among the active
    nodes by `balanced_widths` of their last-step PRM reward (the authors' node score; defaults
    T = 0.2 and sampling temperature 1.0 from their rebase.yaml). The answer: `select` over all
    finished leaves (the paper's weighted majority vote, weights aggregated with `agg`).
    """
    hyper = dict(
        n=n,
        softmax_temperature=softmax_temperature,
        agg=agg,
        max_steps=max_steps,
        select=select,
        **_common(temperature, top_p, max_step_tokens, max_tokens),
    )
    check_step_hyper("rebase", verifier, **hyper)
    run = Run("rebase", problem, generator, verifier, budget)
    frontier, toks, rewards = [""], [0], [1.0]  # the root, reward 1.0 as in the authors' TreeNode
    leaves: list[Candidate] = []
    width, stop = n, "max_steps"
    for depth in range(max_steps):
        widths = [n] if depth == 0 else balanced_widths(rewards, width, softmax_temperature)
        last = depth == max_steps - 1
        outs = expand(
            run,
            rng,
            frontier,
            widths,
            last=last,
            n_tokens=toks,
            info={"depth": depth, "widths": widths},
            **_common(temperature, top_p, max_step_tokens, max_tokens),
        )
        if outs is None:
            stop = "budget"
            break
        kids = _children(frontier, toks, outs, last, max_tokens)
        sc = score_nodes(run, [k.text for k in kids], agg, info={"depth": depth})
        if sc is None:
            stop = "budget"
            break
        agg_scores, raw = sc
        last_step = [float(s[-1]) for s in raw]
        for j, k in enumerate(kids):
            if k.finished:
                leaves.append(candidate(problem, k.text, True, agg_scores[j], raw[j], depth=depth, n_tokens=k.n_tokens))
        act = [j for j, k in enumerate(kids) if not k.finished]
        width -= len(kids) - len(act)
        run.note(
            "select",
            {
                "depth": depth,
                "parents": [k.parent for k in kids],
                "scores": agg_scores,
                "finished": [k.finished for k in kids],
                "remaining_width": width,
            },
        )
        frontier, toks, rewards = (
            [kids[j].text for j in act],
            [kids[j].n_tokens for j in act],
            [last_step[j] for j in act],
        )
        if width <= 0 or not frontier:
            stop = "done"
            break
    unfinished = [candidate(problem, t, False, None, None, n_tokens=k) for t, k in zip(frontier, toks)]
    cands = leaves + (unfinished if stop != "done" else [])
    answer, info = select_answer(leaves, select, problem=problem)
    run.note("answer", {**info, "stop": stop})
    return run.finish(answer, cands, hyper=hyper)
