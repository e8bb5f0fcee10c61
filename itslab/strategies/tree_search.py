"""Tree search over whole answers with a score-returning evaluator: AB-MCTS and standard MCTS.

A node is a scored candidate (`itslab.strategies.refinement.Node`); the root is the prompt. To
expand the root is to sample a fresh answer ("wider"); to expand any other node is to refine its
answer with the evaluator's feedback ("deeper"). Every expansion is one generator call.

- ``ab_mcts``: Adaptive Branching MCTS, AB-MCTS-A (Inoue et al. 2025, *Wider or Deeper?*,
  arXiv:2503.04412; SakanaAI's treequest ``ABMCTSA``). At each node Thompson sampling chooses
  between a GEN arm (make a new child of this node) and a CONT arm (descend into an existing
  child, itself chosen by Thompson sampling over the children's arms). GEN's posterior holds the
  scores of the node's directly generated children, CONT's the scores found below its children,
  a child's arm its own score and its descendants'. Posteriors are Beta (scores as fractional
  successes, Jeffreys prior) or Normal-inverse-gamma (treequest's default prior m = 0, κ = 1,
  ν = 1, τ² = 0.1). `policy="wider"` always takes GEN at the root: repeated sampling.
- ``mcts``: treequest's ``StandardMCTS``: descend by UCT (value mean + c · prior ·
  √(ln N_parent / N_child), prior = softmax of sibling scores) to a leaf, expand it with
  `n_children` children, back up visit counts and score sums. A node is expanded once.

Both are ask/tell loops over explicit state (`ABMCTSTree`), as treequest's algorithms are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run
from itslab.strategies.refinement import ROOT, Proposer
from itslab.trace import Result
from itslab.types import Problem

_NIG_PRIOR = (0.0, 1.0, 1.0, 0.1)  # m, kappa, nu, tau^2: treequest's GaussianPrior defaults


@dataclass
class Posterior:
    """One arm's posterior over the scores it yields, for Thompson sampling (`draw`)."""

    dist: str = "beta"
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, score: float) -> None:
        self.n, self.total, self.squares = self.n + 1, self.total + score, self.squares + score * score

    def draw(self, rng: np.random.Generator) -> float:
        """A draw of the arm's mean score from its posterior."""
        if self.dist == "beta":  # a score in [0, 1] counts as that fraction of a success
            s = min(max(self.total, 0.0), self.n)
            return float(rng.beta(0.5 + s, 0.5 + self.n - s))
        m0, k0, nu0, tau0 = _NIG_PRIOR
        n = self.n
        mean = self.total / n if n else 0.0
        ss = max(self.squares - n * mean * mean, 0.0)  # sum of squared deviations
        kappa, nu = k0 + n, nu0 + n
        m = (k0 * m0 + n * mean) / kappa
        tau = (nu0 * tau0 + ss + n * k0 * (m0 - mean) ** 2 / kappa) / nu
        sigma2 = (nu * tau / 2.0) / rng.gamma(nu / 2.0)  # inverse-gamma(nu/2, nu tau/2)
        return float(rng.normal(m, math.sqrt(sigma2 / kappa)))


@dataclass
class ABMCTSTree:
    """AB-MCTS-A's state: children per node and the GEN / CONT / child arms (`ROOT` = -1 is the prompt)."""

    dist: str = "beta"
    parent: dict[int, int] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=lambda: {ROOT: []})
    gen: dict[int, Posterior] = field(default_factory=dict)
    cont: dict[int, Posterior] = field(default_factory=dict)
    arm: dict[int, Posterior] = field(default_factory=dict)

    def _post(self, table: dict[int, Posterior], v: int) -> Posterior:
        if v not in table:
            table[v] = Posterior(self.dist)
        return table[v]

    def ask(self, rng: np.random.Generator, policy: str = "thompson") -> int:
        """The node to expand: descend while Thompson sampling prefers CONT to GEN."""
        v = ROOT
        while self.children.get(v):
            if policy == "wider" and v == ROOT:
                return ROOT
            # GEN vs CONT: the larger posterior draw wins (ties go to GEN, as in treequest's order)
            if self._post(self.gen, v).draw(rng) >= self._post(self.cont, v).draw(rng):
                return v
            kids = self.children[v]
            draws = [self.arm[c].draw(rng) for c in kids]
            v = kids[int(np.argmax(draws))]
        return v

    def tell(self, parent: int, node: int, score: float) -> None:
        """Add `node` (a child of `parent` with `score`) and back its score up the path to the root."""
        self.parent[node] = parent
        self.children.setdefault(parent, []).append(node)
        self.children[node] = []
        self._post(self.gen, parent).add(score)
        self._post(self.arm, node).add(score)
        cur = parent
        while cur != ROOT:  # every ancestor's arm, and CONT of its parent, see the new score
            up = self.parent[cur]
            self.arm[cur].add(score)
            self._post(self.cont, up).add(score)
            cur = up


def _hyper(**kw) -> dict:
    return dict(kw)


@register("ab_mcts")
def ab_mcts(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    dist: str = "gaussian",
    policy: str = "thompson",
    stop_score: float | None = 1.0,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """AB-MCTS-A (module docstring): `n` generator calls, each a fresh sample or a refinement.

    `dist`: "beta" or "gaussian" posteriors; `policy`: "thompson" (adaptive) or "wider" (always
    GEN at the root: repeated sampling). Stops early when a candidate scores `stop_score`.
    """
    if dist not in ("beta", "gaussian") or policy not in ("thompson", "wider"):
        raise ValueError(f"ab_mcts: dist must be beta|gaussian and policy thompson|wider, got {dist!r}, {policy!r}")
    run = Run("ab_mcts", problem, generator, verifier, budget)
    prop = Proposer(run, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop_score=stop_score)
    tree = ABMCTSTree(dist)
    while not prop.stopped:
        parent = tree.ask(rng, policy)
        node = prop.propose(rng, parent)
        if node is None:
            break
        tree.tell(parent, node.index, node.score)
    hyper = _hyper(
        n=n,
        dist=dist,
        policy=policy,
        stop_score=stop_score,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
    )
    return prop.result(hyper)


@register("mcts")
def mcts(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    n_children: int = 2,
    exploration: float = math.sqrt(2.0),
    stop_score: float | None = 1.0,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Standard MCTS (treequest's ``StandardMCTS``, module docstring) with `n` generator calls."""
    if n_children < 1:
        raise ValueError(f"mcts: n_children must be >= 1, got {n_children}")
    run = Run("mcts", problem, generator, verifier, budget)
    prop = Proposer(run, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop_score=stop_score)
    parent: dict[int, int] = {}
    children: dict[int, list[int]] = {ROOT: []}
    visits: dict[int, int] = {ROOT: 0}
    values: dict[int, float] = {ROOT: 0.0}
    prior: dict[int, float] = {}

    def uct(c: int, v: int) -> float:
        explore = exploration * prior.get(c, 1.0) * math.sqrt(math.log(max(visits[v], 1)) / visits[c])
        return values[c] / visits[c] + explore

    while not prop.stopped:
        v = ROOT
        while children[v]:
            v = max(children[v], key=lambda c: uct(c, v))
        for _ in range(n_children):
            node = prop.propose(rng, v)
            if node is None:
                break
            parent[node.index], children[node.index] = v, []
            children[v].append(node.index)
            cur: int | None = node.index
            visits[node.index], values[node.index] = 0, 0.0
            while cur is not None:  # back up the visit and the score to the root
                visits[cur] += 1
                values[cur] += node.score
                cur = parent.get(cur) if cur != ROOT else None
        sib = children[v]
        if sib:  # prior: softmax of the siblings' own scores
            w = np.exp([prop.nodes[c].score for c in sib])
            prior.update({c: float(x) for c, x in zip(sib, w / w.sum())})
    hyper = _hyper(
        n=n, n_children=n_children, exploration=exploration, stop_score=stop_score,
        max_tokens=max_tokens, temperature=temperature, top_p=top_p,
    )  # fmt: skip
    return prop.result(hyper)
