"""`SimulatedGenerator`: an outcome-level simulated LLM (whole solutions) with closed-form statistics.

A sample is filler "reasoning" then ``The answer is \\boxed{X}.``, X drawn from the problem's
tempered answer distribution, so pass@k is ``1 - (1 - p_T)^k`` exactly (architecture.md, "Backends").

>>> from itslab.generators.simulated import make_suite
>>> from itslab.types import Request
>>> problems, gen = make_suite(3, seed=0)
>>> [c] = gen.generate([Request(problems[0].prompt, n=1, seed=1)])[0]
>>> c.text.endswith("}.") and c.n_tokens > 0
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from itslab.generators.simulated.core import (
    DISTRACTOR_PATHS,
    GOLD_PATHS,
    SimBase,
    confidence,
    logit,
    lognormal,
)
from itslab.generators.simulated.text import answer_line, count_tokens, extract_boxed, filler
from itslab.rng import inverse_cdf
from itslab.types import Problem, Request

_WIDTH = 6  # uniforms per sample: answer, 2 × length, 2 × confidence, filler offset


class SimulatedGenerator(SimBase):
    """Outcome simulator: per-problem success p ~ Beta(a, b) (or ``meta["p_correct"]``), distractors
    with Dirichlet(concentration) weights, answers reached by `gold_paths` / `distractor_paths`
    reasoning paths that temperature tempers, a length model and a calibrated confidence signal."""

    kind = "outcome"

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
        mean_tokens: float = 100.0,
        length_sigma: float = 0.35,
        length_difficulty: float = 1.0,
        wrong_length_factor: float = 1.3,
        confidence_auc: float = 0.75,
        confidence_scale: float = 1.0,
        confidence_bias: float = 0.0,
        model_id: str | None = None,
    ) -> None:
        if mean_tokens <= 0 or length_sigma < 0 or wrong_length_factor <= 0:
            raise ValueError(
                f"bad length model: mean_tokens={mean_tokens}, length_sigma={length_sigma}, "
                f"wrong_length_factor={wrong_length_factor}"
            )
        self.mean_tokens, self.length_sigma = float(mean_tokens), float(length_sigma)
        self.length_difficulty, self.wrong_length_factor = float(length_difficulty), float(wrong_length_factor)
        self.confidence_auc, self.confidence_scale = float(confidence_auc), float(confidence_scale)
        self.confidence_bias = float(confidence_bias)
        confidence(
            np.zeros(1), np.ones(1, bool), np.full(1, 0.5), np.full(1, 0.5), auc=confidence_auc, scale=1.0, bias=0.0
        )  # validates auc early
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
                "len": [mean_tokens, length_sigma, length_difficulty, wrong_length_factor],
                "conf": [confidence_auc, confidence_scale, confidence_bias],
            },
        )

    # --- closed forms ------------------------------------------------------------------------
    def p_correct(
        self, problem: Problem, temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None
    ) -> float:
        """Exact pass@1 of `problem` under these sampling parameters (= p at T = 1)."""
        return float(self.answer_model(problem).probs(temperature, top_p, top_k)[0])

    def answer_distribution(
        self, problem: Problem, temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None
    ) -> dict[str, float]:
        """Exact distribution of the final answer (gold first), for closed-form maj@k and coverage."""
        m = self.answer_model(problem)
        return dict(zip(m.answers, (float(x) for x in m.probs(temperature, top_p, top_k))))

    # --- sampling ----------------------------------------------------------------------------
    def sample_table(self, request: Request) -> dict[str, np.ndarray]:
        """The draws behind ``generate([request])[0]`` as arrays, without building texts.

        Keys: ``answer`` (str), ``correct`` (bool), ``n_body_tokens`` (int), ``confidence`` (float).
        For scaling studies with 10^4+ samples per problem, where texts are not needed.
        """
        problem = self.problem_for(request.prefix)
        m = self.answer_model(problem)
        u = self.uniforms(request, _WIDTH)
        probs = self.answer_probs(problem, request)
        idx = inverse_cdf(np.cumsum(probs), u[:, 0])
        correct = idx == 0
        mean = self.mean_tokens * (1.0 + self.length_difficulty * (1.0 - m.p))
        mean = np.where(correct, mean, mean * self.wrong_length_factor)
        n_body = np.maximum(1, np.rint(lognormal(1.0, self.length_sigma, u[:, 1], u[:, 2]) * mean)).astype(int)
        conf = confidence(
            np.full(len(idx), logit(float(probs[0]))),
            correct,
            u[:, 3],
            u[:, 4],
            auc=self.confidence_auc,
            scale=self.confidence_scale,
            bias=self.confidence_bias,
        )
        answers = np.asarray(m.answers, dtype=object)[idx]
        return {
            "answer": answers,
            "correct": correct,
            "n_body_tokens": n_body,
            "confidence": conf,
            "offset": (u[:, 5] * 1e6).astype(int),
        }

    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        t = self.sample_table(request)
        texts, metas, counts = [], [], []
        tails: dict[str, tuple[str, int]] = {}
        for ans, ok, nb, conf, off in zip(t["answer"], t["correct"], t["n_body_tokens"], t["confidence"], t["offset"]):
            tail = tails.get(ans)
            if tail is None:
                line = "\n" + answer_line(ans)
                tail = tails[ans] = (line, count_tokens(line))
            # filler words are one toy token each, so the count is known without re-tokenizing
            texts.append(filler(int(nb), int(off)).lstrip(" ") + tail[0])
            counts.append(int(nb) + tail[1])
            metas.append({"answer": ans, "sim_correct": bool(ok), "confidence": float(conf), "finished": True})
        return texts, metas, counts

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        if text.endswith("{" + meta["answer"] + "}."):
            return meta
        # cut by max_tokens or a stop string: the answer line may be gone
        boxed = extract_boxed(text)
        return {**meta, "answer": boxed, "sim_correct": boxed == str(problem.answer).strip(), "finished": False}


def expected_tokens(gen: SimulatedGenerator, problem: Problem, temperature: float = 1.0) -> float:
    """Mean generated toy tokens per sample (body + answer line), for budget planning on simulators."""
    m = gen.answer_model(problem)
    q = m.probs(temperature)
    mean = gen.mean_tokens * (1.0 + gen.length_difficulty * (1.0 - m.p))
    body = q[0] * mean + (1.0 - q[0]) * mean * gen.wrong_length_factor
    tail = float(np.dot(q, [count_tokens("\n" + answer_line(a)) for a in m.answers]))
    return float(body + tail)
