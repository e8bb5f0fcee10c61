"""Sliders over precomputed results: move a slider, the plot is redrawn from a slice.

Callbacks only slice what the builder precomputed (a frame, a dict of results, a table of fits)
and re-plot — never generate, score or refit — so a notebook stays responsive on a laptop.
`slider_plot` is the generic builder; `scaling_explorer` (budget, n, temperature, ...),
`fit_explorer` (law, fit cut-off), `verifier_explorer` (verifier noise) and `genealogy_explorer`
(particles) are the house ones. Each returns a `SliderPlot`: ``.widget`` to display, and
``.update(**values)`` (what the sliders call) returning ``(fig, ax)`` — usable headless.

Not imported by ``import itslab`` (ipywidgets and matplotlib load here).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from itslab import plotting
from itslab.scaling.law_uncertainty import Extrapolation, extrapolation_check
from itslab.scaling.laws import get_law
from itslab.scaling.verifier_limits import resampling_curve

PlotFn = Callable[..., tuple[Any, Any]]


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


class SliderPlot:
    """Sliders over precomputed `data`; each move slices the data and calls `plot_fn` again.

    `sliders` maps a name to its values. `slice_fn(data, **values)` picks what to plot (default:
    for a frame, the rows whose column equals each slider's value; for a dict, the entry keyed
    by the value — or by the tuple of values, in slider order, when there are several).
    `plot_fn(sliced, **values)` returns ``(fig, ax)``.
    """

    def __init__(
        self,
        data: Any,
        plot_fn: PlotFn,
        sliders: Mapping[str, Sequence[Any]],
        slice_fn: Callable[..., Any] | None = None,
    ) -> None:
        if not sliders:
            raise ValueError("slider_plot: give at least one slider, e.g. budget=[1, 2, 4]")
        self.data, self.plot_fn = data, plot_fn
        self.slice_fn = slice_fn or _default_slice
        self.sliders: dict[str, w.SelectionSlider] = {}
        for name, values in sliders.items():
            values = [_scalar(v) for v in values]
            if not values:
                raise ValueError(f"slider_plot: slider {name!r} has no values")
            self.sliders[name] = w.SelectionSlider(
                options=[(str(v), v) for v in values], value=values[-1], description=name, continuous_update=False
            )
        self.output = w.Output()
        self.widget = w.VBox([*self.sliders.values(), self.output])
        self.figure: Any = None
        self._quiet = False
        for s in self.sliders.values():
            s.observe(self._on_change, names="value")

    def _on_change(self, _change: Any) -> None:
        if not self._quiet:
            self.update()

    @property
    def values(self) -> dict[str, Any]:
        """The sliders' current values."""
        return {name: s.value for name, s in self.sliders.items()}

    def update(self, **values: Any) -> tuple[Any, Any]:
        """Set any sliders given, slice the precomputed data, re-plot; returns ``(fig, ax)``."""
        self._quiet = True
        try:
            for name, v in values.items():
                if name not in self.sliders:
                    raise ValueError(f"update: no slider {name!r}; sliders: {list(self.sliders)}")
                self.sliders[name].value = _scalar(v)
        finally:
            self._quiet = False
        current = self.values
        fig, ax = self.plot_fn(self.slice_fn(self.data, **current), **current)
        if self.figure is not None and self.figure is not fig:
            plt.close(self.figure)
        self.figure = fig
        if _in_notebook():
            from IPython.display import display

            self.output.clear_output(wait=True)
            with self.output:
                display(fig)
            plt.close(fig)  # already rendered into the output; stops a second inline copy
        return fig, ax

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _default_slice(data: Any, **values: Any) -> Any:
    if isinstance(data, pd.DataFrame):
        mask = np.ones(len(data), dtype=bool)
        for name, v in values.items():
            if name not in data.columns:
                raise ValueError(f"slider {name!r} is not a column of the frame; pass slice_fn to slice otherwise")
            mask &= (data[name] == v).to_numpy()
        return data[mask]
    key = next(iter(values.values())) if len(values) == 1 else tuple(values.values())
    if key not in data:
        raise KeyError(f"no precomputed result for {key!r}; have {list(data)[:10]}")
    return data[key]


def slider_plot(
    frame_or_dict: pd.DataFrame | Mapping[Any, Any],
    plot_fn: PlotFn,
    *,
    slice_fn: Callable[..., Any] | None = None,
    show: bool = True,
    **sliders: Sequence[Any] | None,
) -> SliderPlot:
    """Put sliders over precomputed results and draw once with the last value of each.

    A slider given as None takes its values from the data: the sorted unique values of that
    column, or the sorted dict keys (one slider). ``plot_fn(sliced, **values) -> (fig, ax)``.
    """
    resolved = {}
    for name, values in sliders.items():
        if values is None:
            if isinstance(frame_or_dict, pd.DataFrame):
                values = sorted(frame_or_dict[name].unique())
            elif len(sliders) == 1:
                values = sorted(frame_or_dict)
            else:
                raise ValueError(f"slider {name!r}: give its values (several sliders over a dict)")
        resolved[name] = list(values)
    sp = SliderPlot(frame_or_dict, plot_fn, resolved, slice_fn)
    if show:
        sp.update()
    return sp


def scaling_explorer(
    df: pd.DataFrame, *, x: str = "k", y: str = "value", hue: str | None = "metric", **columns: Sequence[Any] | None
) -> SliderPlot:
    """Scaling curves with a ``budget`` slider (show x ≤ budget) and one slider per extra column.

    E.g. ``scaling_explorer(frame, temperature=None, n=None)`` for a frame of curves computed at
    several temperatures and pool sizes n (None: the column's values).
    """
    budgets = sorted(df[x].unique())

    def slice_fn(data: pd.DataFrame, budget: Any, **vals: Any) -> pd.DataFrame:
        out = _default_slice(data, **vals) if vals else data
        return out[out[x] <= budget]

    def plot(part: pd.DataFrame, budget: Any, **vals: Any):
        fig, ax = plotting.scaling_curve(part, x=x, y=y, hue=hue)
        ax.set_xlim(min(budgets) / 1.3, max(budgets) * 1.3)  # fixed axes: the curve grows, the frame does not
        ax.set_title(", ".join(f"{k}={v}" for k, v in {"budget": budget, **vals}.items()))
        return fig, ax

    sliders: dict[str, Any] = {
        "budget": budgets,
        **{c: (sorted(df[c].unique()) if v is None else v) for c, v in columns.items()},
    }
    return slider_plot(df, plot, slice_fn=slice_fn, **sliders)


def fit_explorer(
    curve: pd.DataFrame,
    *,
    forms: Sequence[str] = ("exp_power_law", "beta_difficulty", "power_law"),
    x: str = "k",
    y: str = "value",
) -> SliderPlot:
    """A law fitted on x ≤ cut-off and extrapolated: sliders ``law`` and ``fit_max``.

    Every (law, cut-off) fit is done here, up front; the sliders only look them up.
    """
    xs, ys = curve[x].to_numpy(float), curve[y].to_numpy(float)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    fits: dict[tuple[str, float], Extrapolation] = {}
    for form in forms:
        need = len(get_law(form).param_names) + 1
        for cut in xs[need - 1 : -1]:
            try:
                fits[(form, float(cut))] = extrapolation_check(form, xs, ys, fit_max=cut)
            except (ValueError, RuntimeError):
                continue
    if not fits:
        raise ValueError("fit_explorer: too few points to fit any law with a held-out part")
    cuts = sorted({c for _, c in fits})

    def plot(ex: Extrapolation | None, law: str, fit_max: float):
        if ex is None:
            fig, ax = plotting.scaling_curve(curve, x=x, y=y, hue=None)
            ax.set_title(f"{law}: no fit with x ≤ {fit_max:g}")
            return fig, ax
        fig, ax = plotting.scaling_curve(curve, x=x, y=y, hue=None, fit={law: ex.fit})
        ax.axvline(fit_max, color="0.5", ls=":", lw=1)
        ax.set_title(f"fit on {x} ≤ {fit_max:g}: held-out max |error| {ex.heldout_max_error:.3f}")
        return fig, ax

    return slider_plot(
        fits, plot, slice_fn=lambda d, law, fit_max: d.get((law, float(fit_max))), law=list(forms), fit_max=cuts
    )


def verifier_explorer(
    p: float | np.ndarray,
    *,
    tpr: float = 1.0,
    noise: Sequence[float] | None = None,
    ks: Sequence[float] | None = None,
    weights: Sequence[float] | None = None,
) -> SliderPlot:
    """Resample-until-pass accuracy vs k (Stroebl et al. 2024) with a verifier ``noise`` (FPR) slider.

    `p`: single-sample accuracy, or one per problem (averaged, with optional `weights`). `noise`
    defaults to FPR 0, 0.05, ..., 0.5 and `ks` to 25 log-spaced values in 1..1000. The
    closed-form curves for every noise level are computed up front.
    """
    noise = [round(float(f), 4) for f in (np.linspace(0.0, 0.5, 11) if noise is None else noise)]
    ks = np.unique(np.geomspace(1, 1000, 25).round()) if ks is None else np.asarray(ks, dtype=float)
    table = pd.concat(
        [resampling_curve(ks, p, tpr, float(f), weights=weights).assign(noise=float(f)) for f in noise],
        ignore_index=True,
    )

    def plot(part: pd.DataFrame, noise: float):
        long = part.melt(id_vars=["k"], value_vars=["accuracy", "false_positive"], var_name="outcome")
        fig, ax = plotting.scaling_curve(long, x="k", y="value", hue="outcome", ylabel="share of problems")
        ax.axhline(part["ceiling"].iloc[0], color="0.3", ls="--", lw=1, label="ceiling (k → ∞)")
        ax.set(ylim=(0, 1), title=f"TPR={tpr:g}, FPR={noise:g}")
        ax.legend(fontsize="small")
        return fig, ax

    return slider_plot(table, plot, noise=noise)


def genealogy_explorer(traces: Mapping[int, Any], *, weights_for: str = "previous") -> SliderPlot:
    """Particle genealogies keyed by number of particles, with a ``particles`` slider.

    `traces` maps n_particles → a `Result` or a list of per-step info dicts (see
    `plotting.particle_genealogy`), all precomputed.
    """
    return slider_plot(
        dict(traces),
        lambda src, particles: plotting.particle_genealogy(src, weights_for=weights_for),
        particles=sorted(traces),
    )


def genealogy_step_explorer(source: Any, *, weights_for: str = "previous") -> SliderPlot:
    """One particle filter's genealogy drawn up to a ``step`` slider (Puri et al. 2025, arXiv:2502.01618).

    `source`: a `Result` of `particle_filter` / `constrained_smc`-style strategies or a list of
    per-step info dicts (`plotting.particle_genealogy`); the step records are read once, here.
    """
    records = [r.info for r in source.trace if "weights" in r.info] if hasattr(source, "trace") else list(source)
    if not records:
        raise ValueError("genealogy_step_explorer: no step carries info['weights']")

    def plot(part: list[Any], step: int):
        fig, ax = plotting.particle_genealogy(part, weights_for=weights_for)
        ax.set_xlim(-0.5, len(records) - 0.5)  # fixed axes: the tree grows, the frame does not
        ax.set_title(f"particle genealogy, steps 0-{step - 1} of {len(records)} (size = weight)")
        return fig, ax

    return slider_plot(records, plot, slice_fn=lambda recs, step: recs[:step], step=list(range(1, len(records) + 1)))
