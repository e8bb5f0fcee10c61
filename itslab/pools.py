"""Repeated-sampling pools: n samples per problem from any generator, as [P, n] arrays.

Coverage (pass@k; Chen et al. 2021, arXiv:2107.03374; Brown et al. 2024, arXiv:2407.21787),
majority vote (Wang et al. 2023, arXiv:2203.11171) and best-of-N (Cobbe et al. 2021,
arXiv:2110.14168) all start from a `Pool`; `itslab.scaling` turns it into curves for every k ≤ n.
A problem's samples come from one request seeded by (seed, problem id) alone, so sample j is the
same for every n > j:

>>> from itslab.generators.simulated import make_suite
>>> problems, gen = make_suite(3, seed=0)
>>> pool = draw_pool(gen, problems, 8, seed=1)
>>> pool.correct.shape, bool((pool.head(4).answers == draw_pool(gen, problems, 4, seed=1).answers).all())
((3, 8), True)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.protocols import prompt_for
from itslab.rng import draw_seed, problem_rng
from itslab.types import Completion, Problem, Request


@dataclass(frozen=True, eq=False)
class Pool:
    """n samples for each of P problems, as [P, n] arrays (row i is ``problem_ids[i]``).

    `correct` (bool), `answers` (object: the extracted final answer, normalised; None when the
    sample gives none), `tokens` (generated tokens), `confidence` (the simulator's confidence, or
    exp(mean token logprob) of a real model; NaN when unknown), and optionally `texts`.
    """

    problem_ids: tuple[str, ...]
    correct: np.ndarray
    answers: np.ndarray
    tokens: np.ndarray
    confidence: np.ndarray
    texts: tuple[tuple[str, ...], ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (len(self.problem_ids), self.correct.shape[1] if self.correct.ndim == 2 else -1)
        for name in ("correct", "answers", "tokens", "confidence"):
            a = getattr(self, name)
            if a.ndim != 2 or a.shape != shape:
                raise ValueError(f"Pool.{name} has shape {a.shape}, expected {shape} (problems × samples)")
            a.setflags(write=False)  # a pool is a record: nobody edits it in place

    @property
    def n(self) -> int:
        """Samples per problem."""
        return int(self.correct.shape[1])

    @property
    def n_problems(self) -> int:
        """Number of problems (rows)."""
        return len(self.problem_ids)

    def head(self, k: int) -> "Pool":
        """The first `k` samples of every problem (the pool a request with n = k would have drawn)."""
        if not 1 <= k <= self.n:
            raise ValueError(f"Pool.head: k must be in 1..{self.n}, got {k}")
        texts = None if self.texts is None else tuple(t[:k] for t in self.texts)
        return dataclasses.replace(
            self,
            correct=self.correct[:, :k],
            answers=self.answers[:, :k],
            tokens=self.tokens[:, :k],
            confidence=self.confidence[:, :k],
            texts=texts,
        )

    def pass_at_1(self) -> np.ndarray:
        """Per-problem fraction of correct samples (the unbiased pass@1)."""
        return self.correct.mean(axis=1)


prompt_text = prompt_for
"""Deprecated alias of `itslab.protocols.prompt_for` (kept for one release)."""


def request_seed(seed: int, problem: Problem) -> int:
    """The request seed of `problem`'s pool under experiment `seed` (independent of other problems)."""
    return draw_seed(problem_rng(seed, problem.id, "pool"))


def draw_pool(
    generator: Any,
    problems: Sequence[Problem],
    n: int,
    *,
    seed: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int | None = None,
    max_tokens: int = 1024,
    stop: Sequence[str] = (),
    chat: bool | None = None,
    keep_texts: bool = False,
    batch: int = 16,
) -> Pool:
    """Draw `n` samples per problem (repeated sampling, Brown et al. 2024) into a `Pool`.

    A simulator with ``sample_table`` (`SimulatedGenerator`) is read without building texts
    unless `keep_texts`; samples longer than `max_tokens` then count as cut (no answer), as
    `generate` would cut them. Other generators get one request per problem, `batch` requests per
    ``generate`` call; answers are extracted and checked with `itslab.tasks`.
    """
    return draw_pools(
        generator,
        problems,
        n,
        seed=seed,
        grid=[{"temperature": temperature, "top_p": top_p, "top_k": top_k}],
        max_tokens=max_tokens,
        stop=stop,
        chat=chat,
        keep_texts=keep_texts,
        batch=batch,
    )[0]


KNOBS = ("temperature", "top_p", "top_k")


def draw_pools(
    generator: Any,
    problems: Sequence[Problem],
    n: int,
    *,
    seed: int,
    grid: Sequence[Mapping[str, Any]],
    max_tokens: int = 1024,
    stop: Sequence[str] = (),
    chat: bool | None = None,
    keep_texts: bool = False,
    batch: int = 16,
) -> list[Pool]:
    """One `Pool` per sampling setting in `grid` (dicts of ``temperature``, ``top_p``, ``top_k``).

    All settings share each problem's request seed (common random numbers: curves over the
    grid are smoother), and their requests go to the generator together, `batch` per
    ``generate`` call — on a CPU a decode step costs about the same for 1 or 30 rows, so
    batching a sweep over temperatures is nearly free.
    """
    if n < 1:
        raise ValueError(f"draw_pool: n must be >= 1, got {n}")
    if not problems:
        raise ValueError("draw_pool: no problems given")
    settings = []
    for g in grid:
        bad = set(g) - set(KNOBS)
        if bad:
            raise ValueError(f"draw_pools: grid entries may set {KNOBS}, got {sorted(bad)}")
        settings.append({"temperature": 1.0, "top_p": 1.0, "top_k": None, **g})
    if not settings:
        raise ValueError("draw_pools: grid is empty")
    base = {
        "model_id": getattr(generator, "model_id", type(generator).__name__),
        "n": n,
        "seed": seed,
        "max_tokens": max_tokens,
    }
    if callable(getattr(generator, "sample_table", None)) and not keep_texts:
        return [_pool_from_tables(generator, problems, n, seed, {**base, **st}) for st in settings]
    prompts = [prompt_for(p, generator, chat=chat) for p in problems]
    reqs = [
        Request(
            prompts[i], n=n, max_tokens=max_tokens, stop=tuple(stop), seed=request_seed(seed, p), logprobs=True, **st
        )
        for st in settings
        for i, p in enumerate(problems)
    ]
    outs: list[Sequence[Completion]] = []
    for s in range(0, len(reqs), max(1, batch)):
        outs.extend(generator.generate(reqs[s : s + batch]))
    m = len(problems)
    return [
        _stack(
            problems, [_row(p, c, n) for p, c in zip(problems, outs[j * m : (j + 1) * m])], {**base, **st}, keep_texts
        )
        for j, st in enumerate(settings)
    ]


def _pool_from_tables(
    generator: Any, problems: Sequence[Problem], n: int, seed: int, params: Mapping[str, Any]
) -> Pool:
    from itslab.generators.simulated import answer_line, count_tokens

    cols: dict[str, list[np.ndarray]] = {"correct": [], "answers": [], "tokens": [], "confidence": []}
    tail: dict[str, int] = {}
    for p in problems:
        req = Request(
            p.prompt,
            n=n,
            seed=request_seed(seed, p),
            max_tokens=params["max_tokens"],
            temperature=params["temperature"],
            top_p=params["top_p"],
            top_k=params["top_k"],
        )
        t = generator.sample_table(req)
        extra = np.array([tail.setdefault(a, count_tokens("\n" + answer_line(a))) for a in t["answer"]])
        tokens = t["n_body_tokens"] + extra
        cut = tokens > req.max_tokens  # generate() would stop these at max_tokens, before the answer line
        cols["correct"].append(t["correct"] & ~cut)
        cols["answers"].append(np.asarray(np.where(cut, None, t["answer"]), dtype=object))
        cols["tokens"].append(np.minimum(tokens, req.max_tokens))
        cols["confidence"].append(np.asarray(t["confidence"], dtype=float))
    return Pool(
        tuple(p.id for p in problems),
        np.stack(cols["correct"]).astype(bool),
        np.stack(cols["answers"]),
        np.stack(cols["tokens"]).astype(np.int64),
        np.stack(cols["confidence"]),
        None,
        dict(params),
    )


def _row(problem: Problem, comps: Sequence[Completion], n: int) -> dict[str, list]:
    from itslab.tasks import answer_of, check_answer, normalize_answer

    if len(comps) != n:
        raise ValueError(f"draw_pool: generator returned {len(comps)} samples for problem {problem.id!r}, asked {n}")
    from itslab.strategies.base import equivalence_classes

    row: dict[str, list] = {"correct": [], "answers": [], "tokens": [], "confidence": [], "texts": []}
    raws = [answer_of(problem, c.text) for c in comps]
    # one equivalence with the majority_vote strategy: equivalent answers get one label (the
    # normalised form of the first one seen), so maj@k on a pool counts them together
    classes = equivalence_classes(raws, problem)
    label = {k: normalize_answer(raws[classes.index(k)]) for k in set(classes) if k >= 0}
    for c, raw, k in zip(comps, raws, classes):
        row["correct"].append(bool(check_answer(problem, raw)))
        row["answers"].append(None if raw is None else label[k])
        row["tokens"].append(int(c.n_tokens))
        row["confidence"].append(_confidence(c))
        row["texts"].append(c.text)
    return row


def _confidence(c: Completion) -> float:
    """A simulator's calibrated confidence, else the length-normalised sequence probability."""
    if "confidence" in c.meta:
        return float(c.meta["confidence"])
    if c.logprobs:
        return math.exp(sum(c.logprobs) / len(c.logprobs))
    return float("nan")


def _stack(
    problems: Sequence[Problem], rows: list[dict[str, list]], params: Mapping[str, Any], keep_texts: bool
) -> Pool:
    def arr(key: str, dtype: Any) -> np.ndarray:
        out = np.empty((len(rows), len(rows[0][key])), dtype=dtype)
        for i, r in enumerate(rows):
            out[i] = r[key]
        return out

    texts = tuple(tuple(r["texts"]) for r in rows) if keep_texts else None
    return Pool(
        tuple(p.id for p in problems),
        arr("correct", bool),
        arr("answers", object),
        arr("tokens", np.int64),
        arr("confidence", float),
        texts,
        dict(params),
    )


def raw_scores(pool: Pool, problems: Sequence[Problem], verifier: Any) -> list[list[tuple[float, ...]]]:
    """The verifier's scores of every sample of a pool drawn with ``keep_texts=True``, as returned:
    one tuple per sample (one score for outcome verifiers, one per step for process verifiers)."""
    if pool.texts is None:
        raise ValueError("scoring a pool needs its texts: draw it with keep_texts=True")
    if [p.id for p in problems] != list(pool.problem_ids):
        raise ValueError("scoring a pool: problems must be the pool's problems, in the pool's order")
    return [[tuple(s) for s in verifier.score(p, list(texts))] for p, texts in zip(problems, pool.texts)]


def fold_scores(raw: Sequence[Sequence[Sequence[float]]], agg: str = "last") -> np.ndarray:
    """Scores [P, n] from `raw_scores`, step scores folded with `agg` ("last", "min", "prod", "mean";
    Lightman et al. 2023)."""
    from itslab.verifiers import aggregate

    return np.array([[aggregate(s, agg) for s in row] for row in raw], dtype=float)


def score_pool(pool: Pool, problems: Sequence[Problem], verifier: Any, *, agg: str = "last") -> np.ndarray:
    """Verifier scores [P, n] of a pool drawn with ``keep_texts=True``; step scores folded with `agg`.

    The input of best-of-N and weighted voting (`itslab.scaling.best_of_k`, `weighted_majority_at_k`).
    To compare aggregations, score once with `raw_scores` and fold it several times.
    """
    return fold_scores(raw_scores(pool, problems, verifier), agg)


def shift_skill(problems: Sequence[Problem], delta: float) -> list[Problem]:
    """The same simulated problems for a model `delta` logits stronger (> 0) or weaker (< 0).

    Each ``meta["p_correct"]`` becomes ``σ(logit p + delta)``: the two models agree on which
    problems are hard, as models of one family do (Brown et al. 2024, Fig. 2).
    """
    out = []
    for p in problems:
        if "p_correct" not in p.meta:
            raise ValueError(f"shift_skill: problem {p.id!r} has no meta['p_correct'] (use simulated problems)")
        q = min(max(float(p.meta["p_correct"]), 1e-12), 1 - 1e-12)
        z = math.log(q / (1 - q)) + delta
        new = 1.0 / (1.0 + math.exp(-z))
        out.append(dataclasses.replace(p, meta={**p.meta, "p_correct": new, "difficulty": 1.0 - new}))
    return out


def monte_carlo_pass_at_k(correct: np.ndarray, ks: Sequence[int], *, n_mc: int, rng: np.random.Generator) -> np.ndarray:
    """Per-problem pass@k [P, len(ks)] by Monte Carlo over `n_mc` random size-k subsets of each pool.

    The brute-force check of the unbiased estimator of Chen et al. 2021 (which is its exact
    expectation). One random ordering serves every k: its first k items are a uniform k-subset.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2 or max(ks) > correct.shape[1] or min(ks) < 1:
        raise ValueError(
            f"monte_carlo_pass_at_k: need correct [problems, n] with 1 <= k <= n; got shape "
            f"{correct.shape} and ks {list(ks)}"
        )
    n = correct.shape[1]
    orders = rng.permuted(np.tile(np.arange(n), (n_mc, 1)), axis=1)
    out = np.empty((len(correct), len(ks)))
    for i, row in enumerate(correct):
        hits = row[orders]  # [n_mc, n]: the pool read in each random order
        first = np.where(hits.any(axis=1), hits.argmax(axis=1), n)  # position of the first correct sample
        out[i] = [(first < k).mean() for k in ks]
    return out


def exact_pass_at_k(generator: Any, problems: Sequence[Problem], ks: Sequence[int], **knobs: Any) -> np.ndarray:
    """Exact pass@k [P, len(ks)] of a simulator: 1 − (1 − p)^k with p = ``generator.p_correct(problem, **knobs)``
    (temperature, top_p, top_k) — no sampling error, so knob sweeps are smooth (Chen et al. 2021, Fig. 5)."""
    p = np.array([generator.p_correct(pr, **knobs) for pr in problems])
    return 1.0 - (1.0 - p[:, None]) ** np.asarray(ks, dtype=float)[None, :]


def majority_limit(generator: Any, problems: Sequence[Problem], **knobs: Any) -> np.ndarray:
    """Per problem, whether majority voting converges to the gold answer as k → ∞ (Wang et al. 2023):
    the gold answer is the strict mode of the simulator's answer distribution. Its mean is maj@∞."""
    out = []
    for pr in problems:
        q = np.array(list(generator.answer_distribution(pr, **knobs).values()))  # gold first
        out.append(bool(q[0] > q[1:].max()) if len(q) > 1 else True)
    return np.array(out)
