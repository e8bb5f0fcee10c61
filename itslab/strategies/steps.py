"""Step-level primitives shared by the search and SMC strategies: batched expansion, lookahead,
PRM scoring, candidates and the final-answer rules.

Strategies speak in text prefixes: a node (beam, particle) is a partial solution, the text after
the prompt; `expand` continues ``run.prompt + text`` for every node in ONE `Run.sample_batch`
call, one step at a time (``stop=(STEP_DELIMITER,)``), so a prefix-caching backend re-reads
nothing; `itslab.strategies.base.step_finished` decides when a node's solution is finished.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from itslab.protocols import STEP_DELIMITER, Scores, Verifier
from itslab.rng import draw_seed
from itslab.strategies.base import Run, extract, outcome_score, step_finished
from itslab.strategies.sampling import _vote
from itslab.trace import Candidate
from itslab.types import Completion, Problem, Request
from itslab.verifiers import AGGREGATIONS

SELECT_RULES: tuple[str, ...] = ("weighted", "best", "majority")


def check_step_hyper(name: str, verifier: Verifier | None, **kw: Any) -> None:
    """Clear errors for bad step-level hyperparameters (positive counts, known rules)."""
    if verifier is None:
        raise ValueError(f"{name} needs a process verifier (PRM) to score steps, got verifier=None")
    for k in ("n", "n_particles", "beam_width", "max_steps", "max_step_tokens", "max_tokens", "n_iterations"):
        if k in kw and (not isinstance(kw[k], int) or kw[k] < 1):
            raise ValueError(f"{name}: {k} must be an int >= 1, got {kw[k]!r}")
    if "lookahead" in kw and (not isinstance(kw["lookahead"], int) or kw["lookahead"] < 0):
        raise ValueError(f"{name}: lookahead must be an int >= 0, got {kw['lookahead']!r}")
    for k in ("temperature", "softmax_temperature"):
        if k in kw and not kw[k] >= (0 if k == "temperature" else 1e-12):
            raise ValueError(f"{name}: {k} must be {'>= 0' if k == 'temperature' else '> 0'}, got {kw[k]!r}")
    if "agg" in kw and kw["agg"] not in AGGREGATIONS:
        raise ValueError(f"{name}: agg must be one of {', '.join(AGGREGATIONS)}; got {kw['agg']!r}")
    rules = kw.get("_rules", SELECT_RULES)
    if "select" in kw and kw["select"] not in rules:
        raise ValueError(f"{name}: select must be one of {', '.join(rules)}; got {kw['select']!r}")


def expand(
    run: Run,
    rng: np.random.Generator,
    texts: Sequence[str],
    counts: Sequence[int],
    *,
    last: bool,
    temperature: float,
    top_p: float,
    max_step_tokens: int,
    max_tokens: int,
    n_tokens: Sequence[int] | None = None,
    kind: str = "expand",
    info: dict | None = None,
) -> list[list[Completion]] | None:
    """``counts[i]`` continuations of ``run.prompt + texts[i]``, all in ONE `Run.sample_batch` call.

    One step (``stop=(STEP_DELIMITER,)``, at most `max_step_tokens`), or when `last` the rest of
    the solution (no stop, at most ``max_tokens - n_tokens[i]``). A seed is drawn from `rng` for
    every node, in order, so results depend only on the seed. None when the batch does not fit.
    """
    seeds = [draw_seed(rng) for _ in texts]
    used = n_tokens if n_tokens is not None else [0] * len(texts)
    reqs, where = [], []
    for i, (t, k) in enumerate(zip(texts, counts)):
        if k > 0:
            mt = max(1, max_tokens - used[i]) if last else max_step_tokens
            reqs.append(
                Request(
                    prefix=run.prompt + t,
                    n=int(k),
                    max_tokens=mt,
                    temperature=temperature,
                    top_p=top_p,
                    stop=() if last else (STEP_DELIMITER,),
                    seed=seeds[i],
                )
            )
            where.append(i)
    if not reqs:
        return [[] for _ in texts]
    outs = run.sample_batch(reqs, kind=kind, info={"last": last, **(info or {})})
    if outs is None:
        return None
    full: list[list[Completion]] = [[] for _ in texts]
    for i, o in zip(where, outs):
        full[i] = o
    return full


def lookahead_texts(
    run: Run,
    rng: np.random.Generator,
    texts: Sequence[str],
    finished: Sequence[bool],
    k: int,
    *,
    top_p: float,
    max_step_tokens: int,
) -> list[str]:
    """Greedy (T = 0) rollouts of up to `k` more steps per unfinished node, for scoring only.

    Snell et al. 2024's lookahead search (search-and-learn ``generate_k_steps``): one batched call
    per lookahead step; stops early when the budget runs out (the partial rollout is scored).
    """
    ext = [""] * len(texts)
    done = list(finished)
    for j in range(k):
        idx = [i for i in range(len(texts)) if not done[i]]
        if not idx:
            break
        outs = expand(
            run,
            rng,
            [texts[i] + ext[i] for i in idx],
            [1] * len(idx),
            last=False,
            temperature=0.0,
            top_p=top_p,
            max_step_tokens=max_step_tokens,
            max_tokens=max_step_tokens,
            kind="lookahead",
            info={"lookahead_step": j + 1},
        )
        if outs is None:
            break
        for i, o in zip(idx, outs):
            ext[i] += o[0].text
            done[i] = step_finished(o[0])
    return ext


def score_nodes(
    run: Run, texts: Sequence[str], agg: str, *, info: dict | None = None
) -> tuple[list[float], list[Scores]] | None:
    """Aggregated PRM scores (and the raw per-step scores) of `texts`; None when scoring does not fit."""
    raw = run.score(list(texts), kind="prm", info=info)
    if raw is None:
        return None
    return [outcome_score(s, agg) for s in raw], raw


def candidate(
    problem: Problem, text: str, finished: bool, score: float | None, raw: Scores | None, **meta: Any
) -> Candidate:
    """A `Candidate` for a node: the answer only when finished (an unfinished text's last number is no answer)."""
    steps = raw if raw is not None and len(raw) > 1 else None
    return Candidate(text, extract(problem, text) if finished else None, score, steps, {"finished": finished, **meta})


def select_answer(
    cands: Sequence[Candidate],
    rule: str,
    weights: Sequence[float] | np.ndarray | None = None,
    *,
    problem: Problem | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """The final answer among finished, scored candidates by `rule`.

    ``best``: the highest score (ties: earliest); ``weighted``: the answer with the largest summed
    weight (default weight: the score; Li et al. 2023, search-and-learn); ``majority``: the most
    frequent answer (Wang et al. 2023). Answers are grouped by `itslab.tasks.same_answer` for `problem`.
    """
    w = [c.score for c in cands] if weights is None else list(weights)
    idx = [
        i
        for i, c in enumerate(cands)
        if c.meta.get("finished")
        and c.answer is not None
        and (rule == "majority" or (w[i] is not None and math.isfinite(float(w[i] or 0.0))))
    ]
    if not idx:
        return None, {"rule": rule, "n_finished": 0}
    if rule == "best":
        best = max(idx, key=lambda i: (float(w[i] or 0.0), -i))  # idx holds only finite scores here
        return cands[best].answer, {"rule": rule, "n_finished": len(idx), "best_index": best, "best_score": w[best]}
    ones = [1.0] * len(idx)
    weights = ones if rule == "majority" else [float(w[i] or 0.0) for i in idx]
    answer, info = _vote([cands[i].answer for i in idx], weights, problem)
    return answer, {"rule": rule, "n_finished": len(idx), **info}
