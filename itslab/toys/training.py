"""Full-batch gradient descent on the answer policy, with checkpoints and their pass@N curves.

`train` fits the shared weights ``w`` of `policy.AnswerTask` under one `losses.Loss` and keeps
``w`` at the requested steps (a checkpoint per step in `checkpoints`); its trace holds the mean
training loss and the gradient norm of every step. `checkpoint_curves` evaluates every checkpoint
on held-out problems: the exact pass@N and best-of-N of the policy (closed forms) and, with
``n_samples``, the same measured as a paper would, from n samples per problem through the
library's unbiased estimators (`itslab.scaling.estimators`: Chen et al. 2021's pass@k and the
exact best-of-k over subsets). This is how Chen et al. 2025 (arXiv:2502.07154) plot pass@N
through training epochs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.estimators import best_of_k, pass_at_k
from itslab.toys.losses import Loss
from itslab.toys.policy import AnswerTask, best_of_n, log_probs, pass_at_n, sample_answers


@dataclass(frozen=True, eq=False)
class TrainingRun:
    """What `train` returns: the loss, the checkpointed weights and the per-step trace."""

    loss: Loss
    lr: float
    checkpoints: tuple[int, ...]
    weights: np.ndarray  # [len(checkpoints), d]
    trace: pd.DataFrame  # step, loss, grad_norm

    def at(self, step: int) -> np.ndarray:
        """The weights saved at `step`."""
        if step not in self.checkpoints:
            raise ValueError(f"TrainingRun.at: no checkpoint at step {step}; have {list(self.checkpoints)}")
        return self.weights[self.checkpoints.index(step)]

    @property
    def final(self) -> np.ndarray:
        """The weights at the last checkpoint."""
        return self.weights[-1]


def gradient(
    task: AnswerTask, loss: Loss, w: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[float, np.ndarray]:
    """Mean loss over problems and its gradient with respect to ``w`` (chain rule through ``z = b + f @ w``)."""
    values, dz = loss(task, log_probs(task, w), rng)
    return float(values.mean()), np.einsum("pk,pkd->d", dz, task.features) / task.n_problems


def train(
    task: AnswerTask,
    loss: Loss,
    *,
    steps: int,
    lr: float,
    checkpoints: Sequence[int] | None = None,
    w0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> TrainingRun:
    """Gradient descent ``w <- w - lr * grad`` for `steps` steps from `w0` (default 0: the base model).

    A stochastic loss (REINFORCE) needs `rng`. `checkpoints` (default: 0 and `steps`) are the
    steps whose weights are kept; step 0 is before any update.
    """
    if steps < 0 or lr <= 0:
        raise ValueError(f"train: need steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    if loss.stochastic and rng is None:
        raise ValueError(f"train: loss {loss.label} samples; pass an rng")
    ckpts = tuple(sorted({0, steps} if checkpoints is None else {int(c) for c in checkpoints}))
    if ckpts and (ckpts[0] < 0 or ckpts[-1] > steps):
        raise ValueError(f"train: checkpoints must lie in 0..{steps}, got {list(ckpts)}")
    w = np.zeros(task.n_features) if w0 is None else np.array(w0, dtype=float)
    if w.shape != (task.n_features,):
        raise ValueError(f"train: w0 must have shape ({task.n_features},), got {w.shape}")
    saved, rows = [], []
    for step in range(steps + 1):
        if step in ckpts:
            saved.append(w.copy())
        if step == steps:
            break
        value, g = gradient(task, loss, w, rng)
        rows.append((step, value, float(np.linalg.norm(g))))
        w = w - lr * g
    trace = pd.DataFrame(rows, columns=["step", "loss", "grad_norm"])
    weights = np.array(saved).reshape(len(saved), task.n_features)
    weights.setflags(write=False)
    return TrainingRun(loss, float(lr), ckpts, weights, trace)


def checkpoint_curves(
    run: TrainingRun,
    task: AnswerTask,
    ns: Sequence[int],
    *,
    n_samples: int | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """pass@N, best-of-N and confidence of every checkpoint on `task`: one row per (step, metric, N).

    Columns: ``loss``, ``step``, ``metric`` ("pass@k" / "bon@k", and "confidence", the mean
    probability of each problem's likeliest answer, with k = 1), ``k``, ``value`` (exact mean over
    problems), ``se`` (its standard error over problems), and with `n_samples` (needs `rng`, and
    every N <= n_samples) ``measured`` / ``measured_se`` from that many samples per problem.
    """
    if n_samples is not None and (rng is None or max(ns) > n_samples):
        raise ValueError(f"checkpoint_curves: sampled curves need an rng and n_samples >= max(ns) = {max(ns)}")
    out = []
    for step, w in zip(run.checkpoints, run.weights):
        top = np.exp(log_probs(task, w).max(axis=1))
        out.append(
            pd.DataFrame(
                {
                    "loss": run.loss.label,
                    "step": step,
                    "metric": "confidence",
                    "k": [1],
                    "value": top.mean(),
                    "se": top.std(ddof=1) / np.sqrt(task.n_problems),
                }
            )
        )
        for metric, per_problem in (("pass@k", pass_at_n(task, w, ns)), ("bon@k", best_of_n(task, w, ns))):
            frame = pd.DataFrame(
                {
                    "loss": run.loss.label,
                    "step": step,
                    "metric": metric,
                    "k": list(ns),
                    "value": per_problem.mean(axis=0),
                    "se": per_problem.std(axis=0, ddof=1) / np.sqrt(task.n_problems),
                }
            )
            if n_samples is not None:
                assert rng is not None
                draws = sample_answers(task, w, n_samples, rng)
                correct = np.take_along_axis(task.correct, draws, axis=1)
                if metric == "pass@k":
                    est = pass_at_k(correct, list(ns))
                else:
                    est = best_of_k(np.take_along_axis(task.scores, draws, axis=1), correct, list(ns))
                frame["measured"], frame["measured_se"] = est["value"].to_numpy(), est["se"].to_numpy()
            out.append(frame)
    return pd.concat(out, ignore_index=True)
