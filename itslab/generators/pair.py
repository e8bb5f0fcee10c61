"""A small drafter beside a large target model: what speculative strategies run on.

`ModelPair` is the target as far as the Generator protocol goes (``generate``, prompts, token
counts, log-probabilities and size are the target's), and carries the drafter beside it, so a
strategy that knows about pairs (`itslab.strategies.speculative`) drafts with ``pair.drafter``
and falls back to, or scores with, the target; any other strategy simply runs on the target.
Each model keeps its own tokenizer and chat template: the two exchange text only, which is all
step-level speculation needs (SpecReason, Pan et al. 2025, arXiv:2504.07891).

>>> from itslab.generators.simulated import make_suite
>>> problems, gen = make_suite(1, seed=0, kind="stepwise")
>>> pair = ModelPair(gen, gen)
>>> pair.target is gen and pair.n_params == gen.n_params
True
"""

from __future__ import annotations

from typing import Any

from itslab.protocols import GeneratorWrapper, prompt_for
from itslab.types import Problem


class ModelPair(GeneratorWrapper):
    """`target` behind the Generator protocol, with `drafter` beside it (both any Generator)."""

    def __init__(self, drafter: Any, target: Any) -> None:
        for role, g in (("drafter", drafter), ("target", target)):
            if not callable(getattr(g, "generate", None)):
                raise TypeError(f"ModelPair: the {role} must be a Generator (with generate), got {type(g).__name__}")
        super().__init__(target)
        self.drafter, self.target = drafter, target
        self.model_id = f"{drafter.model_id}+{target.model_id}"

    def format_prompt(self, problem: Problem) -> str:
        """The target's prefix for `problem` (`prompt_for` on the target)."""
        return prompt_for(problem, self.target)

    def drafter_prompt(self, problem: Problem) -> str:
        """The drafter's prefix for `problem` (its own chat template)."""
        return prompt_for(problem, self.drafter)

    def __repr__(self) -> str:
        return f"ModelPair(drafter={self.drafter.model_id!r}, target={self.target.model_id!r})"
