"""The easy/hard model of resampling with an imperfect verifier (Stroebl, Kapoor & Narayanan,
"The Limits of Inference Scaling Through Resampling", arXiv:2411.17501 v3; v1–v2 were titled
"Inference Scaling fLaws: The Limits of LLM Resampling with Imperfect Verifiers").

The authors' analytic model (their repository's notebooks/limits_to_inference_scaling_model.ipynb
and evalplus/visualizations.ipynb): a problem is easy with probability w and hard otherwise; one
sample is correct with probability r_easy or r_hard; the verifier accepts a correct sample with
probability TPR (their completeness c, 1 for unit tests) and a wrong one with a class-specific
FPR (1 − soundness; the authors use one FPR for both classes, so a wrong sample's chance to
pass, (1 − r)·FPR, still differs by class). Every quantity is the exact two-term average of
`itslab.scaling.verifier_limits` (the authors approximate it with posterior class beliefs; both
give the same optimal k on their parameters).

With a reward V for a correct answer and a cost C for a false positive, attempt k adds
Σ_i w_i β_i^(k−1) g_i to the expected utility, g_i = V·r_i·TPR − C·(1 − r_i)·FPR_i, where β_i is
the chance an attempt on a class-i problem is rejected. When easy problems gain (g_easy > 0) and
hard ones lose (g_hard < 0), the increments change sign once, so the optimal number of attempts
is closed form (`TwoClassModel.optimal_k`): k* = ⌈ln(w_h·|g_h| / (w_e·g_e)) / ln(β_e / β_h)⌉.

>>> m = TwoClassModel(r_easy=0.87, r_hard=0.13, share_easy=0.58, fpr_easy=0.25, fpr_hard=0.25)
>>> round(float(m.ceiling()), 3), m.optimal_k(fp_cost=1.0), m.optimal_k(fp_cost=0.5)
(0.716, 2.0, inf)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from itslab.scaling.verifier_limits import expected_utility, resampling_accuracy, resampling_ceiling, resampling_curve


@dataclass(frozen=True)
class TwoClassModel:
    """Easy/hard problems (shares w, 1 − w; single-sample accuracies r_easy, r_hard) and a
    verifier with one TPR and a false-positive rate per class."""

    r_easy: float
    r_hard: float
    share_easy: float
    fpr_easy: float
    fpr_hard: float
    tpr: float = 1.0

    def __post_init__(self) -> None:
        for name in ("r_easy", "r_hard", "share_easy", "fpr_easy", "fpr_hard", "tpr"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"TwoClassModel: {name} must lie in [0, 1], got {v}")

    @classmethod
    def from_pass_at_1(
        cls, pass_at_1: float, *, r_easy: float, r_hard: float, fpr: float, tpr: float = 1.0
    ) -> TwoClassModel:
        """The class share that gives a reported single-sample accuracy, one FPR for both classes.

        pass@1 = w·r_easy + (1 − w)·r_hard, so w = (pass@1 − r_hard) / (r_easy − r_hard).
        """
        if not r_hard < r_easy:
            raise ValueError(f"from_pass_at_1: need r_hard < r_easy, got {r_hard} and {r_easy}")
        w = (pass_at_1 - r_hard) / (r_easy - r_hard)
        if not 0.0 <= w <= 1.0:
            raise ValueError(f"from_pass_at_1: pass@1 {pass_at_1} lies outside [r_hard, r_easy] = [{r_hard}, {r_easy}]")
        return cls(r_easy, r_hard, float(w), fpr, fpr, tpr)

    @classmethod
    def from_pool(cls, correct: np.ndarray, passed: np.ndarray, *, split: float = 0.5) -> TwoClassModel:
        """Fit the model to a pool [problems, n] as the authors do: a problem is easy if more than
        `split` of its samples are correct; r per class is the mean pass rate; TPR is pooled over
        correct samples and FPR measured per class over its wrong samples."""
        correct, passed = np.asarray(correct, dtype=bool), np.asarray(passed, dtype=bool)
        if correct.shape != passed.shape or correct.ndim != 2:
            raise ValueError(f"from_pool: correct {correct.shape} and passed {passed.shape} must be [problems, n]")
        p = correct.mean(axis=1)
        easy = p > split
        if easy.all() or not easy.any():
            raise ValueError(f"from_pool: every problem falls in one class at split {split}")

        def rate(mask: np.ndarray) -> float:
            return float(passed[mask].mean()) if mask.any() else 0.0

        wrong = ~correct
        return cls(
            r_easy=float(p[easy].mean()),
            r_hard=float(p[~easy].mean()),
            share_easy=float(easy.mean()),
            fpr_easy=rate(wrong & easy[:, None]),
            fpr_hard=rate(wrong & ~easy[:, None]),
            tpr=rate(correct),
        )

    @property
    def p(self) -> np.ndarray:
        return np.array([self.r_easy, self.r_hard])

    @property
    def weights(self) -> np.ndarray:
        return np.array([self.share_easy, 1.0 - self.share_easy])

    @property
    def fprs(self) -> np.ndarray:
        return np.array([self.fpr_easy, self.fpr_hard])

    @property
    def pass_at_1(self) -> float:
        return float(self.weights @ self.p)

    @property
    def pooled_fpr(self) -> float:
        """The share of all wrong samples that pass (what one FPR measured over a benchmark sees)."""
        wrong = self.weights * (1 - self.p)
        return float(wrong @ self.fprs / wrong.sum()) if wrong.sum() > 0 else 0.0

    @property
    def rejection(self) -> np.ndarray:
        """β per class: the chance one attempt is rejected."""
        return 1.0 - self.p * self.tpr - (1 - self.p) * self.fprs

    def accuracy(self, k: np.ndarray | float) -> np.ndarray:
        """Accuracy of resample-until-pass with budget k (k may be an array or inf)."""
        return resampling_accuracy(k, self.p, self.tpr, self.fprs, weights=self.weights)

    def ceiling(self) -> np.ndarray:
        """Accuracy as k → ∞: Σ_i w_i · r_i·TPR / (r_i·TPR + (1 − r_i)·FPR_i)."""
        return resampling_ceiling(self.p, self.tpr, self.fprs, weights=self.weights)

    def curve(self, ks: np.ndarray) -> pd.DataFrame:
        """`resampling_curve` of the model: k, accuracy, false_positive, abstain, expected_attempts, ceiling."""
        return resampling_curve(ks, self.p, self.tpr, self.fprs, weights=self.weights)

    def utility(self, k: np.ndarray | float, *, fp_cost: float, tp_reward: float = 1.0) -> np.ndarray:
        """V·accuracy − C·false positives (abstaining is worth 0)."""
        return expected_utility(
            k, self.p, self.tpr, self.fprs, fp_cost=fp_cost, tp_reward=tp_reward, weights=self.weights
        )

    def gains(self, *, fp_cost: float, tp_reward: float = 1.0) -> np.ndarray:
        """g_i = V·r_i·TPR − C·(1 − r_i)·FPR_i: what one accepted-or-rejected attempt on class i is worth."""
        return tp_reward * self.p * self.tpr - fp_cost * (1 - self.p) * self.fprs

    def critical_cost(self, tp_reward: float = 1.0) -> np.ndarray:
        """Per class, the false-positive cost above which another attempt loses value:
        C_i = V·r_i·TPR / ((1 − r_i)·FPR_i) (inf where a class never yields a false positive)."""
        with np.errstate(divide="ignore"):
            return np.where(
                (1 - self.p) * self.fprs > 0, tp_reward * self.p * self.tpr / ((1 - self.p) * self.fprs), np.inf
            )

    def optimal_k(self, *, fp_cost: float, tp_reward: float = 1.0) -> float:
        """The utility-maximising number of attempts in closed form: 0 (abstain), a finite k, or inf.

        The first maximiser, as `verifier_limits.optimal_k` (which searches a grid) returns it.
        """
        g, b, w = self.gains(fp_cost=fp_cost, tp_reward=tp_reward), self.rejection, self.weights
        wg = w * g
        if np.all(wg >= 0):
            return math.inf if np.any((wg > 0) & (b > 0)) else (1.0 if np.any(wg > 0) else 0.0)
        if np.all(wg <= 0):
            return 0.0
        a, h = (0, 1) if wg[0] > 0 else (1, 0)  # a gains, h loses
        if b[a] >= b[h]:  # the gaining class dominates the tail: the utility dips, then climbs to its limit
            return math.inf if float(np.sum(wg / (1 - b))) > 0 else 0.0  # the limit u(∞); b < 1 when g ≠ 0
        if wg.sum() <= 0:  # the first attempt already loses, and later ones lose more
            return 0.0
        if b[a] == 0:  # the gaining class never reaches attempt 2
            return 1.0
        x0 = math.log(-wg[h] / wg[a]) / math.log(b[a] / b[h])
        return float(max(1, math.ceil(x0 - 1e-12)))

    def easy_belief(self, k: np.ndarray | float) -> np.ndarray:
        """P(easy | the first k − 1 attempts were rejected): the authors' posterior class belief."""
        k = np.asarray(k, dtype=np.float64)
        b, w = self.rejection, self.weights
        num = w[0] * np.power(b[0], k - 1)
        den = num + w[1] * np.power(b[1], k - 1)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    def with_ceiling(self, ceiling: float) -> TwoClassModel:
        """The same model with the hard class's FPR solved so that the ceiling equals `ceiling`."""

        def gap(f: float) -> float:
            return float(replace(self, fpr_hard=f).ceiling()) - ceiling

        lo, hi = gap(1.0), gap(0.0)
        if not lo <= 0.0 <= hi:
            raise ValueError(
                f"with_ceiling: no hard-class FPR in [0, 1] gives ceiling {ceiling}; reachable "
                f"[{lo + ceiling:.4f}, {hi + ceiling:.4f}]"
            )
        if lo == 0.0:
            return replace(self, fpr_hard=1.0)
        return replace(self, fpr_hard=float(brentq(gap, 0.0, 1.0, xtol=1e-12)))
