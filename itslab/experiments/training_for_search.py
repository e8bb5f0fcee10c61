"""Training for the test-time strategy: the experiments of notebook 16 on the `itslab.toys` policy.

The toy (`ToySetup`) is calibrated to Chow et al. 2024 (arXiv:2412.15287, abstract): Gemma 2B on
Hendrycks MATH has Bo32 26.8 % and pass@32 60.0 % before BoN-aware fine-tuning, 30.8 % and 67.0 %
after. `calibrate_base` fits the spread of the base model's logits to pass@32 and the
verifier's ``separation`` to Bo32 (exact, on a large calibration population); `calibrate_signal`
fits the learnable cue's ``signal`` so that the BoN-aware objective's fixed training protocol
ends at Bo32 30.8 %. The pass@32 after it, and everything about cross-entropy against direct
coverage optimisation (Chen et al. 2025, arXiv:2502.07154), are then predictions of that toy.
`run_losses` trains each loss on the same problems and evaluates checkpoints on held-out ones;
`bank_*` do the same from a recorded bank's measured answer distribution.

>>> train_task, test_task = ToySetup().split(n_test=10, seed=0)
>>> train_task.features.shape, test_task.n_problems
((128, 64, 128), 10)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from itslab.toys import losses
from itslab.toys.losses import Loss
from itslab.toys.policy import AnswerTask, best_of_n, log_probs, pass_at_n
from itslab.toys.tasks import synthetic_task, task_from_bank
from itslab.toys.training import TrainingRun, checkpoint_curves, train

# Chow et al. 2024, abstract (arXiv v1): Gemma 2B, Hendrycks MATH, before -> after BoN-aware fine-tuning
PAPER = {"bo32_base": 0.268, "bo32_bon": 0.308, "pass32_base": 0.600, "pass32_bon": 0.670}
N_STRATEGY = 32  # the test-time N of Chow et al.'s headline numbers

# What `calibrate_base` and `calibrate_signal` found for the default setup (full mode re-derives
# them; smoke mode uses these so it need not train inside a root finder)
CALIBRATED = {"spread": 1.0574371607664443, "separation": 1.6192818387896244, "signal": 0.7026841263147205}


@dataclass(frozen=True)
class ToySetup:
    """The toy's population and training protocol (assumed) and its calibrated parameters."""

    n_candidates: int = 64
    n_features: int = 128
    tau: float = 0.5
    cue_noise: float = 1.0
    memory: float = 1.0
    spread: float = CALIBRATED["spread"]
    separation: float = CALIBRATED["separation"]
    signal: float = CALIBRATED["signal"]
    n_train: int = 128
    steps: int = 1000
    lr: float = 1.0

    def task(self, n_problems: int, rng: np.random.Generator, *, n_features: int | None = None) -> AnswerTask:
        """`n_problems` problems of this population."""
        return synthetic_task(
            n_problems,
            rng,
            n_candidates=self.n_candidates,
            n_features=self.n_features if n_features is None else n_features,
            spread=self.spread,
            tau=self.tau,
            signal=self.signal,
            cue_noise=self.cue_noise,
            memory=self.memory,
            separation=self.separation,
        )

    def _stream(self, seed: int, which: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[which])

    def split(self, n_test: int, seed: int) -> tuple[AnswerTask, AnswerTask]:
        """(train, test): `n_train` and `n_test` problems from independent streams of `seed`."""
        return self.task(self.n_train, self._stream(seed, 0)), self.task(n_test, self._stream(seed, 1))

    def validation(self, n: int, seed: int) -> AnswerTask:
        """`n` more problems from a third stream of `seed` (what `calibrate_signal` fits on)."""
        return self.task(n, self._stream(seed, 2))


def base_metrics(setup: ToySetup, n_problems: int = 20_000, seed: int = 0) -> dict[str, float]:
    """The base model's mean pass@1, pass@32 and Bo32 on `n_problems` problems (exact per problem)."""
    task = setup.task(n_problems, np.random.default_rng(seed), n_features=2)
    w = np.zeros(2)
    p = pass_at_n(task, w, [1, N_STRATEGY]).mean(axis=0)
    return {"pass1": float(p[0]), "pass32": float(p[1]), "bo32": float(best_of_n(task, w, [N_STRATEGY]).mean())}


def calibrate_base(setup: ToySetup, n_problems: int = 20_000, seed: int = 0) -> ToySetup:
    """`setup` with ``spread`` fitted to the paper's base pass@32, then ``separation`` to its base Bo32."""
    f = lambda v: base_metrics(replace(setup, spread=v), n_problems, seed)["pass32"] - PAPER["pass32_base"]  # noqa: E731
    s = replace(setup, spread=brentq(f, 0.0, 20.0, xtol=1e-6))
    g = lambda sep: base_metrics(replace(s, separation=sep), n_problems, seed)["bo32"] - PAPER["bo32_base"]  # noqa: E731
    return replace(s, separation=brentq(g, 0.0, 10.0, xtol=1e-6))


def bon_aware_bo32(setup: ToySetup, seed: int = 0, n_validation: int = 4000) -> float:
    """Mean validation Bo32 after the protocol's BoN-aware training (N = 32) on the train split of `seed`."""
    train_task, _ = setup.split(1, seed)
    run = train(train_task, losses.best_of_n_objective(N_STRATEGY), steps=setup.steps, lr=setup.lr)
    return float(best_of_n(setup.validation(n_validation, seed), run.final, [N_STRATEGY]).mean())


def calibrate_signal(
    setup: ToySetup, seed: int = 0, n_validation: int = 4000, bounds: tuple[float, float] = (0.0, 3.0)
) -> ToySetup:
    """`setup` with the cue's ``signal`` fitted so BoN-aware training ends at the paper's Bo32 (30.8 %).

    Fitted on validation problems of `seed`, never on its test split, so the test Bo32 checks it.
    """
    f = lambda sig: bon_aware_bo32(replace(setup, signal=sig), seed, n_validation) - PAPER["bo32_bon"]  # noqa: E731
    return replace(setup, signal=brentq(f, *bounds, xtol=1e-3))


def chen_losses(full: bool) -> list[Loss]:
    """The losses compared for Chen et al.: CE, DCO at N' = 256 (and in full mode N' = 32 and its hard-cap twin)."""
    out = [losses.cross_entropy(), losses.direct_coverage(256)]
    if full:
        out += [losses.direct_coverage(N_STRATEGY), losses.capped_cross_entropy(losses.coverage_cap(N_STRATEGY))]
    return out


def chow_losses(full: bool) -> list[Loss]:
    """The losses compared for Chow et al.: plain RL (BoN objective at N = 1), BoN-aware at 32 (and its REINFORCE)."""
    out = [losses.best_of_n_objective(1), losses.best_of_n_objective(N_STRATEGY)]
    if full:
        out.append(losses.reinforce_best_of_n(N_STRATEGY, n_groups=4))
    return out


@dataclass(frozen=True, eq=False)
class LossRuns:
    """`run_losses`' result: runs by loss label, the curves frame, and per-problem test values."""

    runs: dict[str, TrainingRun]
    curves: pd.DataFrame
    test: AnswerTask
    ns: tuple[int, ...]

    def per_problem(self, label: str, metric: str = "pass", step: int | None = None) -> np.ndarray:
        """Per-test-problem exact pass@N ("pass") or best-of-N ("bon") at `step` (default last), [P, len(ns)]."""
        run = self.runs[label]
        w = run.final if step is None else run.at(step)
        fn = {"pass": pass_at_n, "bon": best_of_n}[metric]
        return fn(self.test, w, list(self.ns))

    def value(self, label: str, n: int, metric: str = "pass", step: int | None = None) -> tuple[float, float]:
        """(mean, SE over problems) of one metric at one N."""
        v = self.per_problem(label, metric, step)[:, self.ns.index(n)]
        return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))

    def confidence(self, label: str, step: int | None = None) -> np.ndarray:
        """Per-test-problem probability of the likeliest answer at `step` (default last), [P]."""
        run = self.runs[label]
        w = run.final if step is None else run.at(step)
        return np.exp(log_probs(self.test, w).max(axis=1))

    def confidence_gap(
        self, a: str, b: str, step_a: int | None = None, step_b: int | None = None
    ) -> tuple[float, float]:
        """(mean of a's top-answer probability minus b's, paired SE over the test problems)."""
        d = self.confidence(a, step_a) - self.confidence(b, step_b)
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))

    def gap(
        self, a: str, b: str, n: int, metric: str = "pass", step_a: int | None = None, step_b: int | None = None
    ) -> tuple[float, float]:
        """(mean of a - b, paired SE over the same test problems) at one N."""
        i = self.ns.index(n)
        d = self.per_problem(a, metric, step_a)[:, i] - self.per_problem(b, metric, step_b)[:, i]
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def run_losses(
    train_task: AnswerTask,
    test_task: AnswerTask,
    loss_list: Sequence[Loss],
    *,
    steps: int,
    lr: float,
    checkpoints: Sequence[int],
    ns: Sequence[int],
    seed: int = 0,
    n_samples: int | None = None,
) -> LossRuns:
    """Train every loss from the base model on `train_task`; curves of every checkpoint on `test_task`.

    With `n_samples` the curves also hold the pass@k / best-of-k measured from that many samples
    per test problem by the library's unbiased estimators. Stochastic losses get their own stream.
    """
    runs, frames = {}, []
    for i, loss in enumerate(loss_list):
        rng = np.random.default_rng([seed, i])
        run = train(train_task, loss, steps=steps, lr=lr, checkpoints=checkpoints, rng=rng)
        runs[loss.label] = run
        frames.append(
            checkpoint_curves(run, test_task, ns, n_samples=n_samples, rng=np.random.default_rng([seed, i, 1]))
        )
    return LossRuns(runs, pd.concat(frames, ignore_index=True), test_task, tuple(int(n) for n in ns))


# --- the real bank -------------------------------------------------------------------------------


def sharpened(bank: Any, temperature: float, ns: Sequence[int], smoothing: float = 0.5) -> np.ndarray:
    """Per-problem pass@N [P, len(ns)] of a bank's measured answer distribution sharpened to `temperature`.

    The distribution is `toys.tasks.bank_answer_distribution`'s (add-`smoothing` frequencies);
    temperature T raises it to the power 1/T and renormalises, what a fine-tuning that only made
    the model more (T < 1) or less (T > 1) confident would do; T = 1 is the measured distribution.
    """
    from itslab.toys.tasks import bank_answer_distribution

    if not temperature > 0:
        raise ValueError(f"sharpened: temperature must be > 0, got {temperature}")
    logp, correct = bank_answer_distribution(bank, smoothing)
    return pass_at_n(AnswerTask(logp / temperature, np.zeros(logp.shape + (1,)), correct), np.zeros(1), ns)


def sharpening_table(
    bank: Any, temperatures: Sequence[float], ns: Sequence[int], smoothing: float = 0.5
) -> pd.DataFrame:
    """`sharpened` over temperatures: one row per (T, N), the mean over problems and its SE."""
    rows = []
    for t in temperatures:
        v = sharpened(bank, t, ns, smoothing)
        for j, n in enumerate(ns):
            rows.append(
                {"temperature": t, "k": n, "value": v[:, j].mean(), "se": v[:, j].std(ddof=1) / np.sqrt(len(v))}
            )
    return pd.DataFrame(rows)


def sharpening_gap(bank: Any, temperature: float, n: int, smoothing: float = 0.5) -> tuple[float, float]:
    """pass@n at `temperature` minus at T = 1, paired over the bank's problems: (mean, SE)."""
    d = sharpened(bank, temperature, [n], smoothing)[:, 0] - sharpened(bank, 1.0, [n], smoothing)[:, 0]
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def bank_cross_fit(
    bank: Any,
    loss_list: Sequence[Loss],
    *,
    steps: int,
    lr: float,
    checkpoints: Sequence[int],
    ns: Sequence[int],
    seed: int = 0,
    n_samples: int | None = None,
    **features: Any,
) -> tuple[LossRuns, LossRuns]:
    """Train on one half of the bank's problems, test on the other, and the other way round.

    The base model is the bank's measured answer distribution (`task_from_bank`; `features` go
    there), so every problem is a held-out problem once; returns the two folds' `LossRuns`.
    """
    task = task_from_bank(bank, np.random.default_rng([seed, 7]), **features)
    order = np.random.default_rng([seed, 8]).permutation(task.n_problems)
    halves = np.array_split(order, 2)
    out = []
    for k in range(2):
        out.append(
            run_losses(
                task.subset(halves[k]),
                task.subset(halves[1 - k]),
                loss_list,
                steps=steps,
                lr=lr,
                checkpoints=checkpoints,
                ns=ns,
                seed=seed + k,
                n_samples=n_samples,
            )
        )
    return out[0], out[1]


def fold_gap(
    folds: Sequence[LossRuns], a: str, b: str, n: int, step_a: int | None = None, step_b: int | None = None
) -> tuple[float, float]:
    """Paired gap a - b at pass@n over the union of the folds' test problems: (mean, SE)."""
    d = np.concatenate(
        [
            f.per_problem(a, "pass", step_a)[:, f.ns.index(n)] - f.per_problem(b, "pass", step_b)[:, f.ns.index(n)]
            for f in folds
        ]
    )
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


# --- the slider ----------------------------------------------------------------------------------

LIVE_NS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def live_dco(n_dco: int, *, steps: int = 300, n_test: int = 400, seed: int = 0) -> pd.DataFrame:
    """Held-out pass@N of a small toy (64 training problems, 32 features) trained by CE and by DCO(`n_dco`).

    Fast enough for a slider (well under a second): one row per (model, N) for the base model,
    CE and DCO, each after `steps` steps of the default protocol's learning rate.
    """
    setup = replace(ToySetup(), n_features=32, n_train=64, steps=steps)
    train_task, test_task = setup.split(n_test, seed)
    out = [
        pd.DataFrame({"model": "base", "k": LIVE_NS, "value": pass_at_n(test_task, np.zeros(32), LIVE_NS).mean(axis=0)})
    ]
    for loss in (losses.cross_entropy(), losses.direct_coverage(n_dco)):
        run = train(train_task, loss, steps=steps, lr=setup.lr)
        v = pass_at_n(test_task, run.final, LIVE_NS).mean(axis=0)
        out.append(pd.DataFrame({"model": loss.label, "k": LIVE_NS, "value": v}))
    return pd.concat(out, ignore_index=True)
