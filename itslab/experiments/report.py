"""`itslab report RUN_DIR`: the strategy table, a scaling plot and fitted laws for a finished run.

For each strategy the accuracy-vs-budget curve is fitted with the saturating power law
``acc(B) = c − a·B^(−b)`` (the usual form for accuracy that plateaus with samples; Snell et al.
2024, Brown et al. 2024 use its relatives), with parameter standard errors and a bootstrap over
problems for a 95% interval on the fitted ceiling `c`. Fits with fewer budgets than parameters
are skipped and say so.
"""

from __future__ import annotations

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
    if not all(np.isfinite(f.se)):
        return "not identified (flat curve: infinite SE)"
    if not -0.05 <= c <= 1.05:
        return f"not identified (ceiling {c:.3g} outside [0, 1])"
    if c >= 1.0 - 1e-9:
        return "ceiling at its bound 1 (no saturation seen yet)"
    if ci is not None and ci[1] - ci[0] > 0.5:
        return "weakly identified (ceiling CI wider than 0.5)"
    return ""


def _markdown_table(table: Any) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def write_report(run_dir: str | Path, *, title: str | None = None) -> Path:
    """Write ``scaling.png`` and ``report.md`` into `run_dir` from its results; returns the report path.

    The title defaults to the run config's ``title`` (kept when `itslab report` rewrites a report).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from itslab import plotting
    from itslab.experiments import rundir as runs

    df, man = runs.load(run_dir)
    title = title or (man.get("config") or {}).get("title")
    d = Path(run_dir)
    table = strategy_table(df)
    laws = fit_laws(df)
    fig, ax = plotting.strategy_comparison(df)
    ax.set_title(title or f"accuracy vs budget ({man.get('model')})")
    fig.savefig(d / "scaling.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    lines = [
        f"# {title or 'itslab run'}",
        "",
        f"model: `{man.get('model')}` · itslab {man.get('itslab_version')} · commit `{man.get('git_commit')}` · "
        f"seeds {man.get('seeds')} · {man.get('wall_seconds')} s",
        "",
        "## Accuracy by strategy and budget",
        "",
        _markdown_table(table),
        "",
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
            f"{'–' if ci is None else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} | {v.get('note', '')} |"
        )
    lines += ["", "![accuracy vs budget](scaling.png)", ""]
    (d / "report.md").write_text("\n".join(lines))
    return d / "report.md"
