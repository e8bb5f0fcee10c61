"""Accuracy against FLOPs over recorded banks of different model sizes, and their Pareto front.

Wu et al. 2024 ("An Empirical Analysis of Compute-Optimal Inference for Problem-Solving with
Language Models", arXiv:2408.00724) plot error against inference FLOPs for several model sizes and
strategies (majority voting, weighted voting, best-of-N, tree search) and find that a smaller
model with more samples is often on the compute-optimal front; Snell et al. 2024 (arXiv:2408.03314,
§7) ask the same of test-time compute against a 14× larger model. Here each bank (one model at
one sampling setting) gives curves of coverage (pass@k, oracle), majority vote, best-of-N and
weighted majority by a recorded score against the expected FLOPs per problem of k samples,
counted by `itslab.budget.CostModel` with the attention-context term, from the model's size and
shape in `itslab.models.REGISTRY`. `flops_frontier` marks the Pareto front across banks and
strategies with `frontiers.pareto_frontier`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from itslab.budget import CostModel
from itslab.scaling.estimators import default_ks
from itslab.scaling.frontiers import pareto_frontier
from itslab.scaling.pool_strategies import STRATEGIES, strategy_accuracy

_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse_params(text: str) -> float:
    """A parameter count from its usual spelling: "135M" → 1.35e8, "0.5B" → 5e8."""
    t = text.strip().upper()
    if not t or t[-1] not in _UNITS:
        raise ValueError(f"parse_params: {text!r} is not a count like '135M' or '1.5B'")
    return float(t[:-1]) * _UNITS[t[-1]]


def cost_model_for(model: str) -> CostModel:
    """The `CostModel` (N, layers, attention width) of a registered model (`itslab.models.REGISTRY`)."""
    from itslab.models import spec

    s = spec(model)
    return CostModel(generator_params=parse_params(s.params), generator_layers=s.n_layers, generator_d_attn=s.d_attn)


def sample_flops(
    prompt_tokens: np.ndarray, generated: np.ndarray, cost: CostModel, *, prompt_once: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(fixed [problems], per_sample [problems, samples]) generation FLOPs.

    With `prompt_once` (a backend that prefills a problem's prompt once for all its samples), the
    prompt costs 2N·p + attention(0, p) once per problem and each sample 2N·g + attention(p, p + g)
    (its tokens read the prompt as context); otherwise every sample pays its whole sequence.
    """
    p, g = np.asarray(prompt_tokens, dtype=np.int64), np.asarray(generated, dtype=np.int64)
    if p.shape != g.shape or p.ndim != 2:
        raise ValueError(f"sample_flops: prompt {p.shape} and generated {g.shape} must both be [problems, samples]")
    two_n = 2.0 * cost.generator_params
    att = np.vectorize(cost.attention_flops, otypes=[float])
    if prompt_once:
        p0 = p[:, 0]
        return two_n * p0 + att(0, p0), two_n * g + att(p, p + g)
    return np.zeros(len(p)), two_n * (p + g) + att(0, p + g)


def flops_matched_samples(m: float, r: float) -> float:
    """How many times its inference tokens a model may spend to match the FLOPs of one `m` times larger.

    Snell et al. 2024 (arXiv:2408.03314, §7): pretraining costs 6·N·D_pretrain and inference
    2·N·D_inference; a model m× larger, pretrained on the same tokens and decoding R·D_pretrain
    tokens (R = D_inference / D_pretrain), costs as much as the small model decoding
    m + 3(m − 1)/R times as many tokens. R → inf (inference-heavy) leaves m; small R buys far more.

    >>> flops_matched_samples(14, 1.0), flops_matched_samples(14, float("inf"))
    (53.0, 14.0)
    """
    if not m >= 1 or not r > 0:
        raise ValueError(f"flops_matched_samples: need m >= 1 and r > 0, got m={m}, r={r}")
    return float(m + 3.0 * (m - 1.0) / r)


def _bank_model(bank: Any) -> str:
    return str(bank.manifest.get("spec", {}).get("model", {}).get("name", bank.name))


def bank_problem_table(
    bank: Any,
    ks: Sequence[int] | None = None,
    *,
    strategies: Sequence[str] = ("pass_at_k", "majority_vote", "best_of_n"),
    score: str = "logprob_mean",
    cost: CostModel | None = None,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per problem × strategy × k of a bank (an `itslab.banks.Bank`): problem_id, bank,
    model, strategy, k, correct (the expected accuracy), flops (expected FLOPs of k random samples).

    Scores are the bank's `score` column ("logprob_mean" or "self_eval"). A self-evaluation score
    also costs one forward pass over prompt + sample per scored sample (2N per token, added to the
    score-based strategies); a mean logprob comes free with generation.
    """
    ks = default_ks(bank.n) if ks is None else np.asarray(ks, dtype=np.int64)
    cost = cost_model_for(_bank_model(bank)) if cost is None else cost
    P, n = bank.correct.shape
    prompt = bank.frame["prompt_tokens"].to_numpy().reshape(P, n)
    fixed, per = sample_flops(prompt, bank.tokens, cost)
    scores = np.asarray(getattr(bank, score), dtype=np.float64)
    acc = strategy_accuracy(bank.correct, bank.answers, scores, ks, strategies=strategies, rng=rng)
    verify = 2.0 * cost.generator_params * (prompt + bank.tokens) if score == "self_eval" else np.zeros((P, n))
    frames = []
    for s in strategies:
        unit = per + (verify if s in ("best_of_n", "weighted_majority_vote") else 0.0)
        flops = fixed[:, None] + ks[None, :] * unit.mean(axis=1, keepdims=True)
        frames.append(
            pd.DataFrame(
                {
                    "problem_id": np.repeat(np.asarray(bank.problem_ids, dtype=object), len(ks)),
                    "strategy": s,
                    "k": np.tile(ks, P),
                    "correct": acc[s].ravel(),
                    "flops": flops.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).assign(bank=bank.name, model=_bank_model(bank))


def flops_frontier(
    banks: Sequence[Any],
    ks: Sequence[int] | None = None,
    *,
    strategies: Sequence[str] = ("pass_at_k", "majority_vote", "best_of_n"),
    score: str = "logprob_mean",
    costs: Mapping[str, CostModel] | None = None,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Accuracy against mean FLOPs per problem of every (bank, strategy, k), with the Pareto front.

    Returns `pareto_frontier`'s table: frontier, bank, model, strategy, k, flops, accuracy, se,
    n_problems, ci_low, ci_high, on_frontier. Coverage (pass@k, an oracle verifier) gets a front
    of its own (frontier "oracle"); the deployable strategies share one ("deployable"), across
    all banks. `costs` overrides the `CostModel` of a bank by bank name.
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"flops_frontier: unknown strategies {unknown}; known: {STRATEGIES}")
    names = [b.name for b in banks]
    if len(set(names)) != len(names):
        raise ValueError(f"flops_frontier: bank names must be distinct, got {names}")
    costs = costs or {}
    long = pd.concat(
        [bank_problem_table(b, ks, strategies=strategies, score=score, cost=costs.get(b.name), rng=rng) for b in banks],
        ignore_index=True,
    )
    long["frontier"] = np.where(long["strategy"] == "pass_at_k", "oracle", "deployable")
    return pareto_frontier(long, cost="flops", acc="correct", by=("bank", "model", "strategy", "k"), within="frontier")
