"""The generator operation search-with-feedback strategies share: propose, or refine with feedback.

Tree search (`ab_mcts`, `mcts`) and evolutionary search (`evolutionary_search`,
`sequential_revision`) grow a set of scored candidates. Each candidate is a `Node`: made from
scratch (its parent is `ROOT`, the prompt) or by refining a parent candidate with the evaluator's
feedback on it. `refine_prefix` is the one refinement prompt (the problem, the parent's answer,
the feedback, then a corrected solution is asked for); a prefix-caching backend re-reads the
parent for free, and `RefineSimGenerator` reads the parent's state from it. Every proposal is one
generator call charged through `Run.sample` and one evaluator call through `Run.score`.

>>> refine_prefix("Q: 2, 5 -> 10?\\n", "2+5", "2+5 = 7, 3 away.").endswith("3 away.\\nA corrected solution:\\n")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from itslab.strategies.base import Run, extract, outcome_score
from itslab.trace import Candidate, Result

ROOT = -1
"""The parent index of a candidate generated from scratch (the prompt is the tree's root)."""


def refine_prefix(prompt: str, text: str, feedback: str) -> str:
    """The prefix that asks the generator to refine candidate `text` of `prompt` given `feedback`."""
    return f"{prompt}{text}\n\nFeedback on this answer: {feedback}\nA corrected solution:\n"


def feedback_for(run: Run, text: str, score: float) -> str:
    """The evaluator's feedback on `text` (its ``feedback`` method), else its score in words."""
    fb = getattr(run.verifier, "feedback", None)
    return str(fb(run.problem, text)) if callable(fb) else f"The evaluator scores this answer {score:.2f} out of 1."


@dataclass(frozen=True)
class Node:
    """One scored candidate: its index, its parent's (`ROOT` for a fresh one), text, score, feedback, depth."""

    index: int
    parent: int
    text: str
    score: float
    feedback: str
    depth: int
    n_tokens: int


class Proposer:
    """A strategy's ledger of nodes: `propose` generates (or refines) one candidate and scores it.

    `propose` returns None when the budget cannot pay for the generation or the evaluation;
    `stopped` says whether to stop (budget spent, `n` calls made, or a candidate reached `stop_score`).
    """

    def __init__(
        self, run: Run, n: int | None, *, max_tokens: int, temperature: float, top_p: float, stop_score: float | None
    ) -> None:
        if run.verifier is None:
            raise ValueError(f"{run.strategy} needs a score-returning evaluator, got verifier=None")
        if n is None:
            run.affordable(run.prompt, max_tokens)  # a clear error when the budget does not bound samples
        elif n < 1:
            raise ValueError(f"{run.strategy}: n must be >= 1, got {n}")
        self.run, self.n, self.stop_score = run, n, stop_score
        self.sampling = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "logprobs": True}
        self.nodes: list[Node] = []
        self.exhausted = False

    @property
    def stopped(self) -> bool:
        """Whether the search must stop: budget, call count, or a good enough candidate."""
        solved = self.stop_score is not None and any(x.score >= self.stop_score for x in self.nodes)
        return self.exhausted or solved or (self.n is not None and len(self.nodes) >= self.n)

    def propose(self, rng: np.random.Generator, parent: int = ROOT) -> Node | None:
        """Generate a child of `parent` (fresh from the prompt at `ROOT`, else a refinement) and score it."""
        if self.stopped:
            return None
        p = None if parent == ROOT else self.nodes[parent]
        prefix = self.run.prompt if p is None else refine_prefix(self.run.prompt, p.text, p.feedback)
        kind = "generate" if p is None else "refine"
        out = self.run.sample(prefix, 1, rng, kind=kind, info={"parent": parent}, **self.sampling)
        if not out:
            self.exhausted = True
            return None
        c = out[0]
        scored = self.run.score([c.text], info={"node": len(self.nodes)})
        if scored is None:
            self.exhausted = True
            return None
        s = outcome_score(scored[0])
        node = Node(
            len(self.nodes), parent, c.text, s, feedback_for(self.run, c.text, s), 1 + (p.depth if p else 0), c.n_tokens
        )
        self.nodes.append(node)
        return node

    def result(self, hyper: Mapping[str, Any]) -> Result:
        """Every node a candidate; the answer is the best-scored node's (ties: the earliest)."""
        problem = self.run.problem
        cands = [
            Candidate(
                x.text,
                extract(problem, x.text),
                x.score,
                None,
                {"index": x.index, "parent": x.parent, "depth": x.depth, "n_tokens": x.n_tokens},
            )
            for x in self.nodes
        ]
        best = max(self.nodes, key=lambda x: (x.score, -x.index)) if self.nodes else None
        fresh = sum(x.parent == ROOT for x in self.nodes)
        self.run.note(
            "answer",
            {
                "best": None if best is None else best.index,
                "n_fresh": fresh,
                "n_refined": len(self.nodes) - fresh,
                "max_depth": max((x.depth for x in self.nodes), default=0),
            },
        )
        return self.run.finish(None if best is None else cands[best.index].answer, cands, hyper=hyper)


def width_share(result: Result) -> float:
    """Share of a search's generator calls that made fresh candidates (wider) rather than refinements (deeper)."""
    depths = [c.meta.get("depth", 1) for c in result.candidates]
    return float(np.mean([d == 1 for d in depths])) if depths else float("nan")
