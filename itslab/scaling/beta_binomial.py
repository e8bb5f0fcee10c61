"""Maximum-likelihood fit of the Beta difficulty model to per-problem success counts.

If problem i has single-sample success probability p_i ~ Beta(a, b) and c_i of its n_i samples
are correct, c_i is beta-binomial:

    log L(a, b) = sum_i [ log C(n_i, c_i) + log B(c_i + a, n_i − c_i + b) − log B(a, b) ].

Fitting (a, b) to the counts directly uses all the information in the pool (rather than a
fitted curve of averages) and yields the whole pass@k curve, 1 − B(a, b + k)/B(a, b), with
standard errors from the observed Fisher information (analytic, via trigamma). Heavy-tailed
difficulty (small a) is what makes coverage follow a power law in k (Schaeffer et al. 2025,
"How Do Large Language Monkeys Get Their Power (Laws)?").

>>> import numpy as np
>>> rng = np.random.default_rng(0); p = rng.beta(0.5, 2.0, 4000)
>>> r = fit_beta_binomial(100, rng.binomial(100, p)); [round(v, 1) for v in r.params]
[0.5, 2.0]
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, polygamma

from itslab.scaling.laws import LAWS, FitResult


def _unique_counts(n: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs, mult = np.unique(np.stack([n, c], axis=1), axis=0, return_counts=True)
    return pairs[:, 0].astype(float), pairs[:, 1].astype(float), mult.astype(float)


def _negloglik(theta: np.ndarray, n, c, m) -> tuple[float, np.ndarray]:
    """Negative log-likelihood and gradient in (log a, log b)."""
    a, b = np.exp(theta)
    ll = m @ (betaln(c + a, n - c + b) - betaln(a, b))
    common = digamma(a + b) - digamma(n + a + b)
    ga = m @ (digamma(c + a) - digamma(a) + common)
    gb = m @ (digamma(n - c + b) - digamma(b) + common)
    return -float(ll), -np.array([ga * a, gb * b])


def _information(a: float, b: float, n, c, m) -> np.ndarray:
    """Observed Fisher information in (a, b): minus the Hessian of the log-likelihood."""
    t = polygamma(1, a + b) - polygamma(1, n + a + b)
    haa = m @ (polygamma(1, c + a) - polygamma(1, a) + t)
    hbb = m @ (polygamma(1, n - c + b) - polygamma(1, b) + t)
    hab = m @ t
    return -np.array([[haa, hab], [hab, hbb]])


def _moments_start(n, c, m) -> np.ndarray:
    p = c / n
    mean = float(np.clip(m @ p / m.sum(), 1e-3, 1 - 1e-3))
    var = float(m @ (p - mean) ** 2 / m.sum())
    conc = mean * (1 - mean) / var - 1 if var > 0 else 10.0
    conc = float(np.clip(conc, 0.05, 1e4))
    return np.log([mean * conc, (1 - mean) * conc])


def beta_binomial_loglik(a: float, b: float, successes: np.ndarray, n: np.ndarray | int) -> float:
    """Beta-binomial log-likelihood of counts `successes` out of `n` under p ~ Beta(a, b)."""
    c = np.asarray(successes, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), c.shape)
    lchoose = gammaln(n + 1) - gammaln(c + 1) - gammaln(n - c + 1)
    return float(np.sum(lchoose + betaln(c + a, n - c + b) - betaln(a, b)))


def fit_beta_binomial(n: np.ndarray | int, c: np.ndarray) -> FitResult:
    """MLE of the Beta difficulty model from `c` correct of `n` samples per problem (beta-binomial likelihood).

    Arguments in the order of `pass_at_k_matrix(n, c)`. The old order ``(successes, n)`` with a
    scalar `n` second is still read, with a DeprecationWarning, for one release.

    Returns a `FitResult` of the ``beta_difficulty`` law (``predict(k)`` is the implied pass@k
    curve), with ``method="beta_binomial_mle"``, ``n`` = number of problems and ``rss`` = the
    negative log-likelihood at the optimum, less the constant sum of log C(n_i, c_i) (see
    `beta_binomial_loglik` for the full value).
    """
    if np.ndim(n) == 1 and np.ndim(c) == 0:
        import warnings

        warnings.warn(
            "fit_beta_binomial(successes, n) is now fit_beta_binomial(n, c)", DeprecationWarning, stacklevel=2
        )
        n, c = c, n
    c = np.atleast_1d(np.asarray(c))
    n_arr = np.broadcast_to(np.asarray(n), c.shape)
    if c.ndim != 1 or len(c) < 2:
        raise ValueError(f"fit_beta_binomial: need a 1-D array of >= 2 counts, got shape {c.shape}")
    if np.any(c < 0) or np.any(c > n_arr) or np.any(n_arr < 1):
        i = int(np.flatnonzero((c < 0) | (c > n_arr) | (n_arr < 1))[0])
        raise ValueError(f"fit_beta_binomial: problem {i} has {c[i]} successes of n={n_arr[i]}")
    nu, cu, m = _unique_counts(n_arr.astype(np.int64), c.astype(np.int64))
    if np.all(cu == 0) or np.all(cu == nu):
        raise ValueError("fit_beta_binomial: every problem is all-correct or all-wrong; (a, b) is not identified")
    sol = minimize(
        _negloglik,
        _moments_start(nu, cu, m),
        args=(nu, cu, m),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-12, 12), (-12, 12)],
    )
    a, b = np.exp(sol.x)
    info = _information(a, b, nu, cu, m)
    try:
        cov = np.linalg.inv(info)
        cond = float(np.linalg.cond(cov))
    except np.linalg.LinAlgError:
        cov, cond = np.full((2, 2), np.inf), np.inf
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return FitResult(
        law=LAWS["beta_difficulty"],
        params=(float(a), float(b)),
        se=tuple(float(v) for v in se),
        cov=tuple(tuple(float(v) for v in row) for row in cov),
        cond=cond,
        rss=float(sol.fun),
        n=len(c),
        x_range=(1.0, float(n_arr.max())),
        success=bool(sol.success),
        method="beta_binomial_mle",
        message=str(sol.message),
    )
