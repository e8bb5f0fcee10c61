"""Uncertainty of fitted scaling laws: bootstrap over problems, and extrapolation checks.

`bootstrap` resamples problems with replacement (Efron & Tibshirani 1993), averages their
per-problem curves, refits the law to every replicate (warm-started at the full-data fit) and
reports percentile intervals for parameters and for predictions at new budgets — the honest
error bar on "at 10^4 samples coverage will be ...". `extrapolation_check` fits on x ≤ K only
and reports the error on the held-out larger budgets, the test Brown et al. (2024) and Snell et
al. (2024) apply to their own curves.

>>> import numpy as np
>>> rng = np.random.default_rng(0); ks = np.array([1, 2, 4, 8, 16, 32])
>>> per_problem = np.exp(-rng.uniform(0.5, 3, (50, 1)) * ks ** -0.5)
>>> bs = bootstrap("exp_power_law", ks, per_problem, rng=rng, n_boot=50, x_new=[128])
>>> list(bs.param_ci.columns)
['param', 'estimate', 'se_boot', 'ci_low', 'ci_high']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.intervals import bootstrap_counts, percentile_ci
from itslab.scaling.laws import FitResult, Law, fit, get_law, refit


@dataclass(frozen=True, eq=False)
class LawBootstrap:
    """Bootstrap of a law fit: the full-data `fit`, replicate parameters and predictions, and CIs.

    `params` is [n_ok, n_params] and `predictions` [n_ok, len(x_new)] over the replicates whose
    fit converged; `n_failed` counts the others.
    """

    fit: FitResult
    params: np.ndarray
    predictions: np.ndarray
    x_new: np.ndarray
    param_ci: pd.DataFrame
    prediction_ci: pd.DataFrame
    n_failed: int
    ci: float


def bootstrap(
    form: str | Law,
    x: Sequence[float],
    per_problem: np.ndarray,
    *,
    rng: np.random.Generator,
    n_boot: int = 1000,
    x_new: Sequence[float] | None = None,
    sigma: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    ci: float = 0.95,
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
) -> LawBootstrap:
    """Fit `form` to the mean of `per_problem` [problems, len(x)] and bootstrap it over problems.

    `weights` (optional, per row) are multiplicities: a row standing for several identical
    problems (e.g. unique (n, c) pairs of a pass@k matrix) counts that many times, both in the
    mean and in the resampling. `bounds` = (lower, upper) replace the law's own, for the full fit
    and every replicate (e.g. an accuracy ceiling kept in [0, 1]).
    """
    law = get_law(form)
    per_problem = np.asarray(per_problem, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if per_problem.ndim != 2 or per_problem.shape[1] != len(x):
        raise ValueError(f"bootstrap({law.name}): per_problem {per_problem.shape} must be [problems, {len(x)}]")
    mult = np.ones(len(per_problem), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    if mult.shape != (len(per_problem),) or np.any(mult < 0):
        raise ValueError(f"bootstrap({law.name}): weights must be {len(per_problem)} non-negative integers")
    total = int(mult.sum())
    base = fit(law, x, mult @ per_problem / total, sigma=sigma, bounds=bounds)
    x_new = x if x_new is None else np.asarray(x_new, dtype=np.float64)
    # identical rows (problems with equal curves) are merged: resampling P problems then redraws
    # the distinct rows Multinomial(P, multiplicity / P), the same law at a fraction of the cost
    uniq, inverse = np.unique(per_problem, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=mult, minlength=len(uniq))
    means = bootstrap_counts(total, rng, n_boot, weights=merged) @ uniq / total
    w = None if sigma is None else 1.0 / np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)
    params, preds = [], []
    for y_b in means:
        p = refit(law, x, y_b, p0=np.asarray(base.params), w=w, bounds=bounds)
        if p is None:  # the fast unbounded refit left the bounds or failed: full bounded fit
            try:
                r = fit(law, x, y_b, sigma=sigma, p0=base.params, bounds=bounds)
            except (ValueError, np.linalg.LinAlgError):
                continue
            p = np.asarray(r.params) if r.success and np.all(np.isfinite(r.params)) else None
        if p is not None:
            params.append(p)
            preds.append(law.fn(x_new, *p))
    params_a, preds_a = np.asarray(params).reshape(-1, len(base.params)), np.asarray(preds).reshape(-1, len(x_new))
    if len(params_a) == 0:
        raise RuntimeError(f"bootstrap({law.name}): no replicate fit converged")
    p_lo, p_hi = percentile_ci(params_a, ci)
    y_lo, y_hi = percentile_ci(preds_a, ci)
    param_ci = pd.DataFrame(
        {
            "param": base.names,
            "estimate": base.params,
            "se_boot": params_a.std(axis=0, ddof=1),
            "ci_low": p_lo,
            "ci_high": p_hi,
        }
    )
    pred_ci = pd.DataFrame({"x": x_new, "estimate": base.predict(x_new), "ci_low": y_lo, "ci_high": y_hi})
    return LawBootstrap(
        fit=base,
        params=params_a,
        predictions=preds_a,
        x_new=x_new,
        param_ci=param_ci,
        prediction_ci=pred_ci,
        n_failed=n_boot - len(params_a),
        ci=ci,
    )


@dataclass(frozen=True, eq=False)
class Extrapolation:
    """A fit on x ≤ `fit_max` and its errors: `frame` has x, y, y_pred, error, held_out."""

    fit: FitResult
    fit_max: float
    frame: pd.DataFrame

    @property
    def heldout_mae(self) -> float:
        """Mean absolute error over the held-out points (x > fit_max)."""
        held = self.frame[self.frame["held_out"]]
        return float(held["error"].abs().mean()) if len(held) else float("nan")

    @property
    def heldout_max_error(self) -> float:
        """Largest absolute error over the held-out points."""
        held = self.frame[self.frame["held_out"]]
        return float(held["error"].abs().max()) if len(held) else float("nan")


def extrapolation_check(
    form: str | Law, x: Sequence[float], y: Sequence[float], *, fit_max: float, sigma: np.ndarray | None = None
) -> Extrapolation:
    """Fit `form` on the points with x ≤ `fit_max`; report prediction error on every point.

    `error` = y_pred − y; a law that extrapolates well keeps the held-out error near the noise.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    inside = x <= fit_max
    if inside.sum() < len(get_law(form).param_names) or inside.all():
        raise ValueError(
            f"extrapolation_check: fit_max={fit_max} must leave enough points on both sides "
            f"({int(inside.sum())} inside, {int((~inside).sum())} held out)"
        )
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)[inside]
    result = fit(form, x[inside], y[inside], sigma=sig)
    pred = result.predict(x)
    frame = pd.DataFrame({"x": x, "y": y, "y_pred": pred, "error": pred - y, "held_out": ~inside})
    return Extrapolation(fit=result, fit_max=float(fit_max), frame=frame)


def extrapolation_bootstrap(
    form: str | Law,
    x: Sequence[float],
    per_problem: np.ndarray,
    *,
    fit_max: float,
    rng: np.random.Generator,
    n_boot: int = 200,
) -> pd.DataFrame:
    """Held-out error of `form` fitted on x ≤ `fit_max`, with its standard error over problems.

    The error is ``prediction − observed mean`` at each held-out x of the mean of `per_problem`
    [problems, len(x)]; its SE is the spread of the same error over `n_boot` resamples of the
    problems, each refitted (warm-started at the full-data fit). Fit and held-out points share the
    problems, so this SE, not the SE of the observed mean alone, is the noise an extrapolation
    error is judged against: ``|z| = |error| / se`` well above 2 means the law itself is off.
    Returns a frame of x, error, se, z (held-out points only).
    """
    law = get_law(form)
    x = np.asarray(x, dtype=np.float64)
    per_problem = np.asarray(per_problem, dtype=np.float64)
    if per_problem.ndim != 2 or per_problem.shape[1] != len(x):
        raise ValueError(
            f"extrapolation_bootstrap({law.name}): per_problem {per_problem.shape} must be [problems, {len(x)}]"
        )
    inside = x <= fit_max
    base = extrapolation_check(law, x.tolist(), per_problem.mean(axis=0).tolist(), fit_max=fit_max)
    means = bootstrap_counts(len(per_problem), rng, n_boot) @ per_problem / len(per_problem)
    errors = []
    for y_b in means:
        p = refit(law, x[inside], y_b[inside], p0=np.asarray(base.fit.params))
        if p is None:
            try:
                r = fit(law, x[inside], y_b[inside], p0=base.fit.params)
            except (ValueError, np.linalg.LinAlgError):
                continue
            p = np.asarray(r.params) if r.success else None
        if p is not None:
            errors.append(law.fn(x[~inside], *p) - y_b[~inside])
    if len(errors) < 2:
        raise RuntimeError(f"extrapolation_bootstrap({law.name}): fewer than 2 replicate fits converged")
    held = base.frame[base.frame["held_out"]]
    se = np.asarray(errors).std(axis=0, ddof=1)
    error = held["error"].to_numpy()
    return pd.DataFrame({"x": held["x"].to_numpy(), "error": error, "se": se, "z": error / se})
