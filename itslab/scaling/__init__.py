"""Scaling analysis: turn pools of samples into curves, laws, frontiers and limits.

- `estimators`  unbiased pass@k (Chen et al. 2021) and exact best-of-k over subsets of a pool
- `voting`      maj@k and weighted maj@k (exact where feasible, Monte Carlo otherwise)
- `vote_mixture`  majority vote over easy/hard query mixtures in closed form (Chen et al. 2024):
                the rise-then-fall of vote accuracy and its best number of calls
- `bootstrap`   percentile bootstrap over problems; the tidy curve frame
- `laws`        power / saturating / exponentiated power laws (Brown et al. 2024), logistic in
                log compute, Beta difficulty; `fit` with standard errors
- `law_uncertainty`  bootstrap of law fits, extrapolation checks
- `beta_binomial`    maximum-likelihood Beta difficulty from per-problem counts
- `frontiers`   compute-optimal selection (Snell et al. 2024) and Pareto frontiers on any cost axis
- `discrimination`  ROC AUC of verifier scores with a problem-bootstrap interval
- `verifier_limits`  resample-until-pass with an imperfect verifier (Stroebl et al. 2024)
- `two_class`   the authors' easy/hard model of it, optimal number of attempts in closed form
- `compute_matched`  SC against GenRM at equal compute (Singhi et al. 2025), GenRM in closed form
- `skill_gap`   coverage of a model δ logits stronger on Beta-difficulty problems; the break-even gap
- `stopping`    adaptive stopping replayed on a pool: Adaptive-Consistency's Beta posterior,
                early-stopping best-of-N (Aggarwal et al. 2023; Huang et al. 2025)
- `probe_exit`  probe-based early exit replayed on recorded probes (Dynasor-CoT, Fu et al. 2024):
                every (interval, window) rule from one recording, and the forced answer at a budget
- `selective`   selective answering with a penalty for wrong answers, risk-coverage, ECE and
                reliability bins (Jurayj et al. 2025; Guo et al. 2017)
- `difficulty`  oracle or model-predicted difficulty levels fitted on one split, applied to another
                (Snell et al. 2024 §3), and their agreement
- `pool_strategies`  per-problem accuracy and cost of pass@k, majority, best-of-N, weighted majority at k
- `allocation`  compute-optimal (strategy, k) per difficulty level, cross-fitted over problems, against
                a baseline at equal compute (Snell et al. 2024)
- `model_frontier`  accuracy against FLOPs over banks of different model sizes, Pareto front (Wu et al. 2024)
- `config_allocation`  samples per sampling configuration (model × temperature × prompt) learned on a
                train split: OSCA's hill climbing, greedy, best single, uniform (Zhang et al. 2024)
- `config_population`  simulated problems × configurations: Beta difficulty, logit shifts, copula correlation
- `bounds`      worst-of-k / average / majority / perfect-verifier bounds per task, their gaps, gain by
                difficulty (Balachandran et al. 2025); `length` longer-minus-shorter accuracy in a problem
- `tuning`      tuned against default on a problem split (Liu et al. 2025); `task_grid` strategy × task
                tables of a harness sweep, cross-fitted all-rounder and largest-drop tests (Sys2Bench)
- `speculation`  latency of non-SI, SI, DSI and SEED: closed forms and a discrete-event simulation
                (Leviathan et al. 2023; Timor et al. 2024; Wang et al. 2024)
- `step_speculation`  SpecReason's step-level speculation in closed form: speed-up and accuracy by threshold
- `latency`     a wall-clock model beside tokens: calls in series, samples of a call in parallel (s1, APR)
- `fractured`   fractured sampling's (n, m, H) grid, token cost and allocation under a budget, on all
                three axes or one (Liao et al. 2025)

Pure numpy/scipy/pandas: importing this package never imports torch.
"""

from __future__ import annotations

from itslab.scaling.allocation import (
    AllocationResult,
    OptionTable,
    Policy,
    allocate,
    compare_to_baseline,
    compute_optimal_allocation,
    cross_fit,
    option_table,
)
from itslab.scaling.beta_binomial import beta_binomial_loglik, fit_beta_binomial
from itslab.scaling.config_allocation import (
    ConfigAllocation,
    allocate_configs,
    budget_to_match,
    evaluate_allocation,
    failure_from_counts,
    failure_from_p,
    failure_posterior,
    split_problems,
)
from itslab.scaling.config_population import (
    SimConfig,
    calibrate_rho,
    config_grid,
    draw_successes,
    oracle_ratio,
    samples_to_match,
    simulate_config_population,
)
from itslab.scaling.difficulty import (
    BinAgreement,
    DifficultyBins,
    bin_agreement,
    fit_difficulty,
    problem_statistic,
    split_columns,
)
from itslab.scaling.discrimination import AUCInterval, roc_auc, roc_auc_interval
from itslab.scaling.estimators import (
    best_of_k,
    best_of_k_matrix,
    counts_from_flags,
    default_ks,
    pass_at_k,
    pass_at_k_from_counts,
    pass_at_k_matrix,
)
from itslab.scaling.frontiers import compute_optimal, config_accuracy, difficulty_bins, pareto_frontier
from itslab.scaling.intervals import bootstrap_counts, bootstrap_means, curve_frame, percentile_ci, wilson_interval
from itslab.scaling.law_uncertainty import (
    Extrapolation,
    LawBootstrap,
    bootstrap,
    extrapolation_bootstrap,
    extrapolation_check,
)
from itslab.scaling.laws import LAWS, FitResult, Law, fit, get_law
from itslab.scaling.model_frontier import (
    bank_problem_table,
    cost_model_for,
    flops_frontier,
    flops_matched_samples,
    sample_flops,
)
from itslab.scaling.pool_strategies import expected_cost, strategy_accuracy, vote_weights
from itslab.scaling.selective import (
    Selective,
    calibration_error_se,
    expected_calibration_error,
    reliability,
    risk_coverage,
    selective_answer,
    selective_gain,
    vote_confidence,
)
from itslab.scaling.skill_gap import break_even_gap, shifted_pass_at_k
from itslab.scaling.stopping import StoppingResult, StoppingTrace, adaptive_vote, early_stop, majority_posterior
from itslab.scaling.verifier_limits import (
    expected_attempts,
    expected_utility,
    optimal_k,
    resample_until_pass_at_k,
    resampling_accuracy,
    resampling_ceiling,
    resampling_curve,
)
from itslab.scaling.voting import encode_answers, majority_at_k, majority_at_k_matrix, weighted_majority_at_k

__all__ = [
    "AUCInterval",
    "roc_auc",
    "roc_auc_interval",
    "LAWS",
    "Extrapolation",
    "FitResult",
    "Law",
    "LawBootstrap",
    "best_of_k",
    "best_of_k_matrix",
    "beta_binomial_loglik",
    "bootstrap",
    "bootstrap_counts",
    "bootstrap_means",
    "break_even_gap",
    "compute_optimal",
    "config_accuracy",
    "counts_from_flags",
    "curve_frame",
    "default_ks",
    "difficulty_bins",
    "encode_answers",
    "expected_attempts",
    "expected_utility",
    "extrapolation_bootstrap",
    "extrapolation_check",
    "fit",
    "fit_beta_binomial",
    "get_law",
    "majority_at_k",
    "majority_at_k_matrix",
    "optimal_k",
    "pareto_frontier",
    "pass_at_k",
    "pass_at_k_from_counts",
    "pass_at_k_matrix",
    "percentile_ci",
    "resample_until_pass_at_k",
    "resampling_accuracy",
    "resampling_ceiling",
    "resampling_curve",
    "shifted_pass_at_k",
    "weighted_majority_at_k",
    "wilson_interval",
    "Selective",
    "StoppingResult",
    "StoppingTrace",
    "adaptive_vote",
    "early_stop",
    "calibration_error_se",
    "expected_calibration_error",
    "majority_posterior",
    "reliability",
    "risk_coverage",
    "selective_answer",
    "selective_gain",
    "vote_confidence",
    "AllocationResult",
    "OptionTable",
    "Policy",
    "allocate",
    "compare_to_baseline",
    "compute_optimal_allocation",
    "cross_fit",
    "option_table",
    "BinAgreement",
    "DifficultyBins",
    "bin_agreement",
    "flops_matched_samples",
    "fit_difficulty",
    "problem_statistic",
    "split_columns",
    "bank_problem_table",
    "cost_model_for",
    "flops_frontier",
    "sample_flops",
    "expected_cost",
    "strategy_accuracy",
    "vote_weights",
    "ConfigAllocation",
    "allocate_configs",
    "budget_to_match",
    "evaluate_allocation",
    "failure_from_counts",
    "failure_from_p",
    "failure_posterior",
    "split_problems",
    "SimConfig",
    "calibrate_rho",
    "config_grid",
    "draw_successes",
    "oracle_ratio",
    "samples_to_match",
    "simulate_config_population",
]
