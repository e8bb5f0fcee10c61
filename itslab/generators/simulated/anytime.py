"""`AnytimeSimGenerator`: a simulated thinking model whose trace can be cut and answered at any depth.

A trace is `n_segments` segments of filler, each ending in a statement: ``not sure yet.`` until
the trace commits to its final answer X at segment κ, ``so far it is X.`` from then on (the rest
is verification, the "overthinking" that truncation saves), then ``</think>``, a short solution
and ``The answer is \\boxed{X}.``. X is gold with the problem's pass@1 p. The commit fraction
κ / K is Beta-distributed (`commit_mean`, `commit_concentration`).

**Truncate and answer** (Liao et al. 2025, Fractured CoT, arXiv:2505.12992): a prefix whose trace
is cut and closed by ``</think>`` gets a forced answer. After the commit it is X (except with
probability `slip`, a re-derivation); before it, a re-derivation from the partial reasoning, right
with probability ``rederive · p`` (tempered over paths like every answer). Forced answers are
independent given (X, κ), so the closed forms below are exact: `p_no_correct` (no right answer
among m forced answers at each of several depths: pass@k along the n, m and H axes) and
`anytime_accuracy` (one forced answer at depth k / K).

>>> from itslab.generators.simulated import make_suite
>>> from itslab.types import Request
>>> problems, gen = make_suite(2, seed=0, kind="anytime", n_segments=4, mean_think_tokens=40)
>>> [c] = gen.generate([Request(problems[0].prompt, n=1, seed=1)])[0]
>>> c.text.count("</think>") == 1 and c.text.endswith("}.")
True
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Sequence

import numpy as np

from itslab.generators.simulated.core import SimBase, lognormal
from itslab.generators.simulated.sequential import THINK_END
from itslab.generators.simulated.text import answer_line, count_tokens, extract_boxed, filler
from itslab.rng import inverse_cdf
from itslab.types import Problem, Request

UNSURE = " not sure yet."
_COMMITTED = re.compile(r" so far it is (\S+?)\.(?=\s|$)")
_STATEMENT = re.compile(r" so far it is \S+?\.(?=\s|$)| not sure yet\.(?=\s|$)")
_WIDTH = 9  # uniforms per sample: answer, commit, 2 x segment length, offset, 2 x solution length, 2 x confidence


def statement(answer: str | None) -> str:
    """The statement closing a segment: the committed answer, or `UNSURE` before the commit."""
    return UNSURE if answer is None else f" so far it is {answer}."


def read_trace(thinking: str) -> tuple[int, str | None]:
    """(complete segment statements in `thinking`, the committed answer or None)."""
    found = _STATEMENT.findall(thinking)
    hit = _COMMITTED.findall(thinking)
    return len(found), (hit[-1] if hit else None)


@functools.lru_cache(maxsize=256)
def commit_pmf(n_segments: int, mean: float, concentration: float) -> np.ndarray:
    """P(κ = k), k = 1..K: the trace commits at segment ceil(K·τ), τ ~ Beta(mean·c, (1 - mean)·c)."""
    from scipy.special import betainc

    edges = betainc(mean * concentration, (1.0 - mean) * concentration, np.arange(n_segments + 1) / n_segments)
    pmf = np.diff(edges)
    pmf.setflags(write=False)
    return pmf


def p_no_correct(
    p: Any, r: Any, slip: float, pmf: np.ndarray, depths: Sequence[int], m: int = 1, own_full: bool = True
) -> Any:
    """P(no right answer) among `m` forced answers at each depth in `depths` (complete segments, 0..K)
    of one trace; at depth K with `own_full` the first answer is the trace's own (Fractured CoT, §3).

    `p`: P(X is gold); `r`: a re-derivation's P(gold) (numbers, or arrays of problems); `slip`:
    P(a committed forced answer re-derives). Forced answers are independent given (X, κ): sum over κ.
    """
    k_max = len(pmf)
    kappa = np.arange(1, k_max + 1)
    pa, ra = np.asarray(p, dtype=float)[..., None], np.asarray(r, dtype=float)[..., None]
    wrong = {1: np.ones(np.broadcast(pa, ra, kappa).shape), 0: np.ones(np.broadcast(pa, ra, kappa).shape)}
    for d in depths:
        if not 0 <= d <= k_max:
            raise ValueError(f"p_no_correct: depth {d} outside 0..{k_max}")
        committed = d >= kappa
        for z, w_commit in ((1, slip * (1.0 - ra)), (0, 1.0 - slip * ra)):
            per = np.where(committed, w_commit, 1.0 - ra)
            if d == k_max and own_full:  # the trace's own answer (wrong iff X is), then m - 1 forced
                wrong[z] = wrong[z] * (1.0 - z) * per ** (m - 1)
            else:
                wrong[z] = wrong[z] * per**m
    out = (pa * wrong[1] + (1.0 - pa) * wrong[0]) @ pmf
    return float(out) if out.ndim == 0 else out


def anytime_accuracy(p: Any, r: Any, slip: float, pmf: np.ndarray, depth: int) -> Any:
    """P(a forced answer after `depth` segments is right): the anytime curve (Qi et al. 2025, arXiv:2505.13438)."""
    return 1.0 - p_no_correct(p, r, slip, pmf, [depth], 1, own_full=False)


class AnytimeSimGenerator(SimBase):
    """Thinking-trace simulator with a commit point and forced answers at any depth (module docstring)."""

    kind = "anytime"

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        seed: int = 0,
        a: float = 2.0,
        b: float = 2.0,
        n_distractors: int = 8,
        distractor_concentration: float = 1.0,
        gold_paths: int = 3,
        distractor_paths: int = 1,
        n_segments: int = 16,
        commit_mean: float = 0.6,
        commit_concentration: float = 4.0,
        rederive: float = 0.5,
        slip: float = 0.0,
        mean_think_tokens: float = 800.0,
        mean_answer_tokens: float = 60.0,
        length_sigma: float = 0.3,
        length_difficulty: float = 0.5,
        confidence_auc: float = 0.75,
        model_id: str | None = None,
    ) -> None:
        if n_segments < 1 or not 0.0 < commit_mean < 1.0 or commit_concentration <= 0:
            raise ValueError(
                f"AnytimeSimGenerator: need n_segments >= 1, 0 < commit_mean < 1, commit_concentration > 0; "
                f"got {n_segments}, {commit_mean}, {commit_concentration}"
            )
        for name, v in (("rederive", rederive), ("slip", slip)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"AnytimeSimGenerator: {name} must be in [0, 1], got {v}")
        if mean_think_tokens < 2 * n_segments or mean_answer_tokens < 0 or length_sigma < 0:
            raise ValueError(
                f"AnytimeSimGenerator: bad length model (mean_think_tokens={mean_think_tokens} needs >= "
                f"2 * n_segments, mean_answer_tokens={mean_answer_tokens}, length_sigma={length_sigma})"
            )
        self.n_segments, self.commit_mean, self.commit_concentration = (
            int(n_segments),
            float(commit_mean),
            float(commit_concentration),
        )
        self.rederive, self.slip = float(rederive), float(slip)
        self.mean_think_tokens, self.mean_answer_tokens = float(mean_think_tokens), float(mean_answer_tokens)
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
                "commit": [n_segments, commit_mean, commit_concentration],
                "answer": [rederive, slip],
                "len": [mean_think_tokens, mean_answer_tokens, length_sigma, length_difficulty],
                "auc": confidence_auc,
            },
        )

    # --- closed forms ------------------------------------------------------------------------
    @property
    def pmf(self) -> np.ndarray:
        """P(κ = k), k = 1..K (`commit_pmf`)."""
        return commit_pmf(self.n_segments, self.commit_mean, self.commit_concentration)

    def p_correct(self, problem: Problem, temperature: float = 1.0) -> float:
        """Exact pass@1 of a whole trace (P(X is gold)) at `temperature`."""
        return float(self.answer_model(problem).probs(temperature)[0])

    def p_rederive(self, problem: Problem, temperature: float = 1.0) -> float:
        """P(a re-derivation is right) at `temperature` (``rederive · p`` at T = 1)."""
        return float(self._rederive_model(problem).probs(temperature)[0])

    def p_no_correct(self, problem: Problem, depths: Sequence[int], m: int = 1, temperature: float = 1.0) -> float:
        """`p_no_correct` for this problem's p and re-derivation rate."""
        p, r = self.p_correct(problem, temperature), self.p_rederive(problem, temperature)
        return p_no_correct(p, r, self.slip, self.pmf, depths, m)

    def anytime(self, problem: Problem, depth: int, temperature: float = 1.0) -> float:
        """`anytime_accuracy` of this problem after `depth` complete segments."""
        p, r = self.p_correct(problem, temperature), self.p_rederive(problem, temperature)
        return anytime_accuracy(p, r, self.slip, self.pmf, depth)

    def _rederive_model(self, problem: Problem) -> Any:
        m = self.answer_model(problem)
        return dataclasses.replace(m, p=self.rederive * m.p)

    # --- sampling ----------------------------------------------------------------------------
    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        u = self.uniforms(request, _WIDTH)
        if THINK_END in solution:
            thinking, after = solution.split(THINK_END, 1)
            if extract_boxed(after) is not None:  # already answered: EOS
                return (
                    [""] * request.n,
                    [{"confidence": 0.5, "answer": None, "forced": False}] * request.n,
                    [0] * request.n,
                )
            return self._forced(problem, thinking, u, request)
        done, committed = read_trace(solution)
        return self._trace(problem, min(done, self.n_segments), committed, u, request)

    def _answers(self, problem: Problem, request: Request, u: np.ndarray, which: str) -> np.ndarray:
        m = self.answer_model(problem)
        if which == "final":
            probs = self.answer_probs(problem, request)
        else:
            probs = self._rederive_model(problem).probs(request.temperature, request.top_p, request.top_k)
        return np.asarray(m.answers, dtype=object)[inverse_cdf(np.cumsum(probs), u)]

    def _forced(
        self, problem: Problem, thinking: str, u: np.ndarray, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        depth, committed = read_trace(thinking)
        fresh = self._answers(problem, request, u[:, 1], "rederive")
        if committed is None:
            ans, kept = fresh, np.zeros(request.n, bool)
        else:
            kept = u[:, 0] >= self.slip
            ans = np.where(kept, committed, fresh).astype(object)
        lens = self._draw_lengths(u[:, 5], u[:, 6], self.mean_answer_tokens)
        texts = [
            filler(int(n), int(o * 1e6)).lstrip(" ") + "\n" + answer_line(a) for n, o, a in zip(lens, u[:, 4], ans)
        ]
        extra = [{"forced": True, "depth": depth, "committed": committed is not None, "kept": bool(k)} for k in kept]
        return self._finish(problem, texts, ans, u, request, extra)

    def _trace(
        self, problem: Problem, done: int, committed: str | None, u: np.ndarray, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        K, pmf = self.n_segments, self.pmf
        if committed is not None:
            ans, kappa = np.asarray([committed] * request.n, dtype=object), np.full(request.n, done)
        else:  # commit at a segment after the ones already written (the conditional commit law)
            ans = self._answers(problem, request, u[:, 0], "final")
            rest = pmf[done:] / pmf[done:].sum() if done < K else np.ones(1)
            kappa = np.minimum(done + 1 + inverse_cdf(np.cumsum(rest), u[:, 1]), K)
        p = self.answer_model(problem).p
        seg = self._draw_lengths(
            u[:, 2], u[:, 3], self.mean_think_tokens / K * (1.0 + self.length_difficulty * (1.0 - p))
        )
        sol = self._draw_lengths(u[:, 5], u[:, 6], self.mean_answer_tokens)
        texts = []
        for j in range(request.n):
            off, parts = int(u[j, 4] * 1e6), []
            for k in range(done + 1, K + 1):
                st = statement(ans[j] if k >= kappa[j] else None)
                parts.append(filler(max(0, int(seg[j]) - count_tokens(st)), off + 7 * k) + st)
            parts.append(f"\n{THINK_END}\n\n" + filler(int(sol[j]), off).lstrip(" ") + "\n" + answer_line(ans[j]))
            texts.append("".join(parts))
        extra = [{"forced": False, "commit": int(k)} for k in kappa]
        return self._finish(problem, texts, ans, u, request, extra)

    def _draw_lengths(self, u1: np.ndarray, u2: np.ndarray, mean: float) -> np.ndarray:
        return np.maximum(1, np.rint(lognormal(mean, self.length_sigma, u1, u2))).astype(int)

    def _finish(
        self, problem: Problem, texts: list[str], ans: np.ndarray, u: np.ndarray, request: Request, extra: list[dict]
    ) -> tuple[list[str], list[dict], list[int] | None]:
        conf, correct = self.answer_confidence(problem, request, list(ans), u[:, 7], u[:, 8])
        metas = [
            {"answer": a, "sim_correct": bool(ok), "confidence": float(c), **e}
            for a, ok, c, e in zip(ans, correct, conf, extra)
        ]
        return texts, metas, None

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        if meta.get("answer") is None or text.endswith("{" + str(meta["answer"]) + "}."):
            return meta
        boxed = extract_boxed(text)  # cut by max_tokens or a stop string: the answer line may be gone
        return {**meta, "answer": boxed, "sim_correct": boxed == str(problem.answer).strip(), "finished": False}
