"""`StepwiseSimGenerator`: a simulated LLM that writes solutions step by step, for step-level search.

Steps read ``Step k: <filler> so the running value is V.``; a latent still-correct state breaks
with a per-step error rate (the PRM error model; architecture.md, "Backends"). Call with
``stop=[STEP_DELIMITER]`` for one step; `step_oracle` recovers the per-step state from any text.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

import numpy as np

from itslab.generators.simulated.core import (
    DISTRACTOR_PATHS,
    GOLD_PATHS,
    AnswerModel,
    SimBase,
    confidence,
    dirichlet_weights,
    logit,
    lognormal,
    make_distractors,
    tempered2,
)
from itslab.generators.simulated.text import answer_line, count_tokens, extract_boxed, filler
from itslab.protocols import STEP_DELIMITER
from itslab.rng import inverse_cdf, problem_rng
from itslab.types import Problem, Request

DEFAULT_N_STEPS = 4
_VALUE = re.compile(r"running value is (\S+?)\.(?=\s|$)")
_STEP_HEAD = re.compile(r"Step \d+:")
_STEP_WIDTH = 5  # uniforms per step: error, value, 2 × length, filler offset


def n_steps(problem: Problem) -> int:
    """Number of steps of the problem's solution: ``meta["n_steps"]`` (default 4)."""
    s = int(problem.meta.get("n_steps", DEFAULT_N_STEPS))
    if s < 1:
        raise ValueError(f"Problem {problem.id!r}: meta['n_steps'] must be >= 1, got {s}")
    return s


def hidden_chain(problem: Problem) -> tuple[str, ...]:
    """The problem's hidden intermediate values (the last is the gold answer); a pure function of it."""
    return _chain(problem.id, str(problem.answer), n_steps(problem))


@functools.lru_cache(maxsize=1 << 16)
def _chain(pid: str, answer: str, s: int) -> tuple[str, ...]:
    # memoised because oracles and the generator re-read it for every sample; pure, so caching is safe
    rng = problem_rng(0, pid, "chain", answer)
    return (*(str(int(v)) for v in rng.integers(1, 1000, size=s - 1)), answer.strip())


def _solution(problem: Problem, text: str) -> str:
    return text[len(problem.prompt) :] if text.startswith(problem.prompt) else text


def step_oracle(problem: Problem, text: str) -> list[bool]:
    """Per-step "still correct" flags of a solution written by `StepwiseSimGenerator`.

    `text` is the solution, with or without the prompt in front. Steps are the non-blank chunks
    between `STEP_DELIMITER`s; step k is correct iff its value equals the hidden chain's k-th value
    (and, on the final step, the boxed answer is gold). A chunk without a value keeps the state.
    """
    return list(_step_flags(hidden_chain(problem), str(problem.answer).strip(), _solution(problem, text)))


@functools.lru_cache(maxsize=8192)
def _step_flags(chain: tuple[str, ...], gold: str, solution: str) -> tuple[bool, ...]:
    # memoised: the generator flags every sample it writes and the PRM then re-reads the same texts
    head = _through_last_delimiter(solution)
    flags, state, k = _head_state(chain, gold, head)
    return flags + _scan(chain, gold, solution[len(head) :], state, k)[0]


def _through_last_delimiter(text: str) -> str:
    """`text` up to and including its last `STEP_DELIMITER` ("" when it has none)."""
    cut = text.rfind(STEP_DELIMITER)
    return text[: cut + len(STEP_DELIMITER)] if cut >= 0 else ""


def _scan(chain: tuple[str, ...], gold: str, text: str, state: bool, k: int) -> tuple[tuple[bool, ...], bool, int]:
    """Flags of the non-blank chunks of `text`, from still-correct `state` after `k` values."""
    flags = []
    for chunk in text.split(STEP_DELIMITER):
        if not chunk.strip():
            continue
        for v in _VALUE.findall(chunk):
            k += 1
            state = k <= len(chain) and v == chain[k - 1]
        boxed = extract_boxed(chunk)
        if boxed is not None:
            state = state and boxed == gold
        flags.append(state)
    return tuple(flags), state, k


@functools.lru_cache(maxsize=1 << 14)
def _head_state(chain: tuple[str, ...], gold: str, head: str) -> tuple[tuple[bool, ...], bool, int]:
    # (flags, state, values seen) after `head`, "" or a text ending with the delimiter. Memoised per
    # step boundary: every sample of a request, and the PRM re-reading them, shares the prefix, so
    # only the new step is scanned. Splitting at the last delimiter gives the chunks of a left-to-right
    # split up to blank chunks and whitespace at chunk ends, which change neither values nor flags.
    if not head:
        return (), True, 0
    body = head[: -len(STEP_DELIMITER)]
    prev = _through_last_delimiter(body)
    flags, state, k = _head_state(chain, gold, prev)
    more, state, k = _scan(chain, gold, body[len(prev) :], state, k)
    return flags + more, state, k


@functools.lru_cache(maxsize=4096)
def _chunks(piece: str) -> int:
    """Toy tokens of `piece` inside a longer text: `count_tokens` without its trailing-whitespace token."""
    return count_tokens(piece) - (1 if piece and piece[-1].isspace() else 0)


def outcome_oracle(problem: Problem, text: str) -> bool:
    """Whether the last ``\\boxed{}`` answer in `text` is the gold answer."""
    return extract_boxed(_solution(problem, text)) == str(problem.answer).strip()


def markov_correct(c0: float, eps: float, rec: float, m: int) -> float:
    """P(correct after m more steps) from P(correct now) = c0, break rate eps, recover rate rec."""
    if eps + rec == 0:
        return c0
    pi = rec / (eps + rec)
    return float(pi + (c0 - pi) * (1.0 - eps - rec) ** m)


class StepwiseSimGenerator(SimBase):
    """Step-level simulator with a latent still-correct state (architecture.md, "Backends")."""

    kind = "stepwise"

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
        recover: float = 0.0,
        mean_step_tokens: float = 30.0,
        length_sigma: float = 0.35,
        length_difficulty: float = 1.0,
        confidence_auc: float = 0.75,
        model_id: str | None = None,
    ) -> None:
        if not 0.0 <= recover < 1.0:
            raise ValueError(f"recover must be in [0, 1), got {recover}")
        if mean_step_tokens <= 0 or length_sigma < 0:
            raise ValueError(f"bad length model: mean_step_tokens={mean_step_tokens}, length_sigma={length_sigma}")
        self.recover, self.mean_step_tokens, self.length_sigma = (
            float(recover),
            float(mean_step_tokens),
            float(length_sigma),
        )
        self.length_difficulty, self.confidence_auc = float(length_difficulty), float(confidence_auc)
        self._eps: dict[str, float] = {}
        self._step_models: dict[tuple[str, int], AnswerModel] = {}
        self._wrong: dict[tuple, np.ndarray] = {}
        self._const: dict[tuple[str, float], tuple[float, float, float, float]] = {}
        self._distractors: dict[tuple[str, int], np.ndarray] = {}
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
            config={"rec": recover, "len": [mean_step_tokens, length_sigma, length_difficulty], "auc": confidence_auc},
        )

    # --- closed forms ------------------------------------------------------------------------
    def step_error(self, problem: Problem) -> float:
        """Per-step break rate ε at T = 1, solved so that P(finish correct) = p (bisection)."""
        eps = self._eps.get(problem.id)
        if eps is None:
            p, s, r = self.success_p(problem), n_steps(problem), self.recover
            lo, hi = 0.0, 1.0  # P(correct) decreases in eps on [0, 1] for r < 1
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if markov_correct(1.0, mid, r, s) > p else (lo, mid)
            eps = self._eps[problem.id] = 0.5 * (lo + hi)
        return eps

    def _rates(self, problem: Problem, temperature: float) -> tuple[float, float]:
        # a step continues the chain by one of `gold_paths` paths or leaves it by one of
        # `distractor_paths`; temperature tempers those paths (the answer model's rule, per step)
        g, d = self.gold_paths, self.distractor_paths
        return tempered2(self.step_error(problem), temperature, d, g), tempered2(self.recover, temperature, g, d)

    def p_correct(self, problem: Problem, temperature: float = 1.0) -> float:
        """Exact pass@1 (P(the finished solution is right)); equals p at T = 1 (up to bisection)."""
        return self.value(problem, 0, True, temperature)

    def value(self, problem: Problem, steps_done: int, still_correct: bool, temperature: float = 1.0) -> float:
        """P(final answer right | `steps_done` steps written, current state): the ideal PRM's value."""
        e_t, r_t = self._rates(problem, temperature)
        return markov_correct(1.0 if still_correct else 0.0, e_t, r_t, max(0, n_steps(problem) - steps_done))

    def _step_model(self, problem: Problem, k: int) -> AnswerModel:
        if k == n_steps(problem):
            return self.answer_model(problem)
        key = (problem.id, k)
        m = self._step_models.get(key)
        if m is None:
            rng = problem_rng(self.seed, problem.id, f"step-{k}")
            gold = hidden_chain(problem)[k - 1]
            d = make_distractors(gold, self.n_distractors, rng)
            w = dirichlet_weights(len(d), self.distractor_concentration, rng)
            m = self._step_models[key] = AnswerModel(gold, 0.0, d, w, self.gold_paths, self.distractor_paths)
        return m

    # --- sampling ----------------------------------------------------------------------------
    def _wrong_probs(self, problem: Problem, step: int, r: Request) -> np.ndarray:
        key = (problem.id, step, r.temperature, r.top_p, r.top_k)
        q = self._wrong.get(key)
        if q is None:
            q = self._wrong[key] = self._step_model(problem, step).wrong_probs(r.temperature, r.top_p, r.top_k)
        return q

    def _constants(self, problem: Problem, temperature: float) -> tuple[float, float, float, float]:
        # per (problem, temperature): tempered break and recover rates, mean step length, and the
        # confidence prior logit(pass@1) — pure functions of both, read on every request
        key = (problem.id, temperature)
        c = self._const.get(key)
        if c is None:
            e_t, r_t = self._rates(problem, temperature)
            mean = self.mean_step_tokens * (1.0 + self.length_difficulty * (1.0 - self.success_p(problem)))
            c = self._const[key] = (e_t, r_t, mean, logit(self.p_correct(problem, temperature)))
        return c

    def _distractor_array(self, problem: Problem, step: int) -> np.ndarray:
        key = (problem.id, step)
        a = self._distractors.get(key)
        if a is None:
            a = self._distractors[key] = np.asarray(self._step_model(problem, step).distractors, dtype=object)
        return a

    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        n, S, chain = request.n, n_steps(problem), hidden_chain(problem)
        if extract_boxed(solution) is not None:  # finished: the model emits EOS at once
            return [""] * n, [{"confidence": 0.5}] * n, None
        values = _VALUE.findall(solution)
        k = len(values)
        state0 = k == 0 or (k <= S and values[-1] == chain[k - 1])
        tail = solution.rsplit(STEP_DELIMITER, 1)[-1]
        has_value = _VALUE.search(tail) is not None
        partial = not has_value and _STEP_HEAD.search(tail) is not None  # cut inside our step: finish it
        pre = STEP_DELIMITER if has_value and k < S else ""  # a whole step lacking its delimiter
        # (any other tail, e.g. a chat template's assistant header, is just context: start a step)
        n_write = max(0, S - k) if (pre or STEP_DELIMITER not in request.stop) else min(1, S - k)
        u = self.uniforms(request, 2 + _STEP_WIDTH * max(1, S - k))
        e_t, r_t, mean, prior = self._constants(problem, request.temperature)
        state = np.full(n, state0)
        texts = [pre] * n
        # toy-token counts built alongside the text (every piece meets the next at whitespace, so
        # chunk counts add up; a filler of m words is m tokens), sparing a re-tokenization per sample
        counts = [0] * n
        for i in range(n_write):
            step = k + 1 + i
            c0 = 2 + _STEP_WIDTH * i
            ue, uv, l1, l2, uo = u[:, c0], u[:, c0 + 1], u[:, c0 + 2], u[:, c0 + 3], u[:, c0 + 4]
            state = np.where(state, ue >= e_t, ue < r_t)
            sm = self._step_model(problem, step)
            wrong_cdf = np.cumsum(self._wrong_probs(problem, step, request))
            wrong = self._distractor_array(problem, step)[inverse_cdf(wrong_cdf, uv)].tolist()
            ok = state.tolist()
            lens = np.maximum(1, np.rint(lognormal(mean, self.length_sigma, l1, l2))).astype(int).tolist()
            offsets = (uo * 1e6).astype(int).tolist()
            label = None if (i == 0 and partial) else f"Step {step}:"
            for j in range(n):
                v = sm.gold if ok[j] else wrong[j]
                end = " " + answer_line(v) if step == S else STEP_DELIMITER
                body = f" so the running value is {v}.{end}"
                if label is None:
                    texts[j] += body
                else:
                    texts[j] += label + filler(lens[j], offsets[j]) + body
                    counts[j] += _chunks(label) + lens[j]
                counts[j] += _chunks(body)
        if k >= S:  # all values written but no answer line: state the last value as the answer
            last = " " + answer_line(values[-1])
            texts = [t + last for t in texts]
            counts = [c + _chunks(last) for c in counts]
        counts = [c + (1 if t and t[-1].isspace() else 0) for c, t in zip(counts, texts)]  # count_tokens' rule
        conf = confidence(np.full(n, prior), state, u[:, 0], u[:, 1], auc=self.confidence_auc, scale=1.0, bias=0.0)
        return texts, [{"confidence": float(c)} for c in conf], counts

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        full = solution + text
        flags = step_oracle(problem, full)
        boxed = extract_boxed(full)
        return {
            **meta,
            "sim_correct": bool(flags[-1]) if flags else True,
            "finished": boxed is not None,
            "answer": boxed,
            "steps_done": len(flags),
        }
