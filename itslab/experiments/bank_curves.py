"""A sample bank as an experiment frame: coverage, majority vote and best-of-N at every k, in seconds.

A bank (`itslab.banks`) holds n real samples per problem. Each sample-based strategy's accuracy at
k ≤ n is its expectation over random size-k subsets of those samples
(`itslab.scaling.pool_strategies.strategy_accuracy`): coverage / pass@k (Chen et al. 2021,
arXiv:2107.03374; Brown et al. 2024, arXiv:2407.21787), majority vote (Wang et al. 2023,
arXiv:2203.11171) and best-of-N ranked by the model's mean token log-probability, and by its own
P("Yes") where the bank recorded self-evaluation (Kadavath et al. 2022, arXiv:2207.05221). The rows
have the schema of `itslab.experiments.run` (one per problem × strategy × budget, ``correct`` the
per-problem expected accuracy), so reports, laws and plots read them unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from itslab.scaling.pool_strategies import strategy_accuracy


def default_ks(n: int) -> list[int]:
    """Powers of two up to the bank's n samples (and n itself)."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks if ks[-1] == n else [*ks, n]


def bank_frame(bank: Any, ks: Sequence[int] | None = None, *, rng: np.random.Generator) -> Any:
    """Tidy rows (problem_id, strategy, strategy_name, budget_axis, budget, seed, correct, samples,
    generated_tokens) of `bank`'s strategies at each k; `rng` drives majority vote's Monte Carlo
    where exact enumeration over subsets is infeasible."""
    import pandas as pd

    ks = default_ks(bank.n) if ks is None else sorted({int(k) for k in ks})
    if not ks or ks[0] < 1 or ks[-1] > bank.n:
        raise ValueError(f"bank_frame: ks must lie in 1..{bank.n} (bank {bank.name!r}), got {ks}")
    curves = strategy_accuracy(bank.correct, bank.answers, None, ks, strategies=("pass_at_k", "majority_vote"), rng=rng)
    named = {
        "pass_at_k": ("pass_at_k", curves["pass_at_k"]),
        "majority_vote": ("majority_vote", curves["majority_vote"]),
    }
    scorers = {"logprob": bank.logprob_mean, "self_eval": bank.self_eval}
    for label, scores in scorers.items():
        if np.isfinite(scores).all():
            acc = strategy_accuracy(bank.correct, bank.answers, scores, ks, strategies=("best_of_n",))["best_of_n"]
            named[f"best_of_n({label})"] = ("best_of_n", acc)
    mean_tokens = bank.tokens.mean(axis=1)
    frames = []
    for label, (name, acc) in named.items():
        for j, k in enumerate(ks):
            frames.append(
                pd.DataFrame(
                    {
                        "problem_id": list(bank.problem_ids),
                        "strategy": label,
                        "strategy_name": name,
                        "budget_axis": "samples",
                        "budget": k,
                        "seed": 0,
                        "correct": acc[:, j],
                        "samples": k,
                        "generated_tokens": k * mean_tokens,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
