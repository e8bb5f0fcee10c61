"""`itslab report RUN_DIR`: what a finished run shows, its strategy table, a scaling plot and fitted laws.

The report opens with one sentence computed from the rows (`itslab.experiments.findings`); every
accuracy is printed with its 95% Wilson interval over problems, honest at 0 and 1.

For each strategy the accuracy-vs-budget curve is fitted with the saturating power law
``acc(B) = c − a·B^(−b)`` (the usual form for accuracy that plateaus with samples; Snell et al.
2024, Brown et al. 2024 use its relatives), with parameter standard errors and a bootstrap over
problems for a 95% interval on the fitted ceiling `c`. Fits with fewer budgets than parameters
are skipped and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LAW = "saturating_power_law"
# accuracy rises towards a ceiling that is itself an accuracy: a >= 0, c in [0, 1]
ACCURACY_BOUNDS = ((0.0, 1e-6, 0.0), (np.inf, 20.0, 1.0))


def strategy_table(df: Any) -> Any:
    """`itslab.scaling.config_accuracy` per (strategy, budget) with the mean usage columns, for printing."""
    from itslab.scaling import config_accuracy

    usage = [c for c in ("samples", "generated_tokens", "cached_tokens", "verifier_calls") if c in df.columns]
    out = config_accuracy(df, group=["strategy", "budget"], cost=usage)
    return out[["strategy", "budget", "accuracy", "se", "ci_low", "ci_high", "n_problems", *usage]]


def _digits(n_problems: Any) -> int:
    """Two decimals, three once the problems resolve them (a 95% interval narrower than ~0.06)."""
    return 3 if int(np.min(n_problems)) >= 300 else 2


def interval_cells(table: Any) -> Any:
    """``accuracy [ci_low, ci_high]`` strings of a `strategy_table` (the 95% Wilson interval: 0 of 5
    correct reads "0.00 [0.00, 0.43]", never "± 0")."""
    d = _digits(table["n_problems"]) if len(table) else 2
    return [f"{a:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]" for a, lo, hi in table[["accuracy", "ci_low", "ci_high"]].to_numpy()]


def wide_table(df: Any) -> Any:
    """Strategy × budget, each cell accuracy with its 95% Wilson interval: what `itslab demo` prints."""
    t = strategy_table(df)
    t = t.assign(cell=interval_cells(t))
    wide = t.pivot(index="strategy", columns="budget", values="cell")
    wide.columns = [f"{b:g}" for b in wide.columns]
    return wide.fillna("–").rename_axis("strategy / budget").reset_index()


def long_table(df: Any) -> Any:
    """One row per (strategy, budget): accuracy [95% Wilson], problems and mean usage per problem."""
    t = strategy_table(df)
    usage = [
        c for c in t.columns if c not in ("strategy", "budget", "accuracy", "se", "ci_low", "ci_high", "n_problems")
    ]
    out = t[["strategy", "budget"]].assign(**{"accuracy [95% Wilson]": interval_cells(t), "problems": t["n_problems"]})
    for c in usage:
        out[c] = t[c].round(1)
    return out


def fit_laws(df: Any, *, n_boot: int = 200, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per strategy: the fitted law (FitResult), and a bootstrap-over-problems 95% CI of its ceiling."""
    from itslab.scaling import bootstrap

    out: dict[str, dict[str, Any]] = {}
    rng = np.random.default_rng(seed)
    for name, part in df.groupby("strategy", sort=True):
        wide = part.groupby(["problem_id", "budget"])["correct"].mean().unstack("budget").dropna(axis=0)
        budgets = wide.columns.to_numpy(float)
        if len(budgets) < 4 or wide.shape[0] < 2:
            out[name] = {"fit": None, "why": f"{len(budgets)} budgets, {wide.shape[0]} problems: too few to fit"}
            continue
        y = wide.to_numpy(float)
        try:
            bs = bootstrap(LAW, budgets, y, rng=rng, n_boot=n_boot, bounds=ACCURACY_BOUNDS)
        except (ValueError, FloatingPointError, RuntimeError) as e:
            out[name] = {"fit": None, "why": f"fit failed: {e}"}
            continue
        row = bs.param_ci.set_index("param").loc["c"]
        ci = (float(row["ci_low"]), float(row["ci_high"]))
        out[name] = {
            "fit": bs.fit,
            "ceiling_ci": ci,
            "n_boot": n_boot - bs.n_failed,
            "note": _identification(bs.fit, ci),
        }
    return out


def _identification(f: Any, ci: tuple[float, float] | None) -> str:
    """Why a fitted accuracy law should not be read (empty when it can): flat or noisy curves leave
    the ceiling undetermined, which the fit reports as infinite SEs or a ceiling outside [0, 1]."""
    p = f.as_dict()
    c = p["c"]
    if p["a"] <= 1e-6 or p["b"] <= 1e-4:
        return "not identified (flat curve: no growth with budget to fit)"
    # a ceiling held at its bound 1 has no SE: the curve has not started to saturate
    if c >= 1.0 - 1e-9:
        return "ceiling at its bound 1 (no saturation seen yet)"
    if not all(np.isfinite(f.se)):
        return "not identified (infinite SE)"
    if not -0.05 <= c <= 1.05:
        return f"not identified (ceiling {c:.3g} outside [0, 1])"
    if ci is not None and ci[1] - ci[0] > 0.5:
        return "weakly identified (ceiling CI wider than 0.5)"
    return ""


def markdown(table: Any) -> str:
    """A DataFrame as a Markdown table (floats to 3 significant digits)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class RunSummary:
    """What a report says about a run: the accuracy table, the paired comparisons, the fitted laws
    and the lead sentence computed from them (`itslab.experiments.findings`)."""

    table: Any
    comparisons: Any
    laws: dict[str, dict[str, Any]]
    lead: str


def summarise(df: Any, *, name: str, n_boot: int = 200) -> RunSummary:
    """The `RunSummary` of experiment frame `df`; `name` opens the lead sentence."""
    from itslab.experiments import findings

    laws = fit_laws(df, n_boot=n_boot)
    comp = findings.comparisons(df)
    return RunSummary(strategy_table(df), comp, laws, findings.lead_sentence(df, title=name, laws=laws, table=comp))


def _comparison_lines(comp: Any) -> list[str]:
    if comp is None or not len(comp):
        return ["(no comparisons: needs a budget-1 baseline or two deployable strategies)"]
    shown = comp[["comparison", "accuracy_a", "accuracy_b", "difference", "se", "z", "n_problems", "resolved"]]
    return [markdown(shown)]


def _law_lines(laws: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        f"## Fitted law: {LAW}, acc(B) = c − a·B^(−b), with a ≥ 0 and c in [0, 1]",
        "",
        "| strategy | a | b | c (ceiling) | SE(a, b, c) | ceiling 95% CI (bootstrap over problems) | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, v in laws.items():
        f = v.get("fit")
        if f is None:
            lines.append(f"| {name} | – | – | – | – | – | {v['why']} |")
            continue
        p, se = f.as_dict(), f.se
        ci = v.get("ceiling_ci")
        lines.append(
            f"| {name} | {p['a']:.3g} | {p['b']:.3g} | {p['c']:.3g} | "
            f"{', '.join(f'{s:.2g}' for s in se)} | "
            f"{'–' if ci is None else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} | {v.get('note', '') or 'identified'} |"
        )
    return lines


def write_report(run_dir: str | Path, *, title: str | None = None, summary: RunSummary | None = None) -> Path:
    """Write ``scaling.png`` and ``report.md`` into `run_dir` from its results; returns the report path.

    The report leads with one sentence saying what the run shows (`summarise`; pass `summary` when
    already computed), then the accuracy table with 95% Wilson intervals, the paired comparisons
    and the fitted laws. The title defaults to the run config's ``title`` (kept when `itslab
    report` rewrites a report).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from itslab import plotting
    from itslab.experiments import rundir as runs

    df, man = runs.load(run_dir)
    title = title or (man.get("config") or {}).get("title")
    d = Path(run_dir)
    summary = summary or summarise(df, name="This run")
    fig, ax = plotting.strategy_comparison(df)
    ax.set_title(title or f"accuracy vs budget ({man.get('model')})")
    fig.savefig(d / "scaling.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    lines = [
        f"# {title or 'itslab run'}",
        "",
        summary.lead,
        "",
        f"model: `{man.get('model')}` · itslab {man.get('itslab_version')} · commit `{man.get('git_commit')}` · "
        f"seeds {man.get('seeds')} · {man.get('wall_seconds')} s",
        "",
        "## Accuracy by strategy and budget (95% Wilson interval over problems)",
        "",
        markdown(long_table(df)),
        "",
        "## Paired differences over problems (resolved: |z| > 2)",
        "",
        *_comparison_lines(summary.comparisons),
        "",
        *_law_lines(summary.laws),
        "",
        "![accuracy vs budget](scaling.png)",
        "",
    ]
    (d / "report.md").write_text("\n".join(lines))
    return d / "report.md"
