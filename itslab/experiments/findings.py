"""What a sweep shows, computed from its rows: the paired comparisons it is read by, and one sentence.

A report should say what it found before it shows tables. The sentence is built from numbers, never
written by hand: coverage at the largest budget against pass@1 (Brown et al. 2024,
arXiv:2407.21787), which deployable strategy leads at each budget, whether the leader's margin
over the runner-up and over pass@1 is resolved (paired over problems, |z| > 2; the comparisons of
Snell et al. 2024, arXiv:2408.03314, Fig. 3), and whether the fitted law is identified
(`itslab.experiments.report.fit_laws`). Oracle strategies (coverage) are reported but never "win".

>>> import pandas as pd
>>> rows = [{"problem_id": f"p{i}", "strategy": s, "budget": b, "correct": b > 1 and s == "majority_vote"}
...         for i in range(10) for s in ("majority_vote", "best_of_n") for b in (1, 4)]
>>> lead_sentence(pd.DataFrame(rows), title="toy")[:80]
'toy: tie at 1, majority_vote leads at 4; at 4 it beats best_of_n by +1.00 ± 0.00'
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from itslab.scaling.paired import cell_gap

ORACLES = ("oracle_pass_at_n", "pass_at_k")
RESOLVED_Z = 2.0


def _names(df: pd.DataFrame) -> dict[str, str]:
    """Strategy label → registered name (the label itself when the frame has no ``strategy_name``)."""
    if "strategy_name" not in df.columns:
        return {s: s for s in df["strategy"].unique()}
    return dict(df[["strategy", "strategy_name"]].drop_duplicates("strategy").itertuples(index=False))


def oracle_strategies(df: pd.DataFrame) -> list[str]:
    """Labels of the coverage (oracle) strategies in `df`: not deployable, never a winner."""
    return sorted(s for s, n in _names(df).items() if n in ORACLES or s in ORACLES)


def _accuracy(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy [budget × strategy] (seed-mean per problem, then over problems)."""
    per = df.assign(_c=df["correct"].astype(float)).groupby(["strategy", "budget", "problem_id"])["_c"].mean()
    return per.groupby(level=["budget", "strategy"]).mean().unstack("strategy")


def _pass_at_1(df: pd.DataFrame, deployable: list[str]) -> tuple[str, float] | None:
    """The one-sample cell: majority vote (else the first deployable strategy) at budget 1."""
    if 1 not in set(df["budget"]):
        return None
    at1 = set(df.loc[df["budget"] == 1, "strategy"])
    for s in ["majority_vote", *deployable]:
        if s in at1:
            return (s, 1)
    return None


def _row(df: pd.DataFrame, label: str, a: tuple[str, float], b: tuple[str, float]) -> dict[str, Any]:
    g = cell_gap(df, a, b)
    return {
        "comparison": label,
        "a": f"{a[0]} @ {a[1]:g}",
        "b": f"{b[0]} @ {b[1]:g}",
        "accuracy_a": g["a"],
        "accuracy_b": g["b"],
        "difference": g["gap"],
        "se": g["se"],
        "z": g["z"],
        "n_problems": g["n_problems"],
        "resolved": bool(abs(g["z"]) > RESOLVED_Z),
    }


def comparisons(df: pd.DataFrame) -> pd.DataFrame:
    """The paired differences a sweep is read by, one row each (see the module docstring).

    At the largest budget: every oracle and every deployable strategy against pass@1 (majority
    vote at budget 1), and the leading deployable strategy against each other one. Columns:
    comparison, a, b, accuracy_a, accuracy_b, difference, se, z, n_problems, resolved (|z| > 2).
    """
    oracles = oracle_strategies(df)
    deployable = sorted(set(df["strategy"]) - set(oracles))
    top = float(df["budget"].max())
    base = _pass_at_1(df, deployable)
    rows = []
    if base is not None:
        for s in oracles:
            rows.append(_row(df, f"coverage @ {top:g} − pass@1", (s, top), base))
        for s in deployable:
            rows.append(_row(df, f"{s} @ {top:g} − pass@1", (s, top), base))
    acc = _accuracy(df).loc[top, deployable].dropna()
    if len(acc) > 1:
        lead = str(acc.idxmax())
        for s in acc.drop(lead).sort_values(ascending=False).index:
            rows.append(_row(df, f"{lead} − {s} @ {top:g}", (lead, top), (str(s), top)))
    cols = ["comparison", "a", "b", "accuracy_a", "accuracy_b", "difference", "se", "z", "n_problems", "resolved"]
    return pd.DataFrame(rows, columns=cols)


def leaders(df: pd.DataFrame, tol: float = 1e-9) -> list[tuple[float, str]]:
    """(budget, leading deployable strategy) per budget, ascending; ``"tie"`` when the best accuracy is shared."""
    deployable = sorted(set(df["strategy"]) - set(oracle_strategies(df)))
    acc = _accuracy(df)[deployable]
    out = []
    for budget, row in acc.iterrows():
        row = row.dropna()
        if row.empty:
            continue
        best = row.max()
        top = row[row >= best - tol]
        out.append((float(budget), str(top.index[0]) if len(top) == 1 else "tie"))
    return out


def _spans(lead: list[tuple[float, str]]) -> str:
    """'majority_vote at 4–16, best_of_n at 2' from per-budget leaders (ties said as such)."""
    groups: list[list[Any]] = []
    for b, s in lead:
        if groups and groups[-1][0] == s:
            groups[-1][2] = b
        else:
            groups.append([s, b, b])
    parts = []
    for s, lo, hi in groups:
        where = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
        parts.append(f"tie at {where}" if s == "tie" else f"{s} leads at {where}")
    return ", ".join(parts)


def _diff(r: Mapping[str, Any]) -> str:
    z = r["z"]
    zs = "∞" if np.isinf(z) else ("?" if np.isnan(z) else f"{abs(z):.1f}")
    return f"{r['difference']:+.2f} ± {r['se']:.2f} (|z| = {zs}, {'resolved' if r['resolved'] else 'not resolved'})"


def _unit(df: pd.DataFrame) -> str:
    axis = set(df["budget_axis"]) if "budget_axis" in df.columns else set()
    return axis.pop() if len(axis) == 1 else "budget"


def _law_clause(laws: Mapping[str, Mapping[str, Any]] | None, strategy: str) -> str:
    if not laws or strategy not in laws:
        return ""
    v = laws[strategy]
    if v.get("fit") is None:
        return f"no law fitted for {strategy} ({v.get('why', 'too few budgets')})"
    if v.get("note"):
        return f"fitted law for {strategy}: {v['note']}"
    c = v["fit"].as_dict()["c"]
    lo, hi = v["ceiling_ci"]
    return f"fitted law for {strategy}: identified, ceiling {c:.2f} (95% CI [{lo:.2f}, {hi:.2f}])"


def lead_sentence(
    df: pd.DataFrame, *, title: str, laws: Mapping[str, Mapping[str, Any]] | None = None, table: Any = None
) -> str:
    """One sentence saying what the sweep `df` shows (see the module docstring); `table` is
    `comparisons(df)` when already computed, `laws` is `report.fit_laws(df)`."""
    table = comparisons(df) if table is None else table
    lead = leaders(df)
    clauses = []
    cover = table[table["comparison"].str.startswith("coverage")]
    if len(cover):
        r = cover.iloc[0]
        clauses.append(
            f"coverage rises from pass@1 {r['accuracy_b']:.2f} to {r['accuracy_a']:.2f} at "
            f"{df['budget'].max():g} {_unit(df)}, {_diff(r)}"
        )
    if lead:
        clauses.append(_spans(lead))
        budget, winner = lead[-1]
        if winner != "tie":
            beats = [
                f"{r.b.split(' @ ')[0]} by {_diff(r._asdict())}"
                for r in table.itertuples(index=False)
                if r.comparison.startswith(f"{winner} − ")
            ][:1]
            beats += [
                f"pass@1 by {_diff(r._asdict())}"
                for r in table.itertuples(index=False)
                if r.comparison == f"{winner} @ {budget:g} − pass@1"
            ]
            if beats:
                clauses.append(f"at {budget:g} it beats " + " and ".join(beats))
            law = _law_clause(laws, winner)
            if law:
                clauses.append(law)
    return f"{title}: " + "; ".join(clauses) + "."
