"""`ThinkingSimGenerator`: a thinking trace whose answer settles part-way (Dynasor's answer stabilization).

A trace is ``Let me think.``, a header of `HEADER_WORDS` filler words, filler, then ``</think>``
and the answer line. The header is drawn from the stream of the request that starts the trace; its
last word names the final answer A, drawn under that request's sampling (gold with the problem's
pass@1, tempered like every simulator). The thinking length L (lognormal, longer for hard problems)
and the token s = f·L at which the answer settles (f ~ Beta with mean `settle_mean`) are functions
of (prompt, header): a continuation of a partial trace, whatever its seed or temperature, continues
the same trace, so the simulator stays stateless. The words state nothing; the belief is probed.

A probe is a prefix that ends in an open ``\\boxed{`` after (part of) a trace. From s on it is
answered with A; before, with a guess, fresh at each position: gold with probability
``guess_factor · p``, else one of `n_scratch` intermediate values (never gold, rarely two alike).
The reply then runs on (the model keeps talking), so a probe costs its full ``max_tokens`` unless a
stop string ends it. Other text appended to a trace closes it with the current belief; text before
a trace is context. Fu et al. (arXiv:2412.20993) observe that probed answers settle well before a
reasoning trace ends; the shape here (Beta settle point, independent guesses) is an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from itslab.generators.simulated.core import SimBase, confidence, logit, lognormal
from itslab.generators.simulated.sequential import THINK_END
from itslab.generators.simulated.text import answer_line, count_tokens, filler
from itslab.rng import inverse_cdf, problem_seed_sequence
from itslab.types import Problem, Request

OPENER = "Let me think."
HEADER_WORDS = 8
_WORD = 5  # " word": every filler word is one toy token of 5 characters
_HEADER_LEN = len(OPENER) + HEADER_WORDS * _WORD
_HEADER_TOKENS = count_tokens(OPENER) + HEADER_WORDS
_PLAN_MEMO = 1024


def _vocabulary() -> tuple[str, ...]:
    out: list[str] = []
    while (w := filler(1, len(out))) not in out:
        out.append(w)
    return tuple(out)


_WORDS = _vocabulary()  # the filler words, each " word"; a header's last word indexes its answer


@dataclass(frozen=True)
class TracePlan:
    """What a trace will do: its text, thinking tokens L, settle token s, final answer A."""

    text: str
    n_tokens: int  # toy tokens of `text`: thinking, then the end of thinking and the answer line
    think_tokens: int
    settle_token: int
    answer: str
    confidence: float
    guesses: np.ndarray = field(repr=False, compare=False)  # two uniforms per thinking token: the probe guesses


class ThinkingSimGenerator(SimBase):
    """Thinking-trace simulator whose probed answer settles at a drawn point (module docstring)."""

    kind = "thinking"

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        mean_think_tokens: float = 800.0,
        length_sigma: float = 0.4,
        length_difficulty: float = 1.0,
        settle_mean: float = 0.5,
        settle_concentration: float = 4.0,
        guess_factor: float = 0.3,
        n_scratch: int = 200,
        confidence_auc: float = 0.75,
        **base: object,
    ) -> None:
        if mean_think_tokens <= 4 * HEADER_WORDS or length_sigma < 0:
            raise ValueError(
                f"ThinkingSimGenerator: need mean_think_tokens > {4 * HEADER_WORDS} and length_sigma >= 0, "
                f"got {mean_think_tokens}, {length_sigma}"
            )
        if not 0.0 < settle_mean < 1.0 or settle_concentration <= 0:
            raise ValueError(
                f"ThinkingSimGenerator: need 0 < settle_mean < 1 and settle_concentration > 0, "
                f"got {settle_mean}, {settle_concentration}"
            )
        if not 0.0 <= guess_factor <= 1.0 or n_scratch < 1:
            raise ValueError(
                f"ThinkingSimGenerator: need guess_factor in [0, 1] and n_scratch >= 1, got {guess_factor}, {n_scratch}"
            )
        self.mean_think_tokens, self.length_sigma = float(mean_think_tokens), float(length_sigma)
        self.length_difficulty, self.confidence_auc = float(length_difficulty), float(confidence_auc)
        self.settle_mean, self.settle_concentration = float(settle_mean), float(settle_concentration)
        self.guess_factor, self.n_scratch = float(guess_factor), int(n_scratch)
        config = {
            "len": [mean_think_tokens, length_sigma, length_difficulty],
            "settle": [settle_mean, settle_concentration],
            "guess": [guess_factor, n_scratch],
            "auc": confidence_auc,
        }
        super().__init__(problems, config=config, **base)  # type: ignore[arg-type]
        self._plans: dict[tuple[str, str], TracePlan] = {}
        if self.n_distractors + 1 > len(_WORDS):
            raise ValueError(
                f"ThinkingSimGenerator: n_distractors must be <= {len(_WORDS) - 1}, got {self.n_distractors}"
            )

    # --- the latent trace ------------------------------------------------------------------
    def p_correct(self, problem: Problem, temperature: float = 1.0) -> float:
        """Exact pass@1 of a whole trace (its final answer) at `temperature` (p at T = 1)."""
        return float(self.answer_model(problem).probs(temperature)[0])

    def mean_tokens(self, problem: Problem) -> float:
        """Mean thinking tokens L of the problem's traces (harder problems think longer)."""
        return self.mean_think_tokens * (1.0 + self.length_difficulty * (1.0 - self.success_p(problem)))

    def plan(self, problem: Problem, header: str) -> TracePlan:
        """The trace that starts with `header` (``OPENER`` + `HEADER_WORDS` words; the last names its answer)."""
        key = (problem.id, header)
        got = self._plans.get(key)
        if got is None:
            if len(self._plans) >= _PLAN_MEMO:  # continuations of a few live traces: a small memo suffices
                self._plans.clear()
            got = self._plans[key] = self._plan(problem, header)
        return got

    def _plan(self, problem: Problem, header: str) -> TracePlan:
        from scipy.special import betaincinv

        v = self._stream(problem, header, "trace", 6)
        m = self.answer_model(problem)
        answer = m.answers[_WORDS.index(header[-_WORD:]) % len(m.answers)]
        mean = self.mean_tokens(problem)
        think = max(_HEADER_TOKENS + 1, int(np.rint(lognormal(mean, self.length_sigma, v[:1], v[1:2])[0])))
        a = self.settle_mean * self.settle_concentration
        f = float(betaincinv(a, self.settle_concentration - a, v[2]))
        body = header + filler(think - _HEADER_TOKENS, int(v[3] * 1e6))
        tail = f"\n{THINK_END}\n\n{answer_line(answer)}"
        text = body + tail
        prior = np.array([logit(m.p)])
        conf = confidence(
            prior, np.array([answer == m.gold]), v[4:5], v[5:6], auc=self.confidence_auc, scale=1.0, bias=0.0
        )
        # body and tail meet at a newline, so their toy-token counts add up
        guesses = self._stream(problem, header, "probes", 2 * (think + 1)).reshape(-1, 2)
        return TracePlan(
            text, think + count_tokens(tail), think, int(round(f * think)), answer, float(conf[0]), guesses
        )

    def start(self, problem: Problem, request: Request, solution: str = "") -> list[str]:
        """Headers of the request's new traces: `solution` (empty or a cut-short header) completed with
        words from each sample's stream, the last word naming the answer drawn under the request's sampling."""
        u = self.uniforms(request, HEADER_WORDS + 1)
        cdf = np.cumsum(self.answer_probs(problem, request))
        idx = inverse_cdf(cdf, u[:, HEADER_WORDS])
        have = max(0, (len(solution) - len(OPENER)) // _WORD)
        base = OPENER if len(solution) < len(OPENER) else solution
        return [
            base + "".join(_WORDS[int(x * len(_WORDS))] for x in u[j, have : HEADER_WORDS - 1]) + _WORDS[int(idx[j])]
            for j in range(request.n)
        ]

    def belief(self, problem: Problem, header: str, plan: TracePlan | None, position: int) -> str:
        """The answer a probe at `position` (thinking tokens read) gets: A once settled, else a guess."""
        if plan is not None and position >= plan.settle_token:
            return plan.answer
        u = plan.guesses[position] if plan is not None else self._stream(problem, header, "guess", 2)
        m = self.answer_model(problem)
        if u[0] < self.guess_factor * m.p:
            return m.gold
        scratch = 10_000 + int(u[1] * self.n_scratch)  # an intermediate value, above the simulated answers
        return str(scratch + self.n_scratch if str(scratch) == m.gold else scratch)

    def probe_reply(self, belief: str, max_tokens: int) -> str:
        """What a probe decodes: the answer and the closing brace, then the model talks on (one-token
        words, none of them a hesitation word, so the simulated probes never hesitate)."""
        return f"{belief}}} \\]" + " then" * (max_tokens + 8)

    def _stream(self, problem: Problem, header: str, what: str, width: int) -> np.ndarray:
        ss = problem_seed_sequence(self.seed, problem.prompt + header, what)
        return np.random.Generator(np.random.PCG64(ss)).random(width)

    # --- sampling ----------------------------------------------------------------------------
    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        n = request.n
        h0 = solution.find(OPENER)
        trace = solution[h0:] if h0 >= 0 else (solution if solution and OPENER.startswith(solution) else "")
        if _is_header_prefix(trace):  # a new trace (text before it is context), or its header cut short
            heads = self.start(problem, request, trace)
            plans = [self.plan(problem, h) for h in heads]
            end = len(trace) + 6 * (request.max_tokens + 1)
            return [p.text[len(trace) : end] for p in plans], [self._meta(p, h) for p, h in zip(plans, heads)], None
        header = trace[:_HEADER_LEN]
        if len(header) < _HEADER_LEN or header[-_WORD:] not in _WORDS:  # not one of our traces: guess
            guess = self.belief(problem, solution, None, 0)
            return [f"\n{THINK_END}\n\n{answer_line(guess)}"] * n, [{"confidence": 0.5, "belief": guess}] * n, None
        plan = self.plan(problem, header)
        meta = self._meta(plan, header)
        if plan.text.startswith(trace):  # a plain continuation; no token is over 6 characters, so cut early
            return [plan.text[len(trace) : len(trace) + 6 * (request.max_tokens + 1)]] * n, [meta] * n, None
        cut = _common_prefix(trace, plan.text)
        # the body is the header then one-token words of `_WORD` characters: tokens read by arithmetic
        position = min(_HEADER_TOKENS + max(0, -(-(cut - _HEADER_LEN) // _WORD)), plan.think_tokens)
        added = trace[cut:]
        belief = self.belief(problem, header, plan, position)
        if added.rstrip().endswith("\\boxed{"):
            reply = self.probe_reply(belief, request.max_tokens)
        elif "\\boxed{" in added and added.rstrip().endswith("}."):
            reply = ""  # already answered
        elif THINK_END in added:
            reply = "\n\n" + answer_line(belief)
        else:
            reply = f"\n{THINK_END}\n\n{answer_line(belief)}"
        return [reply] * n, [{**meta, "probe_position": position, "belief": belief}] * n, None

    def _meta(self, plan: TracePlan, header: str) -> dict:
        return {
            "confidence": plan.confidence,
            "final_answer": plan.answer,
            "think_tokens": plan.think_tokens,
            "settle_token": plan.settle_token,
            "header": header,
        }


def _is_header_prefix(solution: str) -> bool:
    """Whether `solution` is empty or a cut-short header (the opener, then whole header words)."""
    if len(solution) >= _HEADER_LEN:
        return False
    if len(solution) <= len(OPENER):
        return OPENER.startswith(solution)
    return solution.startswith(OPENER) and (len(solution) - len(OPENER)) % _WORD == 0


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix of `a` and `b` (binary search over C-speed comparisons)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


__all__ = ["HEADER_WORDS", "OPENER", "ThinkingSimGenerator", "TracePlan"]
