"""Scaling-law forms (`LAWS`) and their least-squares fits with standard errors.

Forms of y against a budget x > 0 (samples, tokens or FLOPs): `power_law`, `saturating_power_law`,
`exp_power_law` (coverage), `logistic_log` and `beta_difficulty` (pass@k under Beta-distributed
difficulty); each function's docstring gives its formula and source. `fit` runs bounded
`scipy.optimize.least_squares` from a data-driven start; standard errors come from the Jacobian
at the optimum (as `curve_fit`'s do), with the condition number of the covariance.

>>> import numpy as np
>>> x = np.array([1, 2, 4, 8, 16, 32.]); y = np.exp(-1.5 * x ** -0.6)
>>> r = fit("exp_power_law", x, y); [round(v, 3) for v in r.params]
[1.5, 0.6]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares, leastsq
from scipy.special import betaln, expit

Start = Callable[[np.ndarray, np.ndarray], tuple[float, ...]]


@dataclass(frozen=True)
class Law:
    """A named parametric form y = fn(x, *params) with bounds and a data-driven starting point."""

    name: str
    param_names: tuple[str, ...]
    fn: Callable[..., np.ndarray]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    start: Start
    reference: str


def _loglog_slope(x: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of log z on log x over the points with z > 0."""
    ok = (z > 0) & np.isfinite(z)
    if ok.sum() < 2:
        return 0.0, -0.5
    slope, icpt = np.polyfit(np.log(x[ok]), np.log(z[ok]), 1)
    return float(icpt), float(slope)


def _best(law_fn: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray, cands: list[tuple]) -> tuple:
    """The candidate start with the smallest squared error (non-finite predictions lose)."""

    def sse(p: tuple) -> float:
        with np.errstate(all="ignore"):
            r = np.sum((law_fn(x, *p) - y) ** 2)
        return float(r) if np.isfinite(r) else np.inf

    return min(cands, key=sse)


def power_law(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """y = a · x^b (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361)."""
    return a * np.power(x, b)


def _start_power(x, y):
    icpt, slope = _loglog_slope(x, y)
    return float(np.exp(icpt)), slope


def saturating_power_law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """y = c − a · x^(−b), approaching the ceiling c (Hestness et al. 2017, "Deep Learning Scaling is
    Predictable, Empirically", arXiv:1712.00409)."""
    return c - a * np.power(x, -b)


def _start_saturating(x, y):
    span = max(float(np.ptp(y)), 1e-3)
    cands = []
    for margin in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        c = float(y.max()) + margin * span
        icpt, slope = _loglog_slope(x, c - y)
        cands.append((float(np.exp(icpt)), max(-slope, 1e-3), c))
    return _best(saturating_power_law, x, y, cands)


def exp_power_law(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """coverage = exp(−a · x^(−b)), i.e. −log coverage = a · x^(−b), against samples x (Brown et al. 2024,
    "Large Language Monkeys", arXiv:2407.21787, Eq. 2)."""
    return np.exp(-a * np.power(x, -b))


def _start_exp_power(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = -np.log(np.clip(y, 1e-300, None))
    icpt, slope = _loglog_slope(x, np.where((y > 0) & (y < 1), z, np.nan))
    return float(np.exp(icpt)), max(-slope, 1e-3)


def logistic_log(x: np.ndarray, c: float, s: float, m: float) -> np.ndarray:
    """y = c / (1 + exp(−s (log x − m))): a sigmoid in log compute with ceiling c."""
    return c * expit(s * (np.log(x) - m))


def _start_logistic(x, y):
    cands = []
    for scale in (1.01, 1.05, 1.2, 1.5, 2.0):
        c = max(float(y.max()) * scale, 1e-6)
        q = np.clip(y / c, 1e-6, 1 - 1e-6)
        slope, icpt = np.polyfit(np.log(x), np.log(q / (1 - q)), 1) if len(x) > 1 else (1.0, 0.0)
        s = max(float(slope), 1e-3)
        cands.append((c, s, float(-icpt / s)))
    return _best(logistic_log, x, y, cands)


def beta_difficulty(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """pass@k = 1 − B(a, b + k)/B(a, b): E[1 − (1 − p)^k] for p ~ Beta(a, b) (Schaeffer et al. 2025,
    "How Do Large Language Monkeys Get Their Power (Laws)?", arXiv:2502.17578)."""
    return -np.expm1(betaln(a, b + x) - betaln(a, b))


def _start_beta(x, y):
    grid = np.logspace(-2, 2, 17)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    pred = beta_difficulty(x[None, None, :], a[..., None], b[..., None])  # all 289 starts at once
    i, j = np.unravel_index(np.argmin(np.sum((pred - y) ** 2, axis=-1)), a.shape)
    return float(a[i, j]), float(b[i, j])


INF = np.inf
LAWS: Mapping[str, Law] = {
    law.name: law
    for law in (
        Law("power_law", ("a", "b"), power_law, (1e-300, -20.0), (INF, 20.0), _start_power, "Kaplan et al. 2020"),
        Law(
            "saturating_power_law",
            ("a", "b", "c"),
            saturating_power_law,
            (-INF, 1e-6, -INF),
            (INF, 20.0, INF),
            _start_saturating,
            "Hestness et al. 2017",
        ),
        Law(
            "exp_power_law",
            ("a", "b"),
            exp_power_law,
            (1e-12, 1e-6),
            (INF, 20.0),
            _start_exp_power,
            "Brown et al. 2024, Large Language Monkeys",
        ),
        Law(
            "logistic_log",
            ("c", "s", "m"),
            logistic_log,
            (1e-12, 1e-6, -INF),
            (INF, INF, INF),
            _start_logistic,
            "sigmoid in log compute",
        ),
        Law(
            "beta_difficulty",
            ("a", "b"),
            beta_difficulty,
            (1e-6, 1e-6),
            (1e6, 1e6),
            _start_beta,
            "Beta-binomial difficulty model",
        ),
    )
}


def get_law(form: str | Law) -> Law:
    """A `Law` by name (see `LAWS`) or the law itself."""
    if isinstance(form, Law):
        return form
    if form not in LAWS:
        raise ValueError(f"unknown law {form!r}; known: {sorted(LAWS)}")
    return LAWS[form]


@dataclass(frozen=True)
class FitResult:
    """A fitted law: parameters, standard errors, covariance and its condition number.

    `cond` is the condition number of `cov`; large values (> 1e10) mean the parameters are
    poorly identified by the data (e.g. a ceiling not yet approached). `method` is "least_squares"
    or "beta_binomial_mle". `at_bound` names the parameters the fit left on a bound: their SE is
    NaN (the curvature there says nothing about their uncertainty) and `message` says so.
    """

    law: Law
    params: tuple[float, ...]
    se: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    cond: float
    rss: float
    n: int
    x_range: tuple[float, float]
    success: bool
    method: str = "least_squares"
    message: str = ""
    at_bound: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The law's parameter names, in the order of `params`."""
        return self.law.param_names

    def as_dict(self) -> dict[str, float]:
        """Parameters by name."""
        return dict(zip(self.names, self.params))

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        """The fitted curve at `x` (extrapolation beyond `x_range` is the caller's risk)."""
        return self.law.fn(np.asarray(x, dtype=np.float64), *self.params)

    def predict_se(self, x: np.ndarray | float) -> np.ndarray:
        """Delta-method standard error of `predict(x)` from the parameter covariance."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        jac = _jacobian(self.law, x, np.asarray(self.params))
        return np.sqrt(np.einsum("ij,jk,ik->i", jac, np.asarray(self.cov), jac))


def _jacobian(law: Law, x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian d fn / d params at p, [len(x), len(p)]."""
    jac = np.empty((len(x), len(p)))
    for j in range(len(p)):
        h = 1e-6 * max(abs(p[j]), 1e-4)
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        jac[:, j] = (law.fn(x, *up) - law.fn(x, *dn)) / (2 * h)
    return jac


def _validate(x, y, sigma, where: str):
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{where}: x ({x.size}) and y ({y.size}) differ in length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x <= 0):
        raise ValueError(f"{where}: x must be finite and > 0, y finite (got x={x[:5]}..., y={y[:5]}...)")
    if sigma is not None:
        sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)
        if np.any(sigma <= 0) or not np.all(np.isfinite(sigma)):
            raise ValueError(f"{where}: sigma must be finite and > 0")
    return x, y, sigma


def fit(
    form: str | Law,
    x: np.ndarray,
    y: np.ndarray,
    *,
    sigma: np.ndarray | float | None = None,
    absolute_sigma: bool = False,
    p0: tuple[float, ...] | None = None,
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
) -> FitResult:
    """Least-squares fit of a scaling law with bounds, a data-driven start and standard errors.

    `sigma` are per-point standard deviations (weights 1/sigma²). With ``absolute_sigma=False``
    (the `curve_fit` default) the covariance is scaled by the reduced chi-square; with True,
    `sigma` is taken as the true noise level. `bounds` = (lower, upper) replaces the law's own,
    e.g. an accuracy ceiling kept in [0, 1].
    """
    law = get_law(form)
    x, y, sigma = _validate(x, y, sigma, f"fit({law.name})")
    n_par = len(law.param_names)
    if len(x) < n_par:
        raise ValueError(f"fit({law.name}): {len(x)} points cannot determine {n_par} parameters")
    if absolute_sigma and sigma is None:
        raise ValueError(f"fit({law.name}): absolute_sigma=True needs sigma")
    w = 1.0 / sigma if sigma is not None else np.ones_like(x)
    lo, hi = (
        (np.asarray(law.lower, dtype=float), np.asarray(law.upper, dtype=float))
        if bounds is None
        else (np.asarray(bounds[0], dtype=float), np.asarray(bounds[1], dtype=float))
    )
    if lo.shape != (n_par,) or hi.shape != (n_par,) or np.any(lo >= hi):
        raise ValueError(f"fit({law.name}): bounds need {n_par} lower < upper values, got {bounds!r}")
    start = np.asarray(p0 if p0 is not None else law.start(x, y), dtype=float)

    # least_squares needs a strictly feasible start: nudge it inside finite bounds
    def pad(b):
        return 1e-10 * np.maximum(1.0, np.abs(np.where(np.isfinite(b), b, 0.0)))

    start = np.clip(start, np.where(np.isfinite(lo), lo + pad(lo), lo), np.where(np.isfinite(hi), hi - pad(hi), hi))

    def resid(p):
        with np.errstate(over="ignore", invalid="ignore"):
            r = (law.fn(x, *p) - y) * w
        return np.where(np.isfinite(r), r, 1e10)  # keeps the solver off overflowing regions

    sol = least_squares(resid, start, bounds=(lo, hi), x_scale="jac", method="trf")
    params = sol.x
    jac = _jacobian(law, x, params) * w[:, None]
    rss = float(np.sum(resid(params) ** 2))
    dof = len(x) - n_par
    u, s, vt = np.linalg.svd(jac, full_matrices=False)
    keep = s > s[0] * 1e-12 if s.size and s[0] > 0 else np.zeros_like(s, dtype=bool)
    cov = (vt[keep].T / s[keep] ** 2) @ vt[keep]  # pseudo-inverse of J^T J
    cond = float((s[keep][0] / s[keep][-1]) ** 2) if keep.all() and keep.any() else np.inf
    if not absolute_sigma:
        cov = cov * (rss / dof if dof > 0 else np.inf)
    if not keep.all():
        cov = np.full((n_par, n_par), np.inf)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    # on a bound = within 1e-6 of it (relative to its size): the solver stops just inside, never on it
    near = [1e-6 * max(1.0, abs(b)) if np.isfinite(b) else 0.0 for b in (*lo, *hi)]
    stuck = [
        i
        for i in range(n_par)
        if (np.isfinite(lo[i]) and params[i] - lo[i] <= near[i])
        or (np.isfinite(hi[i]) and hi[i] - params[i] <= near[n_par + i])
    ]
    se[stuck] = np.nan
    at_bound = tuple(law.param_names[i] for i in stuck)
    message = str(sol.message) + (f"; at a bound: {', '.join(at_bound)}" if at_bound else "")
    return FitResult(
        law=law,
        params=tuple(float(v) for v in params),
        se=tuple(float(v) for v in se),
        cov=tuple(tuple(float(v) for v in row) for row in cov),
        cond=cond,
        rss=rss,
        n=len(x),
        x_range=(float(x.min()), float(x.max())),
        success=bool(sol.success),
        message=message,
        at_bound=at_bound,
    )


def refit(
    law: Law,
    x: np.ndarray,
    y: np.ndarray,
    *,
    p0: np.ndarray,
    w: np.ndarray | None = None,
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
) -> np.ndarray | None:
    """Parameters only, by unbounded Levenberg–Marquardt (MINPACK) from a warm start `p0`.

    Used for bootstrap replicates, whose optimum lies near the full-data fit: about 15× faster
    than the bounded `fit`. Returns None when it fails or leaves `bounds` (default: the law's own;
    the caller then falls back to `fit`).
    """
    weights = np.ones_like(x) if w is None else w

    def resid(p):
        with np.errstate(all="ignore"):
            r = (law.fn(x, *p) - y) * weights
        return np.where(np.isfinite(r), r, 1e10)

    with np.errstate(all="ignore"):  # a flat replicate makes MINPACK's covariance overflow; p is still read
        p, _, _, _, ier = leastsq(resid, p0, full_output=True)
    lo, hi = (law.lower, law.upper) if bounds is None else bounds
    inside = np.all(p >= np.asarray(lo, dtype=float)) and np.all(p <= np.asarray(hi, dtype=float))
    return p if ier in (1, 2, 3, 4) and np.all(np.isfinite(p)) and inside else None
