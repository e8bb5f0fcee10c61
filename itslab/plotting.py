"""The house plots: scaling curves, coverage, strategy comparisons, frontiers, calibration, genealogies.

Every function takes DataFrames (or Results) and returns ``(fig, ax)``; pass ``ax=`` to draw into
an existing axes. Budgets go on a log x axis, as in every inference-scaling paper. Bands are the
bootstrap interval (``ci_low``/``ci_high``) when present, else ±1.96 standard errors.

Not imported by ``import itslab`` (matplotlib and seaborn load here).

>>> import matplotlib; matplotlib.use("Agg")
>>> import pandas as pd
>>> fig, ax = scaling_curve(pd.DataFrame({"k": [1, 2, 4], "value": [0.2, 0.3, 0.4]}))
>>> ax.get_xscale()
'log'
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from itslab.scaling.frontiers import config_accuracy, pareto_frontier
from itslab.scaling.laws import FitResult

FigAx = tuple[Figure, Axes]


def set_style(context: str = "notebook") -> None:
    """The itslab look: seaborn whitegrid, colour-blind palette, light spines (global rcParams)."""
    sns.set_theme(
        style="whitegrid",
        context=context,
        palette="colorblind",
        rc={
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "legend.frameon": False,
        },
    )


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 4.0)) -> FigAx:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _band(df: pd.DataFrame, y: str) -> tuple[np.ndarray, np.ndarray] | None:
    if {"ci_low", "ci_high"} <= set(df.columns):
        return df["ci_low"].to_numpy(float), df["ci_high"].to_numpy(float)
    if "se" in df.columns and df["se"].notna().any():
        half = 1.96 * df["se"].to_numpy(float)
        return df[y].to_numpy(float) - half, df[y].to_numpy(float) + half
    return None


def _groups(df: pd.DataFrame, hue: str | None):
    if hue is None or hue not in df.columns:
        return [(None, df)]
    return list(df.groupby(hue, sort=True, observed=True))


def scaling_curve(
    df: pd.DataFrame,
    *,
    x: str = "k",
    y: str = "value",
    hue: str | None = "metric",
    fit: FitResult | Mapping[str, FitResult] | None = None,
    extrapolate_to: float | None = None,
    logx: bool = True,
    ax: Any = None,
    ylabel: str | None = None,
) -> FigAx:
    """Curves of `y` against budget `x` (log x), one per `hue`, with CI bands and fitted laws overlaid.

    `fit` is a `FitResult` or a mapping label → FitResult; each is drawn dashed from the smallest
    x to `extrapolate_to` (default the largest x), so extrapolation is visible.
    """
    fig, ax = _axes(ax)
    if x not in df.columns or y not in df.columns:
        raise ValueError(f"scaling_curve: frame needs columns {x!r} and {y!r}; has {list(df.columns)}")
    for label, part in _groups(df, hue):
        part = part.sort_values(x)
        xs = part[x].to_numpy(float)
        (line,) = ax.plot(xs, part[y], marker="o", ms=4, label=None if label is None else str(label))
        band = _band(part, y)
        if band is not None:
            ax.fill_between(xs, *band, alpha=0.2, color=line.get_color(), linewidth=0)
    fits = {} if fit is None else ({"fit": fit} if isinstance(fit, FitResult) else dict(fit))
    lo, hi = float(df[x].min()), float(extrapolate_to or df[x].max())
    grid = np.geomspace(max(lo, 1e-12), hi, 200) if logx else np.linspace(lo, hi, 200)
    for name, f in fits.items():
        params = ", ".join(f"{k}={v:.3g}" for k, v in f.as_dict().items())
        ax.plot(grid, f.predict(grid), ls="--", lw=1.5, color="0.3", label=f"{name}: {f.law.name} ({params})")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return fig, ax


def coverage(
    data: pd.DataFrame | np.ndarray | Mapping[str, Any],
    ks: Sequence[int] | None = None,
    *,
    neglog: bool = False,
    fit: FitResult | Mapping[str, FitResult] | None = None,
    ax: Any = None,
) -> FigAx:
    """Coverage (pass@k) against samples k (Brown et al. 2024, Fig. 1).

    `data` is a `pass_at_k` frame, a boolean correctness matrix [problems, n], or a mapping
    label → either (one curve per label). ``neglog=True`` plots −log(coverage) on log–log axes,
    where the exponentiated power law is a straight line.
    """
    from itslab.scaling.estimators import pass_at_k

    def frame(d):
        return d if isinstance(d, pd.DataFrame) else pass_at_k(np.asarray(d), ks)

    if isinstance(data, Mapping):
        df = pd.concat([frame(d).assign(model=str(name)) for name, d in data.items()], ignore_index=True)
        hue = "model"
    else:
        df, hue = frame(data), None
    if neglog:
        df = df.assign(value=-np.log(np.clip(df["value"], 1e-300, 1.0)))
        df = df.drop(columns=[c for c in ("ci_low", "ci_high", "se") if c in df.columns])
        if fit is not None:
            raise ValueError("coverage: draw fits on the linear scale (neglog=False)")
    fig, ax = scaling_curve(df, hue=hue, fit=fit, ax=ax, ylabel="−log coverage" if neglog else "coverage (pass@k)")
    ax.set_xlabel("samples k")
    if neglog:
        ax.set_yscale("log")
    return fig, ax


def strategy_comparison(
    df: pd.DataFrame, *, x: str = "budget", y: str = "correct", hue: str = "strategy", logx: bool = True, ax: Any = None
) -> FigAx:
    """Accuracy against budget per strategy, from an experiment frame (one row per problem × ... × seed).

    Accuracy averages seeds within a problem, then problems; bands are ±1.96 SE across problems.
    A frame already aggregated (an ``accuracy`` column, no ``problem_id``) is drawn as is.
    """
    if "problem_id" in df.columns:
        table = config_accuracy(df, group=[hue, x], correct=y)
    elif "accuracy" in df.columns:
        table = df
    else:
        raise ValueError("strategy_comparison: need an experiment frame (problem_id, correct) or an 'accuracy' column")
    fig, ax = scaling_curve(table, x=x, y="accuracy", hue=hue, logx=logx, ax=ax, ylabel="accuracy")
    return fig, ax


def frontier(
    df: pd.DataFrame,
    *,
    cost: str = "total_tokens",
    acc: str = "accuracy",
    hue: str = "strategy",
    logx: bool = True,
    ax: Any = None,
) -> FigAx:
    """Cost–accuracy scatter of configurations with the Pareto frontier drawn as a step line.

    `df` is a `pareto_frontier` table or a raw experiment frame (aggregated here on `cost`).
    """
    table = df if "on_frontier" in df.columns else pareto_frontier(df, cost=cost)
    fig, ax = _axes(ax)
    for label, part in _groups(table, hue):
        ax.scatter(part[cost], part[acc], s=25, alpha=0.8, label=None if label is None else str(label))
    front = table[table["on_frontier"]].sort_values(cost)
    ax.step(front[cost], front[acc], where="post", color="0.2", lw=1.5, label="Pareto frontier")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(cost)
    ax.set_ylabel(acc)
    ax.legend(fontsize="small")
    return fig, ax


def calibration(
    data: pd.DataFrame | np.ndarray,
    correct: np.ndarray | None = None,
    *,
    score: str = "score",
    label: str = "correct",
    n_bins: int = 10,
    ax: Any = None,
) -> FigAx:
    """Reliability diagram of verifier scores (or confidences) in [0, 1] against correctness.

    Pass a frame with `score` and `label` columns, or arrays (scores, correct). Points are
    equal-width bins, sized by count; the title reports the expected calibration error
    (Guo et al. 2017, ECE = sum over bins of |accuracy − confidence| · bin share).
    """
    if isinstance(data, pd.DataFrame):
        s, c = data[score].to_numpy(float), data[label].to_numpy(float)
    else:
        s, c = np.asarray(data, dtype=float).ravel(), np.asarray(correct, dtype=float).ravel()
    if s.shape != c.shape or np.any((s < 0) | (s > 1)) or not np.all(np.isfinite(s)):
        raise ValueError("calibration: scores must be finite, in [0, 1], one per correctness flag")
    from itslab.scaling.selective import expected_calibration_error, reliability

    r = reliability(s, c, n_bins)
    conf, acc, n_in = r["confidence"].to_numpy(), r["accuracy"].to_numpy(), r["count"].to_numpy()
    ece = expected_calibration_error(s, c, n_bins)
    fig, ax = _axes(ax, (4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="perfect calibration")
    ax.plot(conf, acc, color=sns.color_palette()[0], lw=1.5)
    ax.scatter(conf, acc, s=20 + 200 * n_in / n_in.max(), zorder=3, label="bins (size = count)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean score", ylabel="fraction correct", title=f"ECE = {ece:.3f}")
    ax.legend(fontsize="small", loc="upper left")
    return fig, ax


def _genealogy_steps(source: Any) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """(ancestors, weights) per step from info dicts or a Result's trace (records lacking weights skipped)."""
    records = [r.info for r in source.trace] if hasattr(source, "trace") else list(source)
    steps = []
    for info in records:
        if "weights" not in info:
            continue
        anc = info.get("ancestors")
        w = np.nan_to_num(np.asarray(info["weights"], dtype=float), nan=0.0)
        steps.append((None if anc is None else np.asarray(anc, dtype=int), w))
    if not steps:
        raise ValueError("particle_genealogy: no step carries info['weights'] (and info['ancestors'])")
    return steps


def _normalised(w: np.ndarray, n: int) -> np.ndarray:
    w = w[:n] if len(w) >= n else np.full(n, 1.0)
    return w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)


def particle_genealogy(source: Any, *, weights_for: str = "previous", ax: Any = None) -> FigAx:
    """Genealogy of a particle filter (Doucet & Johansen 2009; for LLMs, Puri et al. 2025).

    `source` is a list of per-step dicts with ``"ancestors"`` (for each particle of this step, the
    index of its parent in the previous step's pool; None or absent at the first step) and
    ``"weights"``, or a `Result` whose trace StepRecords carry them in ``info``. With
    ``weights_for="previous"`` (the convention of `itslab.strategies.smc`: a step's weights are
    those its resampling used, over the previous pool) a particle's size is the weight the next
    step gave it; with ``"current"`` each step's weights are its own particles'. A parent index
    just past the previous step's particles is a particle-Gibbs reference (hollow marker).
    Lineages surviving to the last step are coloured, extinct ones grey.
    """
    if weights_for not in ("previous", "current"):
        raise ValueError(f"particle_genealogy: weights_for must be 'previous' or 'current', got {weights_for!r}")
    steps = _genealogy_steps(source)
    sizes = [len(a) if a is not None else len(w) for a, w in steps]
    fig, ax = _axes(ax, (7.0, 4.0))
    alive = [np.zeros(n + 1, dtype=bool) for n in sizes]  # the extra slot: a reference particle
    alive[-1][:-1] = True
    for t in range(len(steps) - 1, 0, -1):  # walk surviving lineages back to the first step
        anc = steps[t][0]
        if anc is None:
            continue
        if anc.size and (anc.min() < 0 or anc.max() > sizes[t - 1]):
            raise ValueError(
                f"particle_genealogy: step {t} ancestors {anc.tolist()} do not index step {t - 1} "
                f"({sizes[t - 1]} particles)"
            )
        alive[t - 1][anc[alive[t][:-1]]] = True
    colour, grey = sns.color_palette()[0], "0.75"
    for t, (anc, w) in enumerate(steps):
        if t > 0 and anc is not None:
            for i, a in enumerate(anc):
                ax.plot([t - 1, t], [a, i], color=colour if alive[t][i] else grey, lw=0.8, zorder=1)
            if anc.size and anc.max() == sizes[t - 1]:
                ax.scatter([t - 1], [sizes[t - 1]], s=40, facecolors="none", edgecolors=colour, zorder=2)
        own = w if weights_for == "current" else (steps[t + 1][1] if t + 1 < len(steps) else np.array([]))
        wn = _normalised(own, sizes[t])
        ax.scatter(
            np.full(sizes[t], t),
            np.arange(sizes[t]),
            s=15 + 300 * wn,
            c=[colour if a else grey for a in alive[t][:-1]],
            zorder=2,
            edgecolors="none",
        )
    ax.set(xlabel="step", ylabel="particle", title="particle genealogy (size = weight)")
    ax.set_xticks(range(len(steps)))
    ax.grid(False)
    return fig, ax


def strategy_heatmap(
    table: pd.DataFrame,
    *,
    value: str = "accuracy",
    row: str = "config",
    col: str = "task",
    mark: str | None = "winner",
    fmt: str = ".2f",
    center: float | None = None,
    ax: Any = None,
) -> FigAx:
    """Strategy × task heat map (Sys2Bench's table as a picture, Parashar et al. 2025, arXiv:2502.12521).

    `table` has one row per (`row`, `col`) with `value` (e.g. `experiments.capstone.grid`); cells a
    strategy could not run on are blank and labelled "n/a". Rows are ordered by their mean over
    tasks. Cells where `mark` is true (the task's winner) get a box. With `center` the colour map
    diverges around it (e.g. 0 for gains).
    """
    missing = [c for c in (value, row, col) if c not in table.columns]
    if missing:
        raise ValueError(f"strategy_heatmap: table lacks columns {missing}")
    wide = table.pivot_table(index=row, columns=col, values=value, aggfunc="mean", sort=False)
    wide = wide.loc[wide.mean(axis=1).sort_values(ascending=False).index]
    fig, ax = _axes(ax, (1.6 + 1.3 * wide.shape[1], 0.9 + 0.32 * wide.shape[0]))
    cmap = "vlag" if center is not None else "viridis"
    sns.heatmap(wide, annot=True, fmt=fmt, cmap=cmap, center=center, cbar_kws={"label": value}, ax=ax,
                annot_kws={"fontsize": "x-small"}, linewidths=0.5, linecolor="white")  # fmt: skip
    for i, j in np.argwhere(wide.isna().to_numpy()):
        ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize="x-small", color="0.5")
    if mark is not None and mark in table.columns:
        marked = table[table[mark].astype(bool)]
        for r, c in zip(marked[row], marked[col]):
            if r in wide.index and c in wide.columns:
                i, j = wide.index.get_loc(r), wide.columns.get_loc(c)
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor="k", lw=2))
    ax.set(xlabel=col, ylabel=row)
    ax.tick_params(axis="x", rotation=30)
    ax.grid(False)
    return fig, ax
