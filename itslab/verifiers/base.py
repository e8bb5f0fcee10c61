"""Small helpers shared by verifiers: step splitting, token estimates, cost records.

Every verifier's `cost(problem, texts)` must equal what `score` spends (docs/architecture.md, "Contracts"),
so both go through the same counting functions here.
"""

from __future__ import annotations

import math
from typing import Sequence

from itslab.budget import CostModel
from itslab.protocols import STEP_DELIMITER
from itslab.types import Problem, Usage


def split_steps(text: str, delimiter: str = STEP_DELIMITER) -> list[str]:
    """Steps of a solution: pieces between `delimiter`s, blank ones dropped; at least one (maybe empty) step.

    Blank pieces are dropped so that a trailing delimiter (a step-wise generator stops after
    one) does not add a phantom step; an empty text is one empty step so every text gets a score.
    """
    steps = [s for s in str(text).split(delimiter) if s.strip()]
    return steps or [str(text)]


def approx_tokens(text: str) -> int:
    """Token count estimate, ~4 characters per token (the common rule of thumb for BPE vocabularies).

    Used by simulated verifiers, which have no tokenizer, so that their cost scales with text
    length like a real model's would.
    """
    return math.ceil(len(text) / 4) if text else 0


def read_tokens(problem: Problem, texts: Sequence[str]) -> int:
    """Estimated tokens a model verifier reads for `texts`: the prompt plus each text, per text."""
    p = approx_tokens(problem.prompt)
    return sum(p + approx_tokens(t) for t in texts)


def rule_cost(texts: Sequence[str]) -> Usage:
    """Usage of a rule-based check (no model): one verifier call per text, no tokens, no FLOPs."""
    return Usage(verifier_calls=len(texts))


def model_cost(n_calls: int, n_tokens: int, cost_model: CostModel | None) -> Usage:
    """Usage of `n_calls` model calls reading `n_tokens` tokens (FLOPs = 2·verifier_params·tokens)."""
    return (cost_model or CostModel()).verifier_usage(n_calls, n_tokens)


def as_texts(texts: Sequence[str], where: str) -> list[str]:
    """`texts` as a list of strings; a clear error for a bare string or a non-string item."""
    if isinstance(texts, str):
        raise TypeError(f"{where}: texts must be a sequence of strings, got a single str")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{where}: texts[{i}] must be str, got {type(t).__name__}")
    return out
