"""Solve or verify at matched compute: self-consistency against generative verification.

Singhi et al. 2025, "When To Solve, When To Verify" (arXiv:2504.01005): at equal compute
C(S, V) = S·(1 + λ·V) in units of one solution (a verification is λ solutions long), compare
self-consistency (S solutions, majority vote; Wang et al. 2023, arXiv:2203.11171) with GenRM
(S solutions, V verification chains each, most "Yes" verdicts wins; Zhang et al. 2024,
arXiv:2408.15240). Verdicts come from a simulated verifier, `generative_verdicts`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

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
    verdicts: np.ndarray,
    *,
    solutions: Sequence[int],
    verifications: Sequence[int],
    lam: float = 1.0,
    rng: np.random.Generator,
    n_mc: int = 500,
) -> pd.DataFrame:
    """Accuracy of SC and GenRM over grids of S and V, with their compute, as one tidy frame.

    Columns: ``method`` ("SC" or "GenRM"), ``S``, ``V`` (0 for SC), ``compute`` = C(S, V),
    ``accuracy`` (mean over problems of the exact expectation over random S-subsets of the pool;
    SC by `majority_at_k_matrix`, Monte Carlo with `rng` where exact is infeasible) and ``se``
    across problems. GenRM scores each solution by its mean verdict over the first V and picks the
    best (ties uniformly at random).
    """
    verdicts = np.asarray(verdicts, dtype=bool)
    if verdicts.shape[:2] != np.shape(correct) or np.shape(answers) != np.shape(correct):
        raise ValueError(
            f"solve_verify_frame: answers {np.shape(answers)}, correct {np.shape(correct)} and "
            f"verdicts {verdicts.shape[:2]} must share [problems, solutions]"
        )
    if max(verifications) > verdicts.shape[2]:
        raise ValueError(f"solve_verify_frame: V={max(verifications)} exceeds the {verdicts.shape[2]} verdicts drawn")
    ks = np.asarray(sorted(set(int(s) for s in solutions)))
    rows = []
    sc, _, _ = majority_at_k_matrix(answers, correct, ks, rng=rng, n_mc=n_mc)
    for j, s in enumerate(ks):
        rows.append(("SC", s, 0, sc[:, j]))
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


def compute_to_match(frame: pd.DataFrame, *, tol: float = 0.005) -> dict[str, float]:
    """How much compute GenRM needs to match SC's best accuracy (Singhi et al. 2025, "up to 8×").

    Returns SC's best accuracy, the least compute at which SC comes within `tol` of it, the least
    compute at which GenRM reaches that level (inf if never), and their ratio.
    """
    sc = frame[frame["method"] == "SC"].sort_values("compute")
    gen = frame[frame["method"] == "GenRM"].sort_values("compute")
    if sc.empty or gen.empty:
        raise ValueError("compute_to_match: the frame needs both SC and GenRM rows")
    target = float(sc["accuracy"].max()) - tol
    c_sc = float(sc.loc[sc["accuracy"] >= target, "compute"].min())
    hit = gen.loc[gen["accuracy"] >= target, "compute"]
    c_gen = float(hit.min()) if len(hit) else float("inf")
    return {"sc_best": target + tol, "compute_sc": c_sc, "compute_genrm": c_gen, "ratio": c_gen / c_sc}
