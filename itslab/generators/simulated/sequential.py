"""`SequentialSimGenerator`: a simulated thinking model for sequential scaling and budget forcing.

A thinking trace closed by `THINK_END`, then ``The answer is \\boxed{X}.``; appending `WAIT`
("Wait") after stripping `THINK_END` makes it reconsider, fixing or breaking its answer with
decaying probabilities (s1 budget forcing; architecture.md, "Backends").

Length and correctness are coupled two ways. Within a trace, the m-th reconsideration fixes a
wrong belief with ``p_fix·fix_decay^(m-1)`` and breaks a right one with
``p_break·break_decay^(m-1)``: when fixes fade faster than breaks, accuracy against forced
thinking rises, peaks and falls (m1's interior optimum, Huang et al. 2025, arXiv:2504.00869).
Across samples, a first pass that ends in a wrong answer is ``wrong_length_factor`` times longer
on average (correct solutions are shorter, Zeng et al. 2025, arXiv:2502.12215).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

import numpy as np

from itslab.generators.simulated.core import (
    DISTRACTOR_PATHS,
    GOLD_PATHS,
    AnswerModel,
    SimBase,
    lognormal,
    tempered2,
)
from itslab.generators.simulated.text import answer_line, count_tokens, extract_boxed, filler
from itslab.rng import inverse_cdf
from itslab.types import Problem, Request

THINK_END = "</think>"
"""End-of-thinking delimiter; budget forcing suppresses it (stop on it, strip it, append `WAIT`)."""
WAIT = "Wait"
"""What budget forcing appends to make the model think longer."""

_OPEN_FIRST = "Let me think."
_OPEN_WAIT = ", let me check again."
_BELIEF_HEAD = "so the answer is "
_BELIEF = re.compile(r"so the answer is (\S+?)\.(?=\s|$)")
_WIDTH = 8  # uniforms per sample: first answer, transition, distractor, 2 × length, offset, 2 × confidence


def current_answer(text: str) -> str | None:
    """The boxed final answer of a trace, else its last stated belief (None when neither)."""
    boxed = extract_boxed(text)
    return boxed if boxed is not None else _last_belief(text.split(THINK_END, 1)[0])


def _last_belief(text: str) -> str | None:
    i = text.rfind(_BELIEF_HEAD)
    while i >= 0:
        hit = _BELIEF.match(text, i)
        if hit:
            return hit.group(1)
        i = text.rfind(_BELIEF_HEAD, 0, i)
    return None


class SequentialSimGenerator(SimBase):
    """Thinking-trace simulator with "Wait" extensions that fix or break answers (architecture.md, "Backends")."""

    kind = "sequential"

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        seed: int = 0,
        a: float = 2.0,
        b: float = 2.0,
        n_distractors: int = 8,
        distractor_concentration: float = 1.0,
        gold_paths: int = GOLD_PATHS,
        distractor_paths: int = DISTRACTOR_PATHS,
        p_fix: float = 0.3,
        p_break: float = 0.05,
        decay: float = 0.8,
        fix_decay: float | None = None,
        break_decay: float | None = None,
        guess_factor: float = 0.5,
        mean_think_tokens: float = 150.0,
        mean_wait_tokens: float = 60.0,
        length_sigma: float = 0.35,
        length_difficulty: float = 1.0,
        wrong_length_factor: float = 1.0,
        confidence_auc: float = 0.75,
        model_id: str | None = None,
    ) -> None:
        fix_decay = decay if fix_decay is None else fix_decay
        break_decay = decay if break_decay is None else break_decay
        for name, v in (
            ("p_fix", p_fix),
            ("p_break", p_break),
            ("decay", decay),
            ("fix_decay", fix_decay),
            ("break_decay", break_decay),
            ("guess_factor", guess_factor),
        ):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"SequentialSimGenerator: {name} must be in [0, 1], got {v}")
        if mean_think_tokens <= 0 or mean_wait_tokens <= 0 or length_sigma < 0 or wrong_length_factor <= 0:
            raise ValueError(
                f"bad length model: mean_think_tokens={mean_think_tokens}, "
                f"mean_wait_tokens={mean_wait_tokens}, length_sigma={length_sigma}, "
                f"wrong_length_factor={wrong_length_factor}"
            )
        self.p_fix, self.p_break, self.decay, self.guess_factor = (
            float(p_fix),
            float(p_break),
            float(decay),
            float(guess_factor),
        )
        self.fix_decay, self.break_decay = float(fix_decay), float(break_decay)
        self.wrong_length_factor = float(wrong_length_factor)
        # new knobs enter the model id only when set, so default simulators keep their ids
        extra: dict[str, Any] = {}
        if (self.fix_decay, self.break_decay) != (self.decay, self.decay):
            extra["decays"] = [self.fix_decay, self.break_decay]
        if self.wrong_length_factor != 1.0:
            extra["wlf"] = self.wrong_length_factor
        self.mean_think_tokens, self.mean_wait_tokens = float(mean_think_tokens), float(mean_wait_tokens)
        self.length_sigma, self.length_difficulty, self.confidence_auc = (
            float(length_sigma),
            float(length_difficulty),
            float(confidence_auc),
        )
        super().__init__(
            problems,
            seed=seed,
            a=a,
            b=b,
            n_distractors=n_distractors,
            distractor_concentration=distractor_concentration,
            gold_paths=gold_paths,
            distractor_paths=distractor_paths,
            model_id=model_id,
            config={
                "fix": [p_fix, p_break, decay, guess_factor],
                "len": [mean_think_tokens, mean_wait_tokens, length_sigma, length_difficulty],
                "auc": confidence_auc,
                **extra,
            },
        )

    # --- closed forms ------------------------------------------------------------------------
    def fix_break(self, m: int, temperature: float = 1.0) -> tuple[float, float]:
        """(fix, break) probabilities of the m-th reconsideration (m >= 1) at `temperature`."""
        f, b = self.p_fix * self.fix_decay ** (m - 1), self.p_break * self.break_decay ** (m - 1)
        # a fix reaches the gold answer (one of `gold_paths` paths), a break a wrong one (one of
        # `distractor_paths`): the transitions are tempered over paths like the answers themselves
        g, d = self.gold_paths, self.distractor_paths
        return tempered2(f, temperature, g, d), tempered2(b, temperature, d, g)

    def p_correct(self, problem: Problem, n_waits: int = 0, temperature: float = 1.0) -> float:
        """Exact pass@1 after `n_waits` budget-forcing extensions (``n_waits=0``: p at T = 1)."""
        c = float(self.answer_model(problem).probs(temperature)[0])
        for m in range(1, n_waits + 1):
            f, b = self.fix_break(m, temperature)
            c = c * (1.0 - b) + (1.0 - c) * f
        return c

    def p_guess(self, problem: Problem, temperature: float = 1.0) -> float:
        """Pass@1 when thinking is cut before any answer was stated (``guess_factor · p`` at T = 1)."""
        return float(self._guess_model(problem).probs(temperature)[0])

    def _guess_model(self, problem: Problem) -> AnswerModel:
        m = self.answer_model(problem)
        return dataclasses.replace(m, p=self.guess_factor * m.p)

    # --- sampling ----------------------------------------------------------------------------
    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        n, T = request.n, request.temperature
        m = self.answer_model(problem)
        u = self.uniforms(request, _WIDTH)
        if THINK_END in solution:
            thinking, after = solution.split(THINK_END, 1)
            if extract_boxed(after) is not None:  # already answered: EOS
                return [""] * n, [{"confidence": 0.5}] * n, [0] * n
            belief = _last_belief(thinking)
            if belief is not None:
                ans = np.asarray([belief] * n, dtype=object)
            else:
                guess = np.cumsum(self._guess_model(problem).probs(T, request.top_p, request.top_k))
                ans = np.asarray(m.answers, dtype=object)[inverse_cdf(guess, u[:, 0])]
            sep = "\n\n" if not after.strip() else " "
            return self._finish(problem, [sep + answer_line(a) for a in ans], ans, u, request, None)
        belief = _last_belief(solution)
        n_waits = solution.count(WAIT)
        last_seg = solution[solution.rfind(WAIT) + len(WAIT) :] if n_waits else solution
        if belief is not None and _last_belief(last_seg) is not None:  # segment complete: close thinking
            ans = np.asarray([belief] * n, dtype=object)
            return self._finish(problem, [f"\n{THINK_END}\n\n{answer_line(belief)}"] * n, ans, u, request, None)
        wrong_cdf = np.cumsum(self.answer_probs(problem, request, "wrong"))
        wrong = np.asarray(m.distractors, dtype=object)[inverse_cdf(wrong_cdf, u[:, 2])]
        if belief is None:  # first pass of thinking
            cdf = np.cumsum(self.answer_probs(problem, request))
            ans = np.asarray(m.answers, dtype=object)[inverse_cdf(cdf, u[:, 0])]
            mean = self.mean_think_tokens * (1.0 + self.length_difficulty * (1.0 - m.p))
            mean = np.where(ans == m.gold, mean, mean * self.wrong_length_factor)
            opener = _OPEN_FIRST
        else:  # a reconsideration segment after the n_waits-th "Wait"
            f, b = self.fix_break(max(1, n_waits), T)
            if belief == m.gold:
                ans = np.where(u[:, 1] < b, wrong, belief)
            else:
                ans = np.where(u[:, 1] < f, m.gold, belief).astype(object)
            mean = self.mean_wait_tokens
            opener = _OPEN_WAIT
        lens = np.maximum(1, np.rint(lognormal(mean, self.length_sigma, u[:, 3], u[:, 4]))).astype(int)
        # cut inside one of our segments: only finish its sentence (other text, e.g. a chat
        # template's assistant header, is context and gets a whole segment)
        partial = _OPEN_FIRST in last_seg or _OPEN_WAIT.strip(",. ") in last_seg
        texts: list[str] = []
        counts: list[int] = []
        tails: dict[Any, tuple[str, int]] = {}
        n_open = 0 if partial else count_tokens(opener)
        for j in range(n):
            tail = tails.get(ans[j])
            if tail is None:
                t = f" so the answer is {ans[j]}.\n{THINK_END}\n\n{answer_line(ans[j])}"
                tail = tails[ans[j]] = (t, count_tokens(t))
            body = "" if partial else opener + filler(int(lens[j]), int(u[j, 5] * 1e6))
            texts.append(body + tail[0])
            # pieces meet at a space, so toy-token counts add up
            counts.append(tail[1] + (0 if partial else n_open + int(lens[j])))
        return self._finish(problem, texts, ans, u, request, counts)

    def _finish(
        self,
        problem: Problem,
        texts: list[str],
        ans: np.ndarray,
        u: np.ndarray,
        request: Request,
        counts: list[int] | None,
    ) -> tuple[list[str], list[dict], list[int] | None]:
        conf, _ = self.answer_confidence(problem, request, list(ans), u[:, 6], u[:, 7])
        return texts, [{"confidence": float(c)} for c in conf], counts

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        full = solution + text
        ans = current_answer(full)
        return {
            **meta,
            "answer": ans,
            "sim_correct": ans == str(problem.answer).strip(),
            "finished": extract_boxed(full) is not None,
            "n_waits": full.count(WAIT),
        }
