"""Solve or verify at matched compute: self-consistency against generative verification.

Singhi et al. 2025, "When To Solve, When To Verify" (arXiv:2504.01005): at equal compute
C(S, V) = S·(1 + λ·V) in units of one solution (a verification is λ solutions long), compare
self-consistency (S solutions, majority vote; Wang et al. 2023, arXiv:2203.11171) with GenRM
(S solutions, V verification chains each, most "Yes" verdicts wins; Zhang et al. 2024,
arXiv:2408.15240). Verdicts come from a simulated verifier, `generative_verdicts`; GenRM's accuracy
under that verifier also has a closed form, `genrm_accuracy` (milliseconds, for sliders over TPR,
FPR and κ; derivation in docs/methods.md).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import betabinom, binom

from itslab.scaling.estimators import best_of_k_matrix
from itslab.scaling.voting import majority_at_k_matrix


def generative_verdicts(
    correct: np.ndarray,
    n_verifications: int,
    *,
    tpr: float,
    fpr: float,
    concentration: float = np.inf,
    rng: np.random.Generator,
) -> np.ndarray:
    """Yes/No verdicts [P, S, V] of a simulated (Beta-binomial) generative verifier on each solution.

    A solution's latent acceptance probability is q ~ Beta(κ·tpr, κ·(1 − tpr)) if it is correct,
    Beta(κ·fpr, κ·(1 − fpr)) if not, and its V verdicts are Bernoulli(q): one verdict has the given
    TPR/FPR, and more verdicts help only as far as q separates right from wrong. `concentration` κ > 0
    sets how strongly the verdicts on one solution agree (inf: independent verdicts with rates
    exactly tpr/fpr). Verdict j is the same for every V > j, so one array serves every V.

    >>> import numpy as np
    >>> c = np.array([[True, False, False]])
    >>> v = generative_verdicts(c, 4, tpr=1.0, fpr=0.0, rng=np.random.default_rng(0))
    >>> v.shape, bool(v[0, 0].all()), bool(v[0, 1:].any())
    ((1, 3, 4), True, False)
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2:
        raise ValueError(f"generative_verdicts: correct must be [problems, solutions], got shape {correct.shape}")
    if n_verifications < 1:
        raise ValueError(f"generative_verdicts: n_verifications must be >= 1, got {n_verifications}")
    for name, v in (("tpr", tpr), ("fpr", fpr)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"generative_verdicts: {name} must be in [0, 1], got {v}")
    if not concentration > 0:
        raise ValueError(f"generative_verdicts: concentration must be > 0, got {concentration}")
    q = np.where(correct, float(tpr), float(fpr))
    inner = (q > 0) & (q < 1)  # Beta needs both shapes > 0: rates of exactly 0 or 1 stay fixed
    if not np.isinf(concentration) and inner.any():
        m = q[inner]
        q[inner] = rng.beta(concentration * m, concentration * (1.0 - m))
    u = rng.random(correct.shape + (n_verifications,))
    return u < q[..., None]


def compute_cost(solutions: np.ndarray | int, verifications: np.ndarray | int, lam: float) -> np.ndarray:
    """C(S, V) = S·(1 + λ·V), in units of one solution's generation (Singhi et al. 2025, §3)."""
    if lam < 0:
        raise ValueError(f"compute_cost: lam (verification length / solution length) must be >= 0, got {lam}")
    return np.asarray(solutions) * (1.0 + lam * np.asarray(verifications))


def solve_verify_frame(
    answers: np.ndarray,
    correct: np.ndarray,
    verdicts: np.ndarray | None,
    *,
    solutions: Sequence[int],
    verifications: Sequence[int],
    lam: float = 1.0,
    rng: np.random.Generator,
    n_mc: int = 500,
    include_sc: bool = True,
) -> pd.DataFrame:
    """Accuracy of SC and GenRM over grids of S and V, with their compute, as one tidy frame.

    Columns: ``method`` ("SC" or "GenRM"), ``S``, ``V`` (0 for SC), ``compute`` = C(S, V),
    ``accuracy`` (mean over problems of the exact expectation over random S-subsets of the pool;
    SC by `majority_at_k_matrix`, Monte Carlo with `rng` where exact is infeasible) and ``se``
    across problems. GenRM scores each solution by its mean verdict over the first V and picks the
    best (ties uniformly at random). ``verdicts=None`` gives the SC rows alone, ``include_sc=False``
    the GenRM rows alone (SC's majority vote is the slow part: compute it once).
    """
    if verdicts is None:
        verdicts, verifications = np.zeros(np.shape(correct) + (0,), dtype=bool), []
    verdicts = np.asarray(verdicts, dtype=bool)
    if verdicts.shape[:2] != np.shape(correct) or np.shape(answers) != np.shape(correct):
        raise ValueError(
            f"solve_verify_frame: answers {np.shape(answers)}, correct {np.shape(correct)} and "
            f"verdicts {verdicts.shape[:2]} must share [problems, solutions]"
        )
    if verifications and max(verifications) > verdicts.shape[2]:
        raise ValueError(f"solve_verify_frame: V={max(verifications)} exceeds the {verdicts.shape[2]} verdicts drawn")
    ks = np.asarray(sorted(set(int(s) for s in solutions)))
    rows = []
    if include_sc:
        sc, _, _ = majority_at_k_matrix(answers, correct, ks, rng=rng, n_mc=n_mc)
        rows += [("SC", s, 0, sc[:, j]) for j, s in enumerate(ks)]
    for v in sorted(set(int(v) for v in verifications)):
        bon = best_of_k_matrix(verdicts[..., :v].mean(axis=2), correct, ks, tie="random")
        for j, s in enumerate(ks):
            rows.append(("GenRM", s, v, bon[:, j]))
    p = len(correct)
    return pd.DataFrame(
        {
            "method": [r[0] for r in rows],
            "S": [int(r[1]) for r in rows],
            "V": [int(r[2]) for r in rows],
            "compute": [float(compute_cost(r[1], r[2], lam)) for r in rows],
            "accuracy": [float(r[3].mean()) for r in rows],
            "se": [float(r[3].std(ddof=1) / np.sqrt(p)) if p > 1 else np.nan for r in rows],
        }
    )


def frontier(frame: pd.DataFrame, method: str = "GenRM") -> pd.DataFrame:
    """Compute-optimal configurations of `method` (the Pareto frontier of accuracy against compute):
    the configurations more accurate than every cheaper one, cheapest first. Their S and V against
    compute are the paper's optimal allocation (S_opt ∝ C^a, V_opt ∝ C^b)."""
    part = frame[frame["method"] == method]
    if part.empty:
        raise ValueError(f"frontier: no rows with method {method!r}")
    part = part.sort_values(["compute", "accuracy"], ascending=[True, False]).drop_duplicates("compute")
    cheaper_best = part["accuracy"].cummax().shift(fill_value=-np.inf)
    return part[part["accuracy"] > cheaper_best].reset_index(drop=True)


def _first_reach(part: pd.DataFrame, target: float, interpolate: bool) -> float:
    """Least compute at which `part` (rows of one method) reaches `target`; with `interpolate`, the
    crossing of its frontier (best accuracy so far against compute) by linear interpolation in log compute."""
    part = part.sort_values("compute")
    c, best = part["compute"].to_numpy(float), np.maximum.accumulate(part["accuracy"].to_numpy(float))
    hit = np.flatnonzero(best >= target)
    if not len(hit):
        return float("inf")
    i = int(hit[0])
    if not interpolate or i == 0 or best[i] == best[i - 1]:
        return float(c[i])
    t = (target - best[i - 1]) / (best[i] - best[i - 1])
    return float(np.exp(np.log(c[i - 1]) + t * (np.log(c[i]) - np.log(c[i - 1]))))


def compute_to_match(frame: pd.DataFrame, *, tol: float = 0.005, interpolate: bool = False) -> dict[str, float]:
    """How much compute GenRM needs to match SC's best accuracy (Singhi et al. 2025, "up to 8×").

    Returns SC's best accuracy, the least compute at which SC comes within `tol` of it, the least
    compute at which GenRM reaches that level (inf if never), and their ratio. On a grid of powers
    of two the ratio moves in steps of about 2×; `interpolate` reads both crossings off the
    frontiers, linear in log compute, so the ratio moves smoothly with the verifier.
    """
    sc, gen = frame[frame["method"] == "SC"], frame[frame["method"] == "GenRM"]
    if sc.empty or gen.empty:
        raise ValueError("compute_to_match: the frame needs both SC and GenRM rows")
    target = float(sc["accuracy"].max()) - tol
    c_sc, c_gen = _first_reach(sc, target, interpolate), _first_reach(gen, target, interpolate)
    return {"sc_best": target + tol, "compute_sc": c_sc, "compute_genrm": c_gen, "ratio": c_gen / c_sc}


def verdict_count_pmf(n_verifications: int, rate: float, concentration: float = np.inf) -> np.ndarray:
    """P(j of V verdicts say "Yes"), j = 0..V, for one solution of `generative_verdicts`: Binomial(V, rate)
    when κ = inf (or the rate is 0 or 1), Beta-binomial(V, κ·rate, κ·(1 − rate)) otherwise."""
    j = np.arange(n_verifications + 1)
    if np.isinf(concentration) or rate in (0.0, 1.0):
        return binom.pmf(j, n_verifications, rate)
    return betabinom.pmf(j, n_verifications, concentration * rate, concentration * (1.0 - rate))


def genrm_accuracy(
    p: np.ndarray | float,
    solutions: Sequence[int],
    verifications: Sequence[int],
    *,
    tpr: float,
    fpr: float,
    concentration: float = np.inf,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """GenRM's accuracy [len(solutions), len(verifications)] in closed form, averaged over problems.

    On a problem with single-sample accuracy p, the S solutions are i.i.d.: correct with
    probability p, and their "Yes" counts drawn from f_c (correct) or f_w (wrong), mixture
    m = p·f_c + (1 − p)·f_w with CDF M. The best count is j with probability M_j^S − M_{j−1}^S, and
    the solution picked among those at j (ties uniformly at random) is correct with probability
    p·f_c(j)/m_j, so

        accuracy(S, V; p) = Σ_j p·f_c(j)/m_j · (M_j^S − M_{j−1}^S).

    This is the expectation that `solve_verify_frame` estimates from a finite pool.
    """
    p = np.atleast_1d(np.asarray(p, dtype=np.float64))
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("genrm_accuracy: p must lie in [0, 1]")
    for name, v in (("tpr", tpr), ("fpr", fpr)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"genrm_accuracy: {name} must be in [0, 1], got {v}")
    s = np.asarray(solutions, dtype=np.float64)
    if np.any(s < 1):
        raise ValueError(f"genrm_accuracy: numbers of solutions must be >= 1, got {list(solutions)}")
    out = np.empty((len(s), len(verifications)))
    for i, v in enumerate(verifications):
        if v < 1:
            raise ValueError(f"genrm_accuracy: numbers of verifications must be >= 1, got {v}")
        f_c, f_w = verdict_count_pmf(int(v), tpr, concentration), verdict_count_pmf(int(v), fpr, concentration)
        m = p[:, None] * f_c + (1 - p[:, None]) * f_w  # [problems, V + 1]
        cdf = np.clip(np.cumsum(m, axis=1), 0.0, 1.0)
        lower = np.concatenate([np.zeros((len(p), 1)), cdf[:, :-1]], axis=1)
        top = cdf[..., None] ** s - lower[..., None] ** s  # P(best count = j) [problems, V + 1, S]
        share = np.divide(p[:, None] * f_c, m, out=np.zeros_like(m), where=m > 0)
        per_problem = np.einsum("pj,pjs->ps", share, top)
        out[:, i] = np.average(per_problem, axis=0, weights=weights)
    return out


def genrm_frame(
    p: np.ndarray | float,
    solutions: Sequence[int],
    verifications: Sequence[int],
    *,
    tpr: float,
    fpr: float,
    concentration: float = np.inf,
    lam: float = 1.0,
    weights: Sequence[float] | None = None,
) -> pd.DataFrame:
    """`genrm_accuracy` as the GenRM rows of `solve_verify_frame` (method, S, V, compute, accuracy),
    to concatenate with a frame's SC rows for `frontier` and `compute_to_match`."""
    acc = genrm_accuracy(p, solutions, verifications, tpr=tpr, fpr=fpr, concentration=concentration, weights=weights)
    ss, vv = np.meshgrid(np.asarray(solutions), np.asarray(verifications), indexing="ij")
    return pd.DataFrame(
        {
            "method": "GenRM",
            "S": ss.ravel().astype(int),
            "V": vv.ravel().astype(int),
            "compute": compute_cost(ss.ravel(), vv.ravel(), lam).astype(float),
            "accuracy": acc.ravel(),
        }
    )


def verifier_for_ratio(
    ratio: float,
    sc_rows: pd.DataFrame,
    p: np.ndarray,
    solutions: Sequence[int],
    verifications: Sequence[int],
    *,
    concentration: float = np.inf,
    lam: float = 1.0,
    tol: float = 0.005,
) -> float:
    """The single-verdict accuracy a (TPR = a, FPR = 1 − a) at which GenRM needs `ratio` times SC's
    compute to match SC's best (interpolated `compute_to_match`, closed-form GenRM over the grid).

    A better verifier needs less compute, so the ratio falls with a; solved by bisection on log ratio.
    On a finite (S, V) grid the ratio jumps where a configuration joins GenRM's frontier, so the
    ratio at the returned a may lie on either side of `ratio` by up to one jump. Raises ValueError
    when no a in (0.5, 1) gives that ratio.
    """

    def gap(a: float) -> float:
        g = genrm_frame(p, solutions, verifications, tpr=a, fpr=1 - a, concentration=concentration, lam=lam)
        r = compute_to_match(pd.concat([sc_rows, g]), tol=tol, interpolate=True)["ratio"]
        return (math.log(r) if np.isfinite(r) else 50.0) - math.log(ratio)

    lo, hi = 0.5 + 1e-6, 1.0 - 1e-6
    if not gap(lo) > 0 > gap(hi):
        raise ValueError(f"verifier_for_ratio: no single-verdict accuracy in (0.5, 1) gives ratio {ratio}")
    return float(brentq(gap, lo, hi, xtol=1e-5))
