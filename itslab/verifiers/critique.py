"""Sampled critiques voted on, with a meta reward model keeping the best m (DeepSeek-GRM).

Liu et al. 2025, *Inference-Time Scaling for Generalist Reward Modeling* (arXiv:2504.02495): a
generative reward model samples k critiques of a response, each ending in a verdict; the verdicts
are voted on, and a meta RM, which scores how trustworthy each critique is, keeps the top m of the
k before the vote ("meta RM guided voting").

- `Critique`: one sampled critique: its text, its verdict (accept?) and what it cost.
- `SimulatedCritic`: each critique's verdict is right with probability `accuracy`; a share ρ of
  its error is shared by all critiques of one solution (so voting plateaus). The critique's text
  names the answer it judged, so `critique_is_right` can grade it (the meta RM's oracle).
- `GenerativeCritic`: k rationales sampled from a generator, ``Verdict: Yes/No`` parsed.
- `MetaVerifier`: the verifier; score = share of Yes among the kept critiques.

>>> from itslab.types import Problem
>>> p = Problem(id="toy", prompt="2 + 2?", answer="4")
>>> v = MetaVerifier(SimulatedCritic(accuracy=0.9, seed=1), k=8)
>>> v.cost(p, ["#### 4"]).verifier_calls
8
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Callable, Sequence

from itslab.budget import CostModel
from itslab.protocols import Scores
from itslab.rng import draw_seed, keyed_normal, problem_rng
from itslab.types import Problem, Request, Usage
from itslab.verifiers.base import approx_tokens, as_texts, model_cost
from itslab.verifiers.judges import VERIFY_PROMPT, _question, parse_verdict

_JUDGED = re.compile(r"\[judged answer: (.*?)\]")


@dataclass(frozen=True)
class Critique:
    """One sampled critique: its text, its verdict (True = accept) and its usage."""

    text: str
    verdict: bool
    usage: Usage


def _oracle(problem: Problem, text: str) -> bool:
    from itslab.tasks.checking import is_correct

    return is_correct(problem, text)


def critique_is_right(problem: Problem, critique: str) -> bool:
    """Whether a `SimulatedCritic` critique's verdict matches the truth about the answer it judged."""
    from itslab.tasks.checking import check_answer

    m = _JUDGED.search(critique)
    verdict = parse_verdict(critique)
    if m is None or verdict is None:
        return False
    judged = None if m.group(1) == "none" else m.group(1)
    return verdict == check_answer(problem, judged)


class SimulatedCritic:
    """A critic whose verdicts are right with probability `accuracy`, errors shared per solution by ρ.

    Critique j of a solution is right when ``√(1-ρ)·ε_j + √ρ·ε_solution < Φ⁻¹(accuracy)`` (unit
    normals keyed by seed, problem, text, j): with ρ = 0 the k verdicts are independent and their
    vote converges to the truth; with ρ > 0 a solution that fools one critique tends to fool all.
    """

    def __init__(
        self,
        oracle: Callable[[Problem, str], bool] | None = None,
        *,
        accuracy: float = 0.7,
        error_correlation: float = 0.0,
        seed: int = 0,
        cost_model: CostModel | None = None,
        critique_tokens: int = 64,
    ) -> None:
        if not 0.0 < accuracy < 1.0:
            raise ValueError(f"accuracy must be in (0, 1), got {accuracy!r}")
        if not 0.0 <= error_correlation <= 1.0:
            raise ValueError(f"error_correlation must be in [0, 1], got {error_correlation!r}")
        self.oracle, self.accuracy, self.rho = oracle or _oracle, float(accuracy), float(error_correlation)
        self.seed, self.cost_model, self.critique_tokens = int(seed), cost_model, int(critique_tokens)
        self._threshold = NormalDist().inv_cdf(self.accuracy)
        self.name = f"sim_critic(acc={accuracy:g},rho={error_correlation:g})"

    def critiques(self, problem: Problem, text: str, k: int) -> list[Critique]:
        """k critiques of `text`; the first j are the same for every k ≥ j."""
        from itslab.tasks.checking import answer_of

        correct = bool(self.oracle(problem, text))
        answer = answer_of(problem, text)
        shared = keyed_normal(self.seed, problem.id, "critic-solution", text) if self.rho else 0.0
        a, b = math.sqrt(1.0 - self.rho), math.sqrt(self.rho)
        n_read = approx_tokens(problem.prompt) + approx_tokens(text) + self.critique_tokens
        usage = model_cost(1, n_read, self.cost_model)
        out = []
        for j in range(k):
            right = a * keyed_normal(self.seed, problem.id, "critic", text, str(j)) + b * shared < self._threshold
            verdict = correct if right else not correct
            body = f"Critique {j} [judged answer: {answer if answer is not None else 'none'}]"
            out.append(Critique(f"{body}\nVerdict: {'Yes' if verdict else 'No'}", verdict, usage))
        return out


class GenerativeCritic:
    """k verification rationales sampled from `generator` (one request); a missing verdict is No."""

    def __init__(
        self,
        generator: Any,
        *,
        temperature: float = 0.7,
        max_tokens: int = 256,
        seed: int = 0,
        template: str = VERIFY_PROMPT,
    ) -> None:
        self.generator, self.temperature, self.max_tokens = generator, temperature, max_tokens
        self.seed, self.template = int(seed), template
        self.name = f"critic({getattr(generator, 'model_id', type(generator).__name__)})"

    def critiques(self, problem: Problem, text: str, k: int) -> list[Critique]:
        """k sampled critiques of `text`, each charged its uncached prompt and generated tokens."""
        req = Request(
            prefix=self.template.format(question=_question(problem), solution=text.strip()),
            n=k,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=draw_seed(problem_rng(self.seed, problem.id, "critic", text)),
        )
        cm = CostModel(verifier_params=float(getattr(self.generator, "n_params", 0.0)))
        comps = self.generator.generate([req])[0]
        return [
            Critique(
                c.text,
                parse_verdict(c.text) is True,
                cm.verifier_usage(1, c.n_prompt_tokens - c.n_cached_tokens + c.n_tokens),
            )
            for c in comps
        ]


class MetaVerifier:
    """k sampled critiques per solution; a meta RM keeps the top m; score = share of Yes among them.

    ``meta=None`` (or ``m == k``) is plain voting over the k critiques, and the meta RM is then
    neither called nor charged. `meta` is any verifier scoring critique texts (for the simulated
    critic, ``NoisyVerifier(critique_is_right, auc=...)``). Every critique and every meta score is
    charged: `cost` equals what `score` spends. Results are memoised per (problem, text), so
    `cost` followed by `score` generates the critiques once.
    """

    def __init__(
        self, critic: Any, *, k: int = 8, m: int | None = None, meta: Any = None, cache_size: int = 4096
    ) -> None:
        m = k if m is None else m
        if k < 1 or not 1 <= m <= k:
            raise ValueError(f"MetaVerifier needs k >= 1 and 1 <= m <= k, got k={k}, m={m}")
        if meta is None and m < k:
            raise ValueError("MetaVerifier: keeping m < k critiques needs a meta reward model (meta=...)")
        self.critic, self.k, self.m, self.meta, self.cache_size = critic, int(k), int(m), meta, cache_size
        self.name = f"meta_verifier(k={k},m={m})" if m < k else f"critique_vote(k={k})"
        self._cache: OrderedDict[tuple[str, str, str], tuple[float, Usage]] = OrderedDict()

    def kept(self, problem: Problem, text: str) -> tuple[list[Critique], list[Critique], Usage]:
        """(all k critiques, the m kept, the usage of both stages) for one solution."""
        crits = self.critic.critiques(problem, text, self.k)
        usage = sum((c.usage for c in crits), start=Usage())
        if self.meta is None or self.m == len(crits):
            return crits, crits, usage
        texts = [c.text for c in crits]
        usage = usage + self.meta.cost(problem, texts)
        meta_scores = [float(s[0]) for s in self.meta.score(problem, texts)]
        order = sorted(range(len(crits)), key=lambda i: (-meta_scores[i], i))  # ties: earliest
        return crits, [crits[i] for i in sorted(order[: self.m])], usage

    def _run(self, problem: Problem, texts: list[str]) -> list[tuple[float, Usage]]:
        out = []
        for t in texts:
            key = (problem.id, problem.prompt, t)
            hit = self._cache.get(key)
            if hit is None:
                _, kept, usage = self.kept(problem, t)
                hit = self._cache[key] = (sum(c.verdict for c in kept) / len(kept) if kept else 0.0, usage)
            self._cache.move_to_end(key)
            out.append(hit)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Share of Yes verdicts among the kept critiques, per text."""
        return [(s,) for s, _ in self._run(problem, as_texts(texts, f"{self.name}.score"))]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """k critique calls per text, plus k meta-RM calls per text when it selects (m < k)."""
        out = Usage()
        for _, u in self._run(problem, as_texts(texts, f"{self.name}.cost")):
            out = out + u
        return out
