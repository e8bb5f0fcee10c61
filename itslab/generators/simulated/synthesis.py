"""A simulated synthesiser: what a model does when it reads N candidate solutions and writes one answer.

The CoT-based Synthesizer (Zhang et al. 2025, arXiv:2501.01668) reads the candidates and writes a
final answer, which may differ from all of them. The simulator needs a model of that behaviour;
ours, stated and calibrated in notebook 12 (docs/methods.md, "Synthesis"):

    P(answer a) ∝ c_a^γ · exp(λ·[a is gold])      when the gold answer is among the candidates,
    P(gold) = ε, else a ∝ c_a^γ                    when it is not,

with c_a the number of candidates giving answer a. λ = 0, γ = 1 copies a random candidate
(pass@1); γ → ∞ is majority vote; λ → ∞ is coverage (pass@N); ε > 0 repairs an all-wrong set.

>>> round(float(synthesis_p_gold({"4": 1, "5": 3}, "4", discrimination=math.log(3))), 3)
0.5
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.generators.simulated.text import answer_line, apply_limits, count_tokens
from itslab.rng import keyed_uniform
from itslab.types import Completion, Request

SYNTHESIS_START = "[The Start of AI Responses]"
SYNTHESIS_END = "[The End of AI Responses]"
_RESPONSE = re.compile(r"^Response \d+:", re.MULTILINE)


def synthesis_p_gold(
    counts: Mapping[str, int], gold: str, *, discrimination: float, sharpness: float = 1.0, fix: float = 0.0
) -> float:
    """P(the synthesiser writes `gold`) given candidate answer `counts` (the module's model)."""
    g = counts.get(gold, 0)
    if g == 0:
        return float(fix)
    others = sum(c**sharpness for a, c in counts.items() if a != gold and c > 0)
    w = math.exp(discrimination) * g**sharpness
    return w / (w + others)


def synthesis_accuracy(
    answers: np.ndarray, correct: np.ndarray, n: int, *, discrimination: float, sharpness: float = 1.0, fix: float = 0.0
) -> np.ndarray:
    """Expected synthesis accuracy per problem over disjoint blocks of `n` pool samples, [problems].

    `answers` [P, M] (None: no answer) and `correct` [P, M] come from a `Pool`; M // n blocks.
    """
    answers, correct = np.asarray(answers, dtype=object), np.asarray(correct, dtype=bool)
    n_blocks = answers.shape[1] // n
    if n < 1 or n_blocks < 1:
        raise ValueError(f"synthesis_accuracy: need 1 <= n <= pool size {answers.shape[1]}, got {n}")
    out = np.zeros(len(answers))
    for i, (row, ok) in enumerate(zip(answers, correct)):
        acc = 0.0
        for b in range(n_blocks):
            block, flags = row[b * n : (b + 1) * n], ok[b * n : (b + 1) * n]
            counts: dict[str, int] = {}
            for a, c in zip(block, flags):
                if a is not None:
                    key = "\x00gold" if c else str(a)
                    counts[key] = counts.get(key, 0) + 1
            acc += synthesis_p_gold(counts, "\x00gold", discrimination=discrimination, sharpness=sharpness, fix=fix)
        out[i] = acc / n_blocks
    return out


class SynthesisSimulator:
    """Wrap a simulated generator: synthesis prompts (`SYNTHESIS_START` ... `SYNTHESIS_END`) are
    answered by the module's model; every other request goes to the wrapped generator."""

    def __init__(self, inner: Any, *, discrimination: float, sharpness: float = 1.0, fix: float = 0.0) -> None:
        if sharpness <= 0 or not 0.0 <= fix <= 1.0:
            raise ValueError(f"need sharpness > 0 and fix in [0, 1], got {sharpness}, {fix}")
        self.inner, self.discrimination, self.sharpness, self.fix = inner, float(discrimination), sharpness, fix
        self.model_id = f"{inner.model_id}+synth(l={discrimination:.3g},g={sharpness:g},e={fix:g})"
        self.n_params = getattr(inner, "n_params", 0.0)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Synthesis requests answered by the model, the rest by the wrapped simulator, in order."""
        plain = [r for r in requests if SYNTHESIS_START not in r.prefix]
        done = iter(self.inner.generate(plain) if plain else [])
        return [self._synthesize(r) if SYNTHESIS_START in r.prefix else next(done) for r in requests]

    def _synthesize(self, req: Request) -> list[Completion]:
        from itslab.tasks.checking import answer_of

        problem = self.inner.problem_for(req.prefix)
        body = req.prefix.split(SYNTHESIS_START, 1)[1].split(SYNTHESIS_END, 1)[0]
        counts: dict[str, int] = {}
        for block in _RESPONSE.split(body)[1:]:
            a = answer_of(problem, block)
            if a is not None:
                counts[a.strip()] = counts.get(a.strip(), 0) + 1
        gold = str(problem.answer).strip()
        p_gold = synthesis_p_gold(
            counts, gold, discrimination=self.discrimination, sharpness=self.sharpness, fix=self.fix
        )
        wrong = {a: c**self.sharpness for a, c in counts.items() if a != gold}
        if not wrong:  # nothing wrong to copy: the model's most likely distractor
            wrong = {self.inner.answer_model(problem).answers[1]: 1.0}
        names, weights = list(wrong), np.array(list(wrong.values()), dtype=float)
        out = []
        n_prompt = count_tokens(req.prefix)
        for j in range(req.n):
            u = keyed_uniform(req.seed or 0, req.prefix, "synthesis", str(j if req.temperature else 0))
            if u < p_gold:
                ans = gold
            else:
                v = (u - p_gold) / max(1e-12, 1.0 - p_gold)
                ans = names[min(int(np.searchsorted(np.cumsum(weights) / weights.sum(), v)), len(names) - 1)]
            text = f"Comparing the {sum(counts.values())} responses." + "\n" + answer_line(ans)
            text, reason, n_tok = apply_limits(text, req.max_tokens, req.stop, None)
            out.append(
                Completion(
                    text=text,
                    n_tokens=n_tok,
                    n_prompt_tokens=n_prompt,
                    n_cached_tokens=0 if j == 0 else n_prompt,
                    logprobs=(0.0,) * n_tok if req.logprobs else None,
                    finish_reason=reason,
                    seed=req.seed,
                    meta={"problem_id": problem.id, "answer": ans, "synthesis": True, "index": j},
                )
            )
        return out
