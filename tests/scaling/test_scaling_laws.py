"""Scaling-law fits: parameter recovery within standard errors, bootstrap, extrapolation, Beta MLE."""

import numpy as np
import pytest

from itslab.scaling import LAWS, bootstrap, extrapolation_check, fit, fit_beta_binomial, get_law, pass_at_k_matrix

X = np.unique(np.round(np.logspace(0, 3, 16)))
TRUTH = {
    "power_law": (0.5, -0.3),
    "saturating_power_law": (0.5, 0.5, 0.9),
    "exp_power_law": (2.0, 0.4),
    "logistic_log": (0.85, 1.2, 2.0),
    "beta_difficulty": (0.3, 1.5),
}
SIGMA = 0.01


def recovery_rate(name: str, trials: int, absolute_sigma: bool = True) -> float:
    """Share of seeded trials whose every fitted parameter is within 3 SE of the truth.

    Data: the law at 16 log-spaced x in [1, 1000] plus Gaussian noise of sd 0.01; fitted with the
    known sigma (``absolute_sigma``) or with sigma estimated from the residuals.
    """
    law, hits = LAWS[name], 0
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        y = law.fn(X, *TRUTH[name]) + rng.normal(0, SIGMA, X.shape)
        r = fit(name, X, y, sigma=SIGMA if absolute_sigma else None, absolute_sigma=absolute_sigma)
        hits += bool(np.all(np.abs(np.subtract(r.params, TRUTH[name])) <= 3 * np.asarray(r.se)))
    return hits / trials


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_fit_recovers_parameters_within_3_se_in_90_percent_of_100_trials(name):
    assert recovery_rate(name, 100) >= 0.9  # measured: 0.99-1.00 for every law


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_fit_recovery_with_estimated_sigma_100_trials(name):
    assert recovery_rate(name, 100, absolute_sigma=False) >= 0.9  # measured: 0.94-0.97


def test_fit_result_fields_predict_and_se_without_sigma():
    rng = np.random.default_rng(0)
    y = LAWS["exp_power_law"].fn(X, 2.0, 0.4) + rng.normal(0, SIGMA, X.shape)
    r = fit("exp_power_law", X, y)
    assert r.names == ("a", "b") and r.success and r.n == len(X) and r.x_range == (1.0, 1000.0)
    assert np.isfinite(r.cond) and r.cond > 1
    np.testing.assert_allclose(r.predict(X), LAWS["exp_power_law"].fn(X, *r.params))
    se = r.predict_se([1.0, 1e4])
    assert se.shape == (2,) and np.all(se > 0)
    # estimated noise: residual scale is close to the true sigma (16 points; within 50%)
    assert 0.5 < np.sqrt(r.rss / (r.n - 2)) / SIGMA < 1.5
    assert r.as_dict().keys() == {"a", "b"}


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown law"):
        fit("cubic", X, X)
    with pytest.raises(ValueError, match="x must be finite and > 0"):
        fit("power_law", np.array([0.0, 1, 2]), np.array([1.0, 2, 3]))
    with pytest.raises(ValueError, match="cannot determine 3 parameters"):
        fit("logistic_log", np.array([1.0, 2]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="absolute_sigma"):
        fit("power_law", X, X, absolute_sigma=True)
    assert get_law(LAWS["power_law"]) is LAWS["power_law"]


def simulated_pool_counts(rng, n_problems=400, n=1000, a=0.4, b=3.0):
    p = rng.beta(a, b, n_problems)
    return rng.binomial(n, p)


def test_bootstrap_over_problems_gives_cis_that_cover_the_full_fit():
    rng = np.random.default_rng(1)
    ks = np.unique(np.round(np.logspace(0, 2, 10))).astype(int)
    per_problem = pass_at_k_matrix(1000, simulated_pool_counts(rng), ks)
    bs = bootstrap("exp_power_law", ks, per_problem, rng=rng, n_boot=200, x_new=[100, 1000])
    assert bs.n_failed == 0 and bs.params.shape == (200, 2) and bs.predictions.shape == (200, 2)
    pc = bs.param_ci
    assert np.all((pc["ci_low"] < pc["estimate"]) & (pc["estimate"] < pc["ci_high"]))
    assert np.all(bs.prediction_ci["ci_high"] - bs.prediction_ci["ci_low"] > 0)
    # weights: unique rows with multiplicities give the same point estimate
    uniq, inv, mult = np.unique(per_problem, axis=0, return_inverse=True, return_counts=True)
    bw = bootstrap("exp_power_law", ks, uniq, weights=mult, rng=rng, n_boot=20)
    np.testing.assert_allclose(bw.fit.params, bs.fit.params, rtol=1e-6)


def test_extrapolation_check_reports_small_heldout_error_for_the_true_law():
    y = LAWS["beta_difficulty"].fn(X, 0.3, 1.5)
    ex = extrapolation_check("beta_difficulty", X, y, fit_max=100)
    assert ex.frame["held_out"].sum() == (X > 100).sum()
    assert ex.heldout_max_error < 1e-4
    # a wrong law (power law on a saturating curve) extrapolates worse
    assert extrapolation_check("power_law", X, y, fit_max=100).heldout_max_error > 10 * ex.heldout_max_error
    with pytest.raises(ValueError, match="fit_max"):
        extrapolation_check("power_law", X, y, fit_max=1e6)


def test_beta_binomial_mle_recovers_parameters_within_3_se():
    hits = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        r = fit_beta_binomial(50, simulated_pool_counts(rng, n_problems=500, n=50))
        hits += bool(np.all(np.abs(np.subtract(r.params, (0.4, 3.0))) <= 3 * np.asarray(r.se)))
        assert r.method == "beta_binomial_mle"
    assert hits >= 18
    with pytest.raises(ValueError, match="not identified"):
        fit_beta_binomial(10, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="problem 1 has 11 successes"):
        fit_beta_binomial(10, np.array([1, 11]))


def test_beta_binomial_fit_predicts_the_pass_at_k_curve():
    rng = np.random.default_rng(7)
    counts = simulated_pool_counts(rng, n_problems=3000, n=200)
    r = fit_beta_binomial(200, counts)
    ks = np.array([1, 10, 100])
    np.testing.assert_allclose(r.predict(ks), pass_at_k_matrix(200, counts, ks).mean(axis=0), atol=0.02)
