"""Selective answering and calibration: answer only when confident, and how far confidence is to be trusted.

- `selective_answer`  Jurayj et al. 2025 (arXiv:2502.13962): answer when the confidence reaches a
  threshold, abstain otherwise; a right answer scores 1, a wrong one −`wrong_penalty`, an
  abstention 0 ("Jeopardy odds": penalty 1; "exam odds": 0). With a calibrated confidence the
  expected utility of answering is c − (1 − c)·penalty, positive iff c > penalty / (1 + penalty),
  the default threshold.
- `risk_coverage`  accuracy on the answered questions against the share answered, one point per
  distinct confidence (El-Yaniv & Wiener 2010; Geifman & El-Yaniv 2017).
- `selective_gain`  accuracy on the answered questions of one setting minus another's at the same
  threshold, with a paired problem-bootstrap SE (more compute, more accuracy on what is answered?).
- `reliability`, `expected_calibration_error`  equal-width bins of confidence against accuracy
  (Guo et al. 2017): ECE = Σ_bins share · |accuracy − mean confidence|.
- `calibration_error_se`  the ECE of a pool [problems, samples] with its problem-bootstrap SE
  (the samples of one problem are not independent, so problems are resampled, not samples).

>>> c = np.array([0.9, 0.8, 0.3, 0.6]); ok = np.array([True, True, False, False])
>>> s = selective_answer(c, ok, wrong_penalty=1.0)
>>> s.coverage, s.accuracy, s.utility
(0.75, 0.6666666666666666, 0.25)
>>> round(expected_calibration_error(c, ok, n_bins=2), 4)
0.15
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from itslab.scaling.intervals import bootstrap_counts


def _check(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c, ok = np.asarray(confidence, dtype=float).ravel(), np.asarray(correct, dtype=bool).ravel()
    if c.shape != ok.shape or not len(c):
        raise ValueError(f"confidence {c.shape} and correct {ok.shape} must be non-empty and the same size")
    if not np.all(np.isfinite(c)):
        raise ValueError("confidence must be finite")
    return c, ok


def default_threshold(wrong_penalty: float) -> float:
    """The confidence above which answering has positive expected utility: penalty / (1 + penalty)."""
    if wrong_penalty < 0:
        raise ValueError(f"wrong_penalty must be >= 0, got {wrong_penalty}")
    return wrong_penalty / (1.0 + wrong_penalty)


@dataclass(frozen=True)
class Selective:
    """What selective answering did: share answered, accuracy on those, utility per question."""

    threshold: float
    wrong_penalty: float
    coverage: float
    accuracy: float
    utility: float


def selective_answer(
    confidence: np.ndarray, correct: np.ndarray, *, threshold: float | None = None, wrong_penalty: float = 1.0
) -> Selective:
    """Answer the questions whose confidence is at least `threshold` (default: the break-even
    penalty / (1 + penalty)); utility per question = (right − penalty · wrong) / all."""
    c, ok = _check(confidence, correct)
    thr = default_threshold(wrong_penalty) if threshold is None else float(threshold)
    answered = c >= thr
    n_ans = int(answered.sum())
    right, wrong = int((answered & ok).sum()), int((answered & ~ok).sum())
    return Selective(
        threshold=thr,
        wrong_penalty=float(wrong_penalty),
        coverage=n_ans / len(c),
        accuracy=right / n_ans if n_ans else float("nan"),
        utility=(right - wrong_penalty * wrong) / len(c),
    )


def risk_coverage(confidence: np.ndarray, correct: np.ndarray) -> pd.DataFrame:
    """Columns threshold, coverage, accuracy (on the answered), risk = 1 − accuracy; one row per distinct
    confidence, answering everything at or above it (highest threshold first)."""
    c, ok = _check(confidence, correct)
    order = np.argsort(-c, kind="stable")
    cs, oks = c[order], ok[order]
    last = np.r_[cs[1:] != cs[:-1], True]  # the end of each run of equal confidences
    n = np.arange(1, len(c) + 1)[last]
    acc = np.cumsum(oks)[last] / n
    return pd.DataFrame({"threshold": cs[last], "coverage": n / len(c), "accuracy": acc, "risk": 1.0 - acc})


def selective_gain(
    conf_a: np.ndarray,
    ok_a: np.ndarray,
    conf_b: np.ndarray,
    ok_b: np.ndarray,
    *,
    threshold: float,
    rng: np.random.Generator,
    n_boot: int = 1000,
) -> tuple[float, float]:
    """Accuracy on the answered questions of setting a minus setting b (same problems, same threshold),
    with its paired problem-bootstrap SE (replicates where either answers nothing are dropped)."""
    ca, oa = _check(conf_a, ok_a)
    cb, ob = _check(conf_b, ok_b)
    if ca.shape != cb.shape:
        raise ValueError(f"settings a {ca.shape} and b {cb.shape} must cover the same problems")
    ans_a, ans_b = ca >= threshold, cb >= threshold

    def acc(w: np.ndarray, answered: np.ndarray, ok: np.ndarray) -> np.ndarray:
        n = w @ answered
        return np.where(n > 0, (w @ (answered & ok)) / np.maximum(n, 1), np.nan)

    one = np.ones((1, len(ca)))
    point = float((acc(one, ans_a, oa) - acc(one, ans_b, ob))[0])
    w = bootstrap_counts(len(ca), rng, n_boot).astype(float)
    reps = acc(w, ans_a, oa) - acc(w, ans_b, ob)
    return point, float(np.nanstd(reps, ddof=1))


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width confidence bins in [0, 1] that hold samples: bin, count, mean confidence, accuracy."""
    c, ok = _check(confidence, correct)
    if np.any((c < 0) | (c > 1)):
        raise ValueError("reliability: confidences must lie in [0, 1]")
    bins = np.minimum((c * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    used = np.flatnonzero(count)
    return pd.DataFrame(
        {
            "bin": used,
            "count": count[used],
            "confidence": np.bincount(bins, weights=c, minlength=n_bins)[used] / count[used],
            "accuracy": np.bincount(bins, weights=ok, minlength=n_bins)[used] / count[used],
        }
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE (Guo et al. 2017): Σ over equal-width bins of (bin share) · |accuracy − mean confidence|."""
    r = reliability(confidence, correct, n_bins)
    return float(np.sum(r["count"] * np.abs(r["accuracy"] - r["confidence"])) / r["count"].sum())


def calibration_error_se(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    rng: np.random.Generator,
    n_boot: int = 1000,
    n_bins: int = 10,
) -> tuple[float, float]:
    """ECE of a pool with its problem-bootstrap SE: rows of `confidence` / `correct` [P, n] are problems
    (a 1-D input is one sample per problem). A bin's term share · |accuracy − confidence| is
    |Σ correct − Σ confidence| / N, so each replicate is three matrix products of resampling counts."""
    c, ok = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    if c.ndim == 1:
        c, ok = c[:, None], ok[:, None]
    if c.shape != ok.shape or c.ndim != 2:
        raise ValueError(f"confidence {c.shape} and correct {ok.shape} must both be [problems, samples]")
    point = expected_calibration_error(c, ok, n_bins)  # also checks finiteness and the [0, 1] range
    bins = np.minimum((c * n_bins).astype(int), n_bins - 1)
    rows = np.repeat(np.arange(len(c)), c.shape[1])
    per = np.zeros((3, len(c), n_bins))  # per problem and bin: samples, Σ confidence, Σ correct
    for k, w in enumerate((np.ones(c.size), c.ravel(), ok.ravel().astype(float))):
        np.add.at(per[k], (rows, bins.ravel()), w)
    w = bootstrap_counts(len(c), rng, n_boot).astype(float)
    count, conf, right = (w @ per[k] for k in range(3))
    reps = np.abs(right - conf).sum(axis=1) / count.sum(axis=1)
    return point, float(reps.std(ddof=1))


def vote_confidence(answers: np.ndarray, correct: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Self-consistency as a confidence: per problem, the share of the first `k` samples that give the
    majority answer (ties: the first seen; abstentions count in the denominator), and whether that
    answer is right. Rows with no answer get confidence 0 and count as wrong."""
    from itslab.scaling.voting import encode_answers

    answers, correct = np.asarray(answers, dtype=object), np.asarray(correct, dtype=bool)
    k = answers.shape[1] if k is None else int(k)
    if not 1 <= k <= answers.shape[1]:
        raise ValueError(f"k must be in 1..{answers.shape[1]}, got {k}")
    codes, class_ok = encode_answers(answers[:, :k], correct[:, :k])
    conf, ok = np.zeros(len(codes)), np.zeros(len(codes), dtype=bool)
    for i, row in enumerate(codes):
        voted = row[row >= 0]
        if len(voted):
            leader = int(np.bincount(voted).argmax())  # argmax takes the lowest code: the first seen
            conf[i], ok[i] = np.mean(row == leader), class_ok[i][leader]
    return conf, ok
