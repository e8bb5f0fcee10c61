"""Evolutionary search and sequential revision over whole answers, refined with the evaluator's feedback.

- ``evolutionary_search``: a small Mind Evolution (Lee et al. 2025, *Evolving Deeper LLM
  Thinking*, arXiv:2501.09891, section 3). `n_islands` sub-populations evolve apart. Generation
  0: on each island `n_convs` conversations each sample a fresh answer and refine it
  `n_seq` - 1 times with the evaluator's feedback (the paper's "refinement through critical
  conversation", here one refinement per turn). Later generations: each conversation starts from
  a parent drawn by Boltzmann tournament (probability ∝ exp(score / `selection_temperature`))
  from its island and refines it `n_seq` times. After every generation the best `n_migrate`
  candidates of island i are copied to island i + 1. Differs from the paper: one parent per
  conversation (no recombination of several), no island reset. The paper's setting is 10
  generations × 4 islands × 5 conversations × 4 turns = 800 candidates.
- ``sequential_revision``: `n_chains` independent conversations (Lee et al.'s
  Sequential-Revision+ runs 10 of 80 turns), each a fresh answer then refinements of its latest
  answer with feedback. With ``n = 1`` it is one sample.

Both stop early when a candidate reaches `stop_score` (the paper stops on a valid plan).
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


def _chain(prop: Proposer, rng: np.random.Generator, start: int, turns: int) -> list[int]:
    """Refine from `start` (`ROOT`: sample fresh first) for `turns` calls, each turn the latest answer."""
    made: list[int] = []
    cur = start
    for _ in range(turns):
        node = prop.propose(rng, cur)
        if node is None:
            break
        made.append(node.index)
        cur = node.index
    return made


def boltzmann(scores: list[float], k: int, temperature: float, rng: np.random.Generator) -> list[int]:
    """`k` indices drawn with replacement, probability ∝ exp(score / temperature) (Boltzmann tournament)."""
    z = np.asarray(scores, dtype=float) / temperature
    w = np.exp(z - z.max())
    return [int(i) for i in rng.choice(len(scores), size=k, p=w / w.sum())]


@register("evolutionary_search")
def evolutionary_search(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    n_islands: int = 4,
    n_convs: int = 5,
    n_seq: int = 4,
    n_migrate: int = 1,
    selection_temperature: float = 0.1,
    stop_score: float | None = 1.0,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """Mind Evolution, small (module docstring): islands, Boltzmann selection, refinement with feedback."""
    if min(n_islands, n_convs, n_seq) < 1 or n_migrate < 0 or selection_temperature <= 0:
        raise ValueError(
            "evolutionary_search: n_islands, n_convs, n_seq >= 1, n_migrate >= 0, selection_temperature > 0"
        )
    run = Run("evolutionary_search", problem, generator, verifier, budget)
    prop = Proposer(run, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop_score=stop_score)
    islands: list[list[int]] = [[] for _ in range(n_islands)]
    generation = 0
    while not prop.stopped:
        for pop in islands:
            if generation == 0 or not pop:
                starts, turns = [ROOT] * n_convs, n_seq
            else:
                starts = [
                    pop[i] for i in boltzmann([prop.nodes[j].score for j in pop], n_convs, selection_temperature, rng)
                ]
                turns = n_seq
            for s in starts:
                pop.extend(_chain(prop, rng, s, turns))
        if n_migrate and n_islands > 1:  # the best of island i join island i + 1
            best = [sorted(pop, key=lambda j: -prop.nodes[j].score)[:n_migrate] for pop in islands]
            for i, b in enumerate(best):
                islands[(i + 1) % n_islands].extend(j for j in b if j not in islands[(i + 1) % n_islands])
        run.note("generation", {"generation": generation, "n_nodes": len(prop.nodes)})
        generation += 1
    hyper = dict(
        n=n, n_islands=n_islands, n_convs=n_convs, n_seq=n_seq, n_migrate=n_migrate,
        selection_temperature=selection_temperature, stop_score=stop_score, max_tokens=max_tokens,
        temperature=temperature, top_p=top_p,
    )  # fmt: skip
    return prop.result(hyper)


@register("sequential_revision")
def sequential_revision(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    n_chains: int = 1,
    stop_score: float | None = 1.0,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
) -> Result:
    """`n_chains` conversations of ``n // n_chains`` calls (the first ones one more when it does not
    divide): a fresh answer, then refinements of the latest with the evaluator's feedback."""
    if n_chains < 1 or (n is None and n_chains > 1):
        raise ValueError(f"sequential_revision: n_chains must be >= 1 (and 1 when n is None), got {n_chains}")
    run = Run("sequential_revision", problem, generator, verifier, budget)
    prop = Proposer(run, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop_score=stop_score)
    if n is None:
        _chain(prop, rng, ROOT, 1 << 30)  # until the budget stops it
    else:
        for i in range(n_chains):
            _chain(prop, rng, ROOT, n // n_chains + (1 if i < n % n_chains else 0))
    hyper = dict(
        n=n, n_chains=n_chains, stop_score=stop_score, max_tokens=max_tokens, temperature=temperature, top_p=top_p
    )
    return prop.result(hyper)
