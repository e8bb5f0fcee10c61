"""Speed of the scaling estimators and law bootstrap, against a naive `math.comb` baseline.

1. pass@k for every k = 1..1000 over 10,000 problems × 1,000 samples (input: per-problem counts
   of correct samples, n = 1000). Target: < 1 s. Baseline: the textbook
   ``1 - comb(n - c, k) / comb(n, k)`` loop in Python, timed on a subset of problems and scaled
   to 10,000 problems.
2. An exponentiated-power-law fit (Brown et al. 2024) with 1,000 bootstrap replicates over the
   10,000 problems (pass@k at 21 log-spaced k). Target: < 10 s.

Run: ``python benchmarks/bench_scaling.py [--problems 10000] [--naive-subset 20]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from itslab.rng import as_rng
from itslab.scaling import bootstrap, pass_at_k_from_counts, pass_at_k_matrix


def naive_pass_at_k(n: int, counts: np.ndarray, ks: range) -> np.ndarray:
    """The direct formula with exact big-integer binomials, one (problem, k) at a time."""
    return np.array([[1.0 - math.comb(n - int(c), k) / math.comb(n, k) for k in ks] for c in counts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=1_000)
    ap.add_argument("--naive-subset", type=int, default=20, help="problems timed with the naive loop")
    ap.add_argument("--n-boot", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = as_rng(args.seed)
    n = args.samples
    counts = rng.binomial(n, rng.beta(0.3, 2.0, args.problems))  # heavy-tailed difficulty, as in real pools
    ks = range(1, n + 1)

    t0 = time.perf_counter()
    curve = pass_at_k_from_counts(n, counts, np.arange(1, n + 1))
    t_fast = time.perf_counter() - t0
    print(
        f"pass@k, k=1..{n}, {args.problems} problems x {n} samples: {t_fast:.3f} s "
        f"(target < 1 s) -> pass@1={curve.value.iloc[0]:.4f}, pass@{n}={curve.value.iloc[-1]:.4f}"
    )

    sub = counts[: args.naive_subset]
    t0 = time.perf_counter()
    naive = naive_pass_at_k(n, sub, ks)
    t_naive_sub = time.perf_counter() - t0
    t_naive = t_naive_sub / len(sub) * args.problems
    err = np.abs(naive - pass_at_k_matrix(n, sub, np.arange(1, n + 1))).max()
    print(
        f"naive math.comb loop: {t_naive_sub:.3f} s for {len(sub)} problems -> {t_naive:.1f} s scaled to "
        f"{args.problems}; speed-up {t_naive / t_fast:.0f}x; max |difference| {err:.1e}"
    )

    fit_ks = np.unique(np.round(np.logspace(0, np.log10(n), 21))).astype(int)
    t0 = time.perf_counter()
    per_problem = pass_at_k_matrix(n, counts, fit_ks)
    bs = bootstrap("exp_power_law", fit_ks, per_problem, rng=rng, n_boot=args.n_boot, x_new=[10 * n])
    t_boot = time.perf_counter() - t0
    a, b = bs.fit.params
    lo, hi = bs.prediction_ci[["ci_low", "ci_high"]].iloc[0]
    print(
        f"exp_power_law fit + {args.n_boot} bootstrap replicates: {t_boot:.2f} s (target < 10 s); "
        f"a={a:.3f}, b={b:.3f}, coverage@{10 * n} 95% CI [{lo:.4f}, {hi:.4f}], failed fits {bs.n_failed}"
    )
    ok = t_fast < 1.0 and t_boot < 10.0
    print("PASS" if ok else "FAIL (over target)")


if __name__ == "__main__":
    main()
