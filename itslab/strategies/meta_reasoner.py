"""A contextual bandit over reasoning strategies: Meta-Reasoner, small.

Sui, He, Cao, Han, Chen & Hooi 2025, *Meta-Reasoner: Dynamic Guidance for Optimized
Inference-time Reasoning in Large Language Models* (arXiv:2502.19918). The paper decouples *how
to go on* from the step-by-step generation: after each round of reasoning a short progress report
is the context of a contextual multi-armed bandit whose arms are strategies (continue, backtrack,
restart, ...); the chosen strategy steers the next round, and the bandit learns from the progress
the round made.

Here one round is one generator call over whole answers, scored by the evaluator (as in
`itslab.strategies.refinement`), and the arms are the three strategies that operation can express:

- ``continue``: refine the latest answer with the evaluator's feedback on it;
- ``backtrack``: refine the best answer found so far (return to the best earlier state);
- ``restart``: sample a fresh answer from the prompt.

The progress report is the context vector ``[1, best score, latest score, stall]`` (stall = rounds
since the best improved, squashed to [0, 1)); ``contextual=False`` keeps only the constant, a
plain (non-contextual) bandit. The policy is LinUCB (Li, Chu, Langford & Schapire 2010): per arm a
ridge regression of reward on context, the arm with the largest upper confidence bound
``θᵀx + alpha·√(xᵀA⁻¹x)`` is chosen, ties broken by `rng`. The reward is the round's improvement of
the best score, ``max(0, new − best before)``: an arm earns only by moving the search forward.
Differs from the paper: the paper's progress report is written by an LLM and its strategies are
free-text instructions to the reasoner; ours are the three structural moves above, the context is
computed from scores, and the bandit starts afresh on each problem (no learning across problems).
"""

from __future__ import annotations

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run
from itslab.strategies.refinement import ROOT, Proposer
from itslab.trace import Result
from itslab.types import Problem

ARMS = ("continue", "backtrack", "restart")


class LinUCB:
    """Disjoint LinUCB (Li et al. 2010): one ridge regression of reward on context per arm."""

    def __init__(self, n_arms: int, dim: int, alpha: float, ridge: float = 1.0) -> None:
        self.alpha = float(alpha)
        self.A = np.stack([ridge * np.eye(dim) for _ in range(n_arms)])
        self.b = np.zeros((n_arms, dim))

    def bounds(self, x: np.ndarray) -> np.ndarray:
        """Each arm's upper confidence bound on its reward at context `x`."""
        inv = np.linalg.inv(self.A)
        theta = np.einsum("aij,aj->ai", inv, self.b)
        width = np.sqrt(np.einsum("i,aij,j->a", x, inv, x))
        return theta @ x + self.alpha * width

    def choose(self, x: np.ndarray, allowed: list[int], rng: np.random.Generator) -> int:
        """The allowed arm with the largest bound at `x` (ties: a uniform draw)."""
        ucb = self.bounds(x)[allowed]
        top = np.flatnonzero(np.isclose(ucb, ucb.max()))
        return allowed[int(rng.choice(top))]

    def update(self, arm: int, x: np.ndarray, reward: float) -> None:
        self.A[arm] += np.outer(x, x)
        self.b[arm] += reward * x


def progress_context(best: float, latest: float, stall: int, contextual: bool) -> np.ndarray:
    """The bandit's context: the progress report as numbers (a constant only when not contextual)."""
    if not contextual:
        return np.ones(1)
    return np.array([1.0, best, latest, stall / (1.0 + stall)])


@register("meta_reasoner")
def meta_reasoner(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    arms: tuple[str, ...] = ARMS,
    alpha: float = 0.5,
    contextual: bool = True,
    stop_score: float | None = 1.0,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Meta-Reasoner (Sui et al. 2025; module docstring): LinUCB over continue / backtrack / restart."""
    unknown = [a for a in arms if a not in ARMS]
    if not arms or unknown or len(set(arms)) != len(arms):
        raise ValueError(f"meta_reasoner: arms must be distinct names from {ARMS}, got {arms!r}")
    if alpha < 0:
        raise ValueError(f"meta_reasoner: alpha must be >= 0, got {alpha}")
    run = Run("meta_reasoner", problem, generator, verifier, budget)
    prop = Proposer(run, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop_score=stop_score)
    index = [ARMS.index(a) for a in arms]
    bandit = LinUCB(len(ARMS), 4 if contextual else 1, alpha)
    latest = best = ROOT
    stall = 0
    while not prop.stopped:
        if best == ROOT:  # nothing to continue from yet: the first round samples
            arm, x = ARMS.index("restart"), None
        else:
            s_best, s_latest = prop.nodes[best].score, prop.nodes[latest].score
            x = progress_context(s_best, s_latest, stall, contextual)
            arm = bandit.choose(x, index, rng)
        parent = {"continue": latest, "backtrack": best, "restart": ROOT}[ARMS[arm]]
        node = prop.propose(rng, parent)
        if node is None:
            break
        before = prop.nodes[best].score if best != ROOT else 0.0
        reward = max(0.0, node.score - before)
        if x is not None:
            bandit.update(arm, x, reward)
        latest = node.index
        if best == ROOT or node.score > before:
            best, stall = node.index, 0
        else:
            stall += 1
        run.note(
            "strategy",
            {
                "round": len(prop.nodes) - 1,
                "arm": ARMS[arm],
                "chosen": x is not None,
                "reward": reward,
                "node": node.index,
            },
        )
    hyper = dict(
        n=n, arms=tuple(arms), alpha=alpha, contextual=contextual, stop_score=stop_score, max_tokens=max_tokens,
        temperature=temperature, top_p=top_p,
    )  # fmt: skip
    return prop.result(hyper)


def arm_shares(result: Result) -> dict[str, float]:
    """Share of a `meta_reasoner` run's bandit choices that took each strategy (the first round, which
    must sample fresh, is not a choice)."""
    picks = [s.info["arm"] for s in result.trace if s.kind == "strategy" and s.info["chosen"]]
    return {a: (picks.count(a) / len(picks) if picks else float("nan")) for a in ARMS}
