"""Machinery shared by the simulated generators: problem lookup, per-sample streams, answer models.

The answer model (gold with probability p, else Dirichlet-weighted distractors, each answer's mass
split over equal reasoning paths; temperature, top-k and top-p applied to the paths) and the
per-sample uniform streams are described in architecture.md, "Backends", and docs/methods.md.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from itslab.generators.common import empty_completions, validate_requests
from itslab.generators.simulated.text import apply_limits, count_tokens
from itslab.rng import problem_rng, problem_seed_sequence
from itslab.types import Completion, Problem, Request


@dataclass(frozen=True)
class AnswerModel:
    """One problem's answer distribution at temperature 1: gold with prob `p`, else a distractor.

    Each answer's mass is spread over equal-mass reasoning paths, `gold_paths` for the gold answer
    and `distractor_paths` for each distractor; temperature, top-k and top-p act on the paths
    (Wang et al. 2023, arXiv:2203.11171: a right answer is reached by many paths, so the single
    most likely path — greedy decoding — can end in a wrong answer that majority voting avoids).
    """

    gold: str
    p: float
    distractors: tuple[str, ...]
    weights: tuple[float, ...]
    gold_paths: int = 1
    distractor_paths: int = 1

    def probs(self, temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None) -> np.ndarray:
        """Probabilities of ``(gold, *distractors)`` after temperature, top-k and top-p over the paths."""
        q = np.concatenate([[self.p], (1.0 - self.p) * np.asarray(self.weights)])
        n = np.concatenate([[self.gold_paths], np.full(len(self.weights), self.distractor_paths)])
        return tempered_paths(q, n, temperature, top_p, top_k)

    def wrong_probs(self, temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None) -> np.ndarray:
        """Probabilities of the distractors given a wrong answer, tempered and truncated over their paths."""
        w = np.asarray(self.weights)
        return tempered_paths(w, np.full(len(w), self.distractor_paths), temperature, top_p, top_k)

    @property
    def answers(self) -> tuple[str, ...]:
        """``(gold, *distractors)``, the support of `probs`."""
        return (self.gold, *self.distractors)


def tempered(q: np.ndarray, temperature: float, top_p: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """A categorical tempered (``∝ q^(1/T)``; T = 0 is argmax, ties to the first), then top-k/top-p truncated."""
    q = np.asarray(q, dtype=float)
    if temperature == 0:
        out = np.zeros_like(q)
        out[int(np.argmax(q))] = 1.0
        return out
    pos = q > 0
    logq = np.full(len(q), -np.inf)
    logq[pos] = np.log(q[pos]) / temperature
    out = np.exp(logq - logq.max())
    out /= out.sum()
    if top_k is not None or top_p < 1.0:
        order = np.argsort(-out, kind="stable")
        keep = np.zeros(len(out), dtype=bool)
        k = len(out) if top_k is None else max(1, min(top_k, len(out)))
        # nucleus: smallest prefix of the sorted distribution whose mass reaches top_p
        n_p = int(np.searchsorted(np.cumsum(out[order]), top_p - 1e-12) + 1)
        keep[order[: min(k, n_p)]] = True
        out = np.where(keep, out, 0.0)
        out /= out.sum()
    return out


def tempered_paths(
    q: np.ndarray, n_paths: np.ndarray, temperature: float, top_p: float = 1.0, top_k: int | None = None
) -> np.ndarray:
    """`tempered` over paths: outcome i's mass ``q_i`` is split over ``n_paths[i]`` equal paths, the
    paths are tempered and top-k/top-p truncated, and each outcome gets the sum of its paths.

    At T = 1 without truncation this is `q` itself; T = 0 puts all mass on the outcome of the single
    most likely path (ties to the first); top-k counts paths, and top-p is a nucleus over paths.
    """
    q, n = np.asarray(q, dtype=float), np.asarray(n_paths, dtype=int)
    if n.shape != q.shape or (n < 1).any():
        raise ValueError(f"tempered_paths: need one path count >= 1 per outcome, got {n.tolist()} for {len(q)}")
    if (n == 1).all():
        return tempered(q, temperature, top_p, top_k)
    owner = np.repeat(np.arange(len(q)), n)
    return np.bincount(owner, weights=tempered(np.repeat(q / n, n), temperature, top_p, top_k), minlength=len(q))


def tempered2(p: float, temperature: float, n_event: int = 1, n_rest: int = 1) -> float:
    """Probability of the event after tempering the binary categorical (1 - p, p), the event's mass
    split over `n_event` equal paths and the rest over `n_rest`; the scalar `tempered_paths`."""
    if temperature == 0:
        return 1.0 if p / n_event > (1.0 - p) / n_rest else 0.0
    if p <= 0.0 or p >= 1.0:
        return float(p > 0.0)
    a = (math.log(p) - math.log(n_event)) / temperature + math.log(n_event)
    b = (math.log1p(-p) - math.log(n_rest)) / temperature + math.log(n_rest)
    return 1.0 / (1.0 + math.exp(b - a)) if b - a < 700 else 0.0


def lognormal(mean: float | np.ndarray, sigma: float, u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Lognormal draws with the given mean (Box–Muller on two uniforms); lengths of texts."""
    z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
    return mean * np.exp(sigma * z - 0.5 * sigma * sigma)


def make_distractors(gold: str, k: int, rng: np.random.Generator) -> tuple[str, ...]:
    """`k` distinct wrong integer answers near a gold answer (off-by-one, sign, scale slips, others)."""
    try:
        g = int(gold)
    except (TypeError, ValueError):
        g = int(rng.integers(10, 1000))  # non-integer gold: integers are wrong anyway
    near = [g + 1, g - 1, g + 10, g - 10, 2 * g, g // 2, g + 2, -g, g * 10, g + 100]
    out: list[str] = []
    for v in near + [int(x) for x in rng.integers(0, 2 * abs(g) + 100, size=4 * k)]:
        s = str(v)
        if s != str(gold).strip() and s not in out:
            out.append(s)
    order = rng.permutation(len(out))
    return tuple(out[i] for i in order[:k])


def dirichlet_weights(k: int, concentration: float, rng: np.random.Generator) -> tuple[float, ...]:
    """Distractor weights ~ Dirichlet(concentration · 1), sorted descending (inf: uniform)."""
    if math.isinf(concentration):
        return tuple([1.0 / k] * k)
    w = np.sort(rng.dirichlet(np.full(k, concentration)))[::-1]
    return tuple(float(x) for x in w)


GOLD_PATHS = 3
"""Default number of equal-mass reasoning paths the gold answer's mass is split over (docs/methods.md)."""
DISTRACTOR_PATHS = 1
"""Default number of paths per distractor: a wrong answer is usually reached by one dominant path."""


class SimBase:
    """Lookup of problems by prefix, per-request uniforms, and `Completion` assembly for the simulators.

    ``gold_paths`` / ``distractor_paths``: how many equal-mass reasoning paths carry the gold answer
    and each distractor; temperature tempers paths, not answers (docs/methods.md, "Simulators").
    """

    kind = "sim"
    confidence_auc: float  # set by each simulator: the AUC of its self-reported confidence

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
        model_id: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        if not problems:
            raise ValueError(f"{type(self).__name__} needs at least one Problem")
        if a <= 0 or b <= 0:
            raise ValueError(f"Beta(a, b) needs a > 0 and b > 0, got a={a}, b={b}")
        if n_distractors < 1 or distractor_concentration <= 0:
            raise ValueError(
                f"need n_distractors >= 1 and distractor_concentration > 0, got "
                f"{n_distractors}, {distractor_concentration}"
            )
        if (
            int(gold_paths) != gold_paths
            or int(distractor_paths) != distractor_paths
            or min(gold_paths, distractor_paths) < 1
        ):
            raise ValueError(
                f"gold_paths and distractor_paths must be integers >= 1, got {gold_paths}, {distractor_paths}"
            )
        self.seed = int(seed)
        self.a, self.b = float(a), float(b)
        self.gold_paths, self.distractor_paths = int(gold_paths), int(distractor_paths)
        self.n_distractors, self.distractor_concentration = int(n_distractors), float(distractor_concentration)
        self.n_params = 0.0
        self.problems: tuple[Problem, ...] = tuple(problems)
        self._by_prompt: dict[str, Problem] = {}
        for pr in self.problems:
            if pr.answer is None:
                raise ValueError(f"simulated generators need gold answers; Problem {pr.id!r} has answer=None")
            if pr.prompt in self._by_prompt:
                raise ValueError(
                    f"Problems {self._by_prompt[pr.prompt].id!r} and {pr.id!r} share a prompt; "
                    "the simulator maps prefixes to problems by prompt"
                )
            self._by_prompt[pr.prompt] = pr
        self._lengths = sorted({len(p) for p in self._by_prompt}, reverse=True)
        self._models: dict[str, AnswerModel] = {}
        self._probs: dict[tuple, np.ndarray] = {}
        cfg = {
            "kind": self.kind,
            "seed": self.seed,
            "a": a,
            "b": b,
            "K": n_distractors,
            "conc": distractor_concentration,
            "paths": [self.gold_paths, self.distractor_paths],
            **(config or {}),
        }
        self.model_id = model_id or f"sim-{self.kind}-{self._fingerprint(cfg)}"

    def _fingerprint(self, cfg: dict[str, Any]) -> str:
        # the model id names config *and* problems, so a SampleStore never mixes two simulators
        h = hashlib.blake2b(json.dumps(cfg, sort_keys=True, default=str).encode(), digest_size=6)
        for pr in self.problems:
            h.update(
                json.dumps(
                    [pr.id, pr.prompt, pr.answer, pr.meta.get("p_correct"), pr.meta.get("n_steps")], default=str
                ).encode()
            )
        return h.hexdigest()

    # --- problems -------------------------------------------------------------------------
    def problem_for(self, prefix: str) -> Problem:
        """The problem whose prompt starts `prefix` (longest match); a clear error if none does."""
        return self._locate(prefix)[0]

    def _locate(self, prefix: str) -> tuple[Problem, int]:
        """(problem, where its solution starts in `prefix`)."""
        for n in self._lengths:
            pr = self._by_prompt.get(prefix[:n])
            if pr is not None:
                return pr, n
        # fallback for prompts wrapped in a template (e.g. a chat header): the prompt inside the prefix
        hits = [(i, -len(p)) for p in self._by_prompt if (i := prefix.find(p)) >= 0]
        if hits:
            i, neg = min(hits)
            return self._by_prompt[prefix[i : i - neg]], i - neg
        raise KeyError(
            f"{self.model_id}: prefix does not contain the prompt of any of its "
            f"{len(self.problems)} problems: {prefix[:80]!r}"
        )

    def success_p(self, problem: Problem) -> float:
        """Target pass@1 at T = 1: ``meta["p_correct"]`` if given, else a Beta(a, b) draw for this problem."""
        if "p_correct" in problem.meta:
            p = float(problem.meta["p_correct"])
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"Problem {problem.id!r}: meta['p_correct'] must be in [0, 1], got {p}")
            return p
        return float(problem_rng(self.seed, problem.id, "p").beta(self.a, self.b))

    def answer_model(self, problem: Problem) -> AnswerModel:
        """The problem's `AnswerModel` (gold, p, distractors, weights), built once and memoised."""
        m = self._models.get(problem.id)
        if m is None:
            rng = problem_rng(self.seed, problem.id, "distractors")
            d = make_distractors(str(problem.answer), self.n_distractors, rng)
            w = dirichlet_weights(len(d), self.distractor_concentration, rng)
            m = AnswerModel(
                str(problem.answer).strip(), self.success_p(problem), d, w, self.gold_paths, self.distractor_paths
            )
            self._models[problem.id] = m
        return m

    def answer_probs(self, problem: Problem, request: Request, which: str = "answer") -> np.ndarray:
        """Memoised sampling distribution of a problem under a request's temperature/top-p/top-k.

        ``which="answer"``: over ``(gold, *distractors)``; ``"wrong"``: over the distractors only.
        """
        key = (problem.id, which, request.temperature, request.top_p, request.top_k)
        q = self._probs.get(key)
        if q is None:
            m = self.answer_model(problem)
            if which == "answer":
                q = m.probs(request.temperature, request.top_p, request.top_k)
            elif which == "wrong":
                q = m.wrong_probs(request.temperature, request.top_p, request.top_k)
            else:
                raise ValueError(f"which must be 'answer' or 'wrong', got {which!r}")
            self._probs[key] = q
        return q

    def difficulty(self, problem: Problem) -> float:
        """Latent difficulty ``1 - p`` (p = pass@1 target at T = 1)."""
        return 1.0 - self.success_p(problem)

    # --- sampling -------------------------------------------------------------------------
    def uniforms(self, request: Request, width: int) -> np.ndarray:
        """An ``(n, width)`` block of uniforms; row j belongs to sample j (row 0 for all at T = 0)."""
        ss = problem_seed_sequence(self.seed, request.prefix, f"request-seed={request.seed}")
        rows = 1 if request.temperature == 0 else request.n
        u = np.random.Generator(np.random.PCG64(ss)).random((rows, width))  # default_rng(ss), minus its checks
        return np.repeat(u, request.n, axis=0) if rows == 1 else u

    def answer_confidence(
        self, problem: Problem, request: Request, answers: Sequence[str | None], u1: np.ndarray, u2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, correct) of each answer: `confidence` with AUC ``self.confidence_auc``, the prior
        being the request's P(gold), calibrated (scale 1, bias 0)."""
        gold = self.answer_model(problem).gold
        correct = np.asarray([a == gold for a in answers], dtype=bool)
        prior = np.full(len(correct), logit(float(self.answer_probs(problem, request)[0])))
        return confidence(prior, correct, u1, u2, auc=self.confidence_auc, scale=1.0, bias=0.0), correct

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Sample ``request.n`` continuations of each request's prefix (the `Generator` protocol)."""
        validate_requests(requests)
        out: list[list[Completion]] = []
        for req in requests:
            if req.n == 0 or req.max_tokens == 0:
                out.append(empty_completions(req))
                continue
            problem, start = self._locate(req.prefix)
            solution = req.prefix[start:]
            texts, metas, counts = self._continue(problem, solution, req)
            out.append(self._completions(req, problem, solution, texts, metas, counts))
        return out

    def _continue(
        self, problem: Problem, solution: str, request: Request
    ) -> tuple[list[str], list[dict], list[int] | None]:
        """Would-be continuations of `solution` (before stop/max_tokens), their meta, and their
        toy-token counts when known (None: count them)."""
        raise NotImplementedError

    def _finalize_meta(self, problem: Problem, solution: str, text: str, meta: dict) -> dict:
        """Meta of a continuation after stop/max_tokens cut it (subclasses re-derive their state)."""
        return meta

    def _completions(
        self,
        req: Request,
        problem: Problem,
        solution: str,
        texts: list[str],
        metas: list[dict],
        counts: list[int] | None,
    ) -> list[Completion]:
        n_prompt = count_tokens(req.prefix)
        out = []
        for j, (text, meta) in enumerate(zip(texts, metas)):
            text, reason, n = apply_limits(text, req.max_tokens, req.stop, None if counts is None else counts[j])
            lp: Any = None
            if req.logprobs:
                # the sample's log-confidence spread evenly over its tokens: the sum is the signal
                lp = [math.log(meta["confidence"]) / max(n, 1)] * n if n else []
            meta = {**self._finalize_meta(problem, solution, text, meta), "problem_id": problem.id, "index": j}
            out.append(
                Completion(
                    text=text,
                    n_tokens=n,
                    n_prompt_tokens=n_prompt,
                    n_cached_tokens=0 if j == 0 else n_prompt,
                    logprobs=lp,
                    finish_reason=reason,
                    seed=req.seed,
                    meta=meta,
                )
            )
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r}, n_problems={len(self.problems)}, seed={self.seed})"


def confidence(
    logit_prior: np.ndarray,
    correct: np.ndarray,
    u1: np.ndarray,
    u2: np.ndarray,
    *,
    auc: float,
    scale: float,
    bias: float,
) -> np.ndarray:
    """Per-sample confidence that the answer is right: an equal-variance Gaussian signal model.

    A latent score ``s ~ N(+d/2, 1)`` for right answers and ``N(-d/2, 1)`` for wrong ones has ROC
    AUC ``Φ(d/√2)``, so ``d = √2 Φ⁻¹(auc)``. The calibrated confidence is the posterior
    ``P(right | s) = σ(logit p + d·s)``; a miscalibrated model reports ``σ(scale · logit + bias)``
    (scale > 1 or bias > 0: overconfident). Calibration as in Guo et al. 2017.
    """
    d = _separation(auc)
    z = np.sqrt(-2.0 * np.log1p(-u1)) * np.sin(2.0 * np.pi * u2)
    s = np.where(correct, d / 2.0, -d / 2.0) + z
    logit = scale * (logit_prior + d * s) + bias
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0)))


@functools.lru_cache(maxsize=64)
def _separation(auc: float) -> float:
    from statistics import NormalDist

    if not 0.5 <= auc < 1.0:
        raise ValueError(f"confidence_auc must be in [0.5, 1), got {auc}")
    return math.sqrt(2.0) * NormalDist().inv_cdf(auc)


def logit(p: float) -> float:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))
