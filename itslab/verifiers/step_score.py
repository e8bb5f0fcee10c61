"""A model's 0–9 rating of the last reasoning step, read from its log-probabilities (SpecReason's scorer).

Pan et al. 2025 (arXiv:2504.07891) have the base model rate each speculated step from 0 to 9 in
one token; the authors' code can average the ten digits by their renormalised probabilities.
`StepScore` does that: after the problem (user turn), the solution so far (assistant turn) and a
request to rate its last step (user turn), the reply opens with ``Score:`` and the score is
``sum_d d·p(d) / sum_d p(d)`` over the continuations " 0" … " 9", divided by 9 so it lies in
[0, 1] like every verifier's; a strategy's 0–9 threshold compares with 9 × score. The first two
turns are what the model itself continues, so a prefix cache reads only the new step and the
question. Needs the model's ``logprob_of(prefix, continuation)`` (llama.cpp, transformers); with
``next_token_logprobs`` (llama.cpp) all ten digits come from one read, when their tokens differ
only in the last one (" 7" is a space and a digit for Qwen, one token for SmolLM2).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from itslab.budget import CostModel
from itslab.generators.common import count_tokens
from itslab.protocols import Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts

RATE_REQUEST = "Rate your last step from 0 (wrong) to 9 (surely right). Reply with one digit."
REPLY = "Score:"
DIGITS = tuple(f" {d}" for d in range(10))


class StepScore:
    """The expected 0–9 rating of the last step under `generator`'s digit probabilities, over 9."""

    def __init__(self, generator: Any, *, request: str = RATE_REQUEST, reply: str = REPLY, name: str = "step_score"):
        self.generator, self.request, self.reply, self.name = generator, request, reply, name

    def prefix(self, problem: Problem, text: str) -> str:
        """The rating prompt for the solution `text` (its last step is rated)."""
        turns = [*(problem.messages or ({"role": "user", "content": problem.prompt},))]
        turns += [{"role": "assistant", "content": text}, {"role": "user", "content": self.request}]
        chat = getattr(self.generator, "chat_prompt", None)
        if callable(chat):
            return chat(turns) + self.reply
        return f"{problem.prompt}{text}\n\n{self.request}\n{self.reply}"

    def digit_logprobs(self, problem: Problem, text: str) -> list[float]:
        """Log-probability of each continuation " 0" … " 9" after the rating prompt."""
        f = getattr(self.generator, "logprob_of", None)
        if not callable(f):
            raise TypeError(
                f"StepScore needs a generator with logprob_of(prefix, continuation); {type(self.generator).__name__} "
                "has none (pass a process verifier instead)"
            )
        p = self.prefix(problem, text)
        fast = self._shared_head()
        if fast is not None:  # P(head) is common to all ten and cancels when they are renormalised
            head, last = fast
            lp = self.generator.next_token_logprobs(p, head)
            return [float(lp[t]) for t in last]
        return [float(f(p, d)) for d in DIGITS]

    def _shared_head(self) -> tuple[list[int], list[int]] | None:
        """(tokens every digit continuation starts with, each one's last token) when that is their shape."""
        if not (
            callable(getattr(self.generator, "next_token_logprobs", None)) and hasattr(self.generator, "encode_plain")
        ):
            return None
        toks = [list(self.generator.encode_plain(d)) for d in DIGITS]
        heads, last = {tuple(t[:-1]) for t in toks}, [t[-1] for t in toks]
        return (list(heads.pop()), last) if len(heads) == 1 and len(set(last)) == len(DIGITS) else None

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """One score in [0, 1] per text: the expected digit over 9."""
        out: list[Scores] = []
        for t in as_texts(texts, f"{self.name}.score"):
            lp = self.digit_logprobs(problem, t)
            top = max(lp)
            w = [math.exp(x - top) for x in lp]
            out.append((sum(d * wd for d, wd in enumerate(w)) / sum(w) / 9.0,))
        return out

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text: the rating prompt once, then per digit its last token again and the digit."""
        texts = as_texts(texts, f"{self.name}.cost")
        per_text = len(DIGITS) + sum(count_tokens(self.generator, d) for d in DIGITS)
        n = sum(count_tokens(self.generator, self.prefix(problem, t)) + per_text for t in texts)
        return CostModel(verifier_params=float(getattr(self.generator, "n_params", 0.0))).verifier_usage(len(texts), n)
