"""LLM-as-judge verifiers built from a generator: self-evaluation and generative verification.

- `SelfEvaluation`: the generator judges its own solution; the score is P("Yes") against
  P("No") after a verification prompt, read from log-probabilities — the P(True) of Kadavath
  et al. 2022 ("Language Models (Mostly) Know What They Know"). It needs the generator's
  ``logprob_of(prefix, continuation)`` hook (the transformers backend has it).
- `GenerativeVerifier`: k sampled verification rationales, each ending in a verdict; the score is
  the fraction voting Yes (Zhang et al. 2024, "Generative Verifiers: Reward Modeling as
  Next-Token Prediction", with majority voting over verification CoTs).

Both duck-type the generator: anything with the used method (and optionally ``n_params`` for
FLOPs and ``count_tokens`` for token counts, see `itslab.generators.common.count_tokens`) works.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from typing import Any, Sequence

from itslab.budget import CostModel
from itslab.generators.common import count_tokens
from itslab.protocols import Scores
from itslab.rng import draw_seed, problem_rng
from itslab.types import Problem, Request, Usage
from itslab.verifiers.base import as_texts

JUDGE_PROMPT = (
    "Question: {question}\n\nProposed solution: {solution}\n\n"
    "Is the proposed solution correct? Answer Yes or No.\nAnswer:"
)
FOLLOW_UP_PROMPT = "Is your solution above correct? Answer Yes or No."
VERIFY_PROMPT = (
    "Question: {question}\n\nProposed solution: {solution}\n\n"
    "Check the proposed solution step by step. Then, on the last line, write "
    "'Verdict: Yes' if it is correct or 'Verdict: No' if it is not.\n\nVerification:"
)
_VERDICT = re.compile(r"verdict\s*[:\-]?\s*\**\s*(yes|no)\b", re.IGNORECASE)


def _logprob(value: Any) -> float:
    """A total log-probability from what a backend's ``logprob_of`` returns (float, per-token list, or record)."""
    if hasattr(value, "logprob"):
        value = value.logprob
    if isinstance(value, (list, tuple)):
        return float(sum(value))
    return float(value)


def _p_yes(d: float) -> float:
    """P(Yes) renormalised over Yes and No from d = lp(Yes) - lp(No), without overflow."""
    return 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))


def _question(problem: Problem) -> str:
    return str(problem.meta.get("question", problem.prompt))


class SelfEvaluation:
    """P("Yes") from the generator's own log-probabilities after a judge prompt (Kadavath et al. 2022).

    Score = exp(lp_yes) / (exp(lp_yes) + exp(lp_no)), the Yes/No probability renormalised over
    the two answers. Cost: one call per text reading the judge prompt and both answer tokens.
    Scores are memoised per judge prompt (LRU of `cache_size`): a sweep's nested budgets score
    the same samples again, and the score is a deterministic function of the text, so each call is
    still charged (`cost`) as the run would spend it alone, like the runner's pool memo.

    ``follow_up=False`` (the default): a new prompt, `template` with the question and the solution
    (Kadavath et al.'s "Proposed Answer" form); the judge re-reads the whole solution.
    ``follow_up=True``: the question (`template`, default `FOLLOW_UP_PROMPT`) is a user turn after
    the solution in the sample's own chat, rendered by the generator's ``chat_prompt``; the judge
    prompt then extends the sample's tokens, so an engine that keeps samples in its prefix cache
    (llama.cpp, transformers) reads only the follow-up turn. Needs a generator with
    ``chat_prompt``. The answers default to "Yes"/"No" (the reply's first token). `cost` charges
    the whole judge prompt in both modes: a bound that holds whether or not the sample is cached.

    ``in_batch=True`` (with ``follow_up=True``, on an engine with ``attach_follow_up``: llama.cpp)
    reads the follow-up turn while the sample's row is still in the decoding batch — one more
    prefill in the decode steps of the rows still sampling, no re-read, no cached sample held —
    and keeps the score for `score` to find. The prompt is the request's prefix + the sample's
    text + the template's tail after an assistant turn; where that is not the prompt `prefix`
    renders (a chat template that is not prefix-stable, a strategy that scores an edited text),
    `score` finds nothing kept and reads the prompt itself: the score is the same either way.
    Every sample the engine writes from then on is judged, so attach it for sampling sweeps (the
    runner's best-of-N with self-evaluation), not for step-level search.
    """

    def __init__(
        self,
        generator: Any,
        *,
        template: str | None = None,
        yes: str | None = None,
        no: str | None = None,
        name: str = "self_eval",
        cache_size: int = 4096,
        follow_up: bool = False,
        in_batch: bool = False,
        reserve: int = 64,
    ) -> None:
        if follow_up and generator is not None and not callable(getattr(generator, "chat_prompt", None)):
            raise TypeError(
                f"SelfEvaluation(follow_up=True) needs a generator with chat_prompt(messages); "
                f"{type(generator).__name__} has none"
            )
        if in_batch and not follow_up:
            raise ValueError(
                "SelfEvaluation(in_batch=True) needs follow_up=True: only a follow-up turn extends the sample"
            )
        if in_batch and not callable(getattr(generator, "attach_follow_up", None)):
            raise TypeError(
                f"SelfEvaluation(in_batch=True) needs an engine with attach_follow_up (llama.cpp); "
                f"{type(generator).__name__} has none"
            )
        self.generator, self.name, self.cache_size, self.follow_up = generator, name, cache_size, follow_up
        self.template = template if template is not None else (FOLLOW_UP_PROMPT if follow_up else JUDGE_PROMPT)
        self.yes = yes if yes is not None else ("Yes" if follow_up else " Yes")
        self.no = no if no is not None else ("No" if follow_up else " No")
        self._cache: OrderedDict[str, float] = OrderedDict()  # judge prompt -> P(Yes)
        self._lock = threading.Lock()  # the engine keeps in-batch scores from the thread that decodes
        self.reserve, self.kept = reserve, 0  # kept: scores read in the batch
        if in_batch:
            self._answer_ids = [generator.encode_plain(a) for a in (self.yes, self.no)]
            if any(len(a) != 1 for a in self._answer_ids):
                raise ValueError(
                    f"SelfEvaluation(in_batch=True): the answers {self.yes!r} and {self.no!r} must be one token each, "
                    f"got {self._answer_ids}"
                )
            marker = "@@itslab-answer@@"  # the tail after any assistant turn, read off a rendered chat
            chat = generator.chat_prompt(
                [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": marker},
                    {"role": "user", "content": self.template},
                ]
            )
            self._tail = chat[chat.index(marker) + len(marker) :]
            generator.attach_follow_up(self)

    def follow_up_prompt(self, prefix: str, text: str) -> str | None:
        """The follow-up prompt after a sample of `prefix` (the engine's `FollowUp` hook)."""
        return prefix + text + self._tail

    def take(self, prompt: str, logprobs: Any) -> None:
        """Keep P(Yes) for `prompt` from the engine's log-softmax after it (`FollowUp` hook)."""
        (yes,), (no,) = self._answer_ids
        with self._lock:
            self._cache[prompt] = _p_yes(float(logprobs[yes] - logprobs[no]))
            self._cache.move_to_end(prompt)
            self.kept += 1
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def prefix(self, problem: Problem, text: str) -> str:
        """The judge prompt for one solution."""
        if self.follow_up:  # the sample's chat, verbatim, then the question: it extends the sample's tokens
            messages = list(problem.messages or ({"role": "user", "content": problem.prompt},))
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": self.template}]
            return str(self.generator.chat_prompt(messages))
        return self.template.format(question=_question(problem), solution=text.strip())

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """P(Yes) per text, in [0, 1]."""
        f = getattr(self.generator, "logprob_of", None)
        if not callable(f):
            raise TypeError(
                f"SelfEvaluation needs a generator with logprob_of(prefix, continuation); "
                f"{type(self.generator).__name__} has none"
            )
        out: list[Scores] = []
        for t in as_texts(texts, f"{self.name}.score"):
            key = self.prefix(problem, t)
            with self._lock:
                p = self._cache.get(key)
            if p is None:  # read outside the lock: the engine takes it to keep in-batch scores
                p = _p_yes(_logprob(f(key, self.yes)) - _logprob(f(key, self.no)))
            with self._lock:
                self._cache[key] = p
                self._cache.move_to_end(key)
            out.append((p,))
        with self._lock:
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text: the judge prompt plus the two candidate answers."""
        texts = as_texts(texts, f"{self.name}.cost")
        extra = count_tokens(self.generator, self.yes) + count_tokens(self.generator, self.no)
        n = sum(count_tokens(self.generator, self.prefix(problem, t)) + extra for t in texts)
        return CostModel(verifier_params=float(getattr(self.generator, "n_params", 0.0))).verifier_usage(len(texts), n)


def parse_verdict(text: str) -> bool | None:
    """The last ``Verdict: Yes/No`` in a rationale (None when it gives none)."""
    m = _VERDICT.findall(text or "")
    return None if not m else m[-1].lower() == "yes"


class GenerativeVerifier:
    """k sampled verification rationales per solution; score = fraction of Yes verdicts (Zhang et al. 2024).

    A rationale with no verdict counts as No. Samples are seeded from (seed, problem id, text),
    so the same candidate always gets the same verdicts. Generations are memoised (LRU of
    `cache_size` texts), so `cost` — which must equal what `score` spends — runs them once and
    `score` then reuses them.
    """

    def __init__(
        self,
        generator: Any,
        *,
        k: int = 4,
        temperature: float = 0.7,
        max_tokens: int = 256,
        seed: int = 0,
        template: str = VERIFY_PROMPT,
        cache_size: int = 4096,
        name: str | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"GenerativeVerifier.k must be >= 1, got {k}")
        self.generator, self.k, self.temperature, self.max_tokens = generator, k, temperature, max_tokens
        self.seed, self.template, self.cache_size = int(seed), template, cache_size
        self.name = name or f"genverifier(k={k})"
        self._cache: OrderedDict[tuple[str, str, str], tuple[float, Usage]] = OrderedDict()

    def _run(self, problem: Problem, texts: list[str]) -> list[tuple[float, Usage]]:
        keys = [(problem.id, problem.prompt, t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            reqs = [
                Request(
                    prefix=self.template.format(question=_question(problem), solution=t.strip()),
                    n=self.k,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    seed=draw_seed(problem_rng(self.seed, problem.id, "genverifier", t)),
                )
                for _, _, t in todo
            ]
            cm = CostModel(verifier_params=float(getattr(self.generator, "n_params", 0.0)))
            for key, comps in zip(todo, self.generator.generate(reqs)):
                votes = [parse_verdict(c.text) for c in comps]
                n_read = sum(c.n_prompt_tokens - c.n_cached_tokens + c.n_tokens for c in comps)
                self._cache[key] = (
                    sum(v is True for v in votes) / len(comps) if comps else 0.0,
                    cm.verifier_usage(1, n_read),
                )
        out = []
        for k in keys:
            self._cache.move_to_end(k)
            out.append(self._cache[k])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """Fraction of Yes verdicts among k rationales, per text."""
        return [(s,) for s, _ in self._run(problem, as_texts(texts, f"{self.name}.score"))]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text; tokens = uncached prompt + generated tokens of its k rationales."""
        out = Usage()
        for _, u in self._run(problem, as_texts(texts, f"{self.name}.cost")):
            out = out + u
        return out
