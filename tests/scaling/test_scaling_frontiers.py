"""compute_optimal (Snell et al. 2024) and pareto_frontier on hand-built experiment frames."""

import numpy as np
import pandas as pd
import pytest

from itslab.scaling import compute_optimal, config_accuracy, difficulty_bins, pareto_frontier

BUDGETS = [1, 2, 4, 8, 16]
ACC = {
    ("best_of_n", "agg=last"): [0.1, 0.2, 0.3, 0.4, 0.5],
    ("beam_search", "width=4"): [0.3, 0.4, 0.5, 0.55, 0.6],
    ("beam_search", "width=16"): [0.0, 0.45, 0.45, 0.5, 0.65],
}


def frame(n_problems: int = 20, seeds=(0, 1)) -> pd.DataFrame:
    """Rows problem × strategy × hyper × budget × seed whose accuracy is exactly ACC."""
    rows = []
    for (strategy, hyper), accs in ACC.items():
        for budget, acc in zip(BUDGETS, accs):
            for i in range(n_problems):
                for seed in seeds:
                    rows.append(
                        dict(
                            problem_id=f"p{i}",
                            strategy=strategy,
                            hyper=hyper,
                            budget=budget,
                            seed=seed,
                            correct=i < round(acc * n_problems),
                            answer="x",
                            difficulty=i % 4,
                            total_tokens=100 * budget * (2 if strategy == "beam_search" else 1),
                            flops=1e9 * budget,
                        )
                    )
    return pd.DataFrame(rows)


def test_config_accuracy_means_seeds_then_problems():
    df = frame()
    acc = config_accuracy(df, cost=["total_tokens"])
    row = acc[(acc.strategy == "best_of_n") & (acc.budget == 16)].iloc[0]
    assert row.accuracy == pytest.approx(0.5) and row.n_problems == 20 and row.total_tokens == 1600
    assert row.se == pytest.approx(np.std([1] * 10 + [0] * 10, ddof=1) / np.sqrt(20))


def test_compute_optimal_picks_best_and_budget_to_match_baseline():
    out = compute_optimal(frame(), by=None, baseline="best_of_n")
    assert out["strategy"].tolist() == ["beam_search"] * 5
    assert out["hyper"].tolist() == ["width=4", "width=16", "width=4", "width=4", "width=16"]
    np.testing.assert_allclose(out["accuracy"], [0.3, 0.45, 0.5, 0.55, 0.65])
    np.testing.assert_allclose(out["baseline_accuracy"], ACC[("best_of_n", "agg=last")])
    # envelope 0.3, 0.45, 0.5, ...: baseline 0.4 at budget 8 is reached between 1 (0.3) and 2 (0.45)
    want = [1, 1, 1, np.exp(np.log(2) * (0.1 / 0.15)), 4]
    np.testing.assert_allclose(out["budget_to_match"], want)
    np.testing.assert_allclose(out["efficiency"], np.array(BUDGETS) / np.array(want))
    assert out["efficiency"].iloc[-1] == pytest.approx(4.0)  # Snell et al.'s "4x" shape


def test_compute_optimal_bins_by_difficulty_and_fixed_baseline_hyper():
    out = compute_optimal(frame(), baseline={"strategy": "beam_search", "hyper": "width=16"})
    assert sorted(out["difficulty_bin"].unique()) == [1, 2, 3, 4] and len(out) == 4 * len(BUDGETS)
    assert np.all(out["accuracy"] >= out["baseline_accuracy"] - 1e-12)
    with pytest.raises(ValueError, match="matches no rows"):
        compute_optimal(frame(), baseline="rebase")
    with pytest.raises(ValueError, match="no column 'level'"):
        compute_optimal(frame(), by="level")


def test_difficulty_bins_quantiles():
    df = pd.DataFrame({"problem_id": [f"p{i}" for i in range(100)], "difficulty": np.linspace(0, 1, 100)})
    bins = difficulty_bins(df, n_bins=5)
    assert bins.value_counts().tolist() == [20] * 5 and bins.iloc[0] == 1 and bins.iloc[-1] == 5


def test_pareto_frontier_on_any_cost_axis():
    out = pareto_frontier(frame(), cost="total_tokens")
    front = out[out.on_frontier]
    assert np.all(np.diff(front["total_tokens"]) > 0) and np.all(np.diff(front["accuracy"]) > 0)
    # every off-frontier config is dominated by some frontier config
    for _, r in out[~out.on_frontier].iterrows():
        assert ((front["total_tokens"] <= r.total_tokens) & (front["accuracy"] >= r.accuracy)).any()
    assert out.loc[out.total_tokens.idxmin(), "on_frontier"]
    per_bin = pareto_frontier(frame(), cost="flops", within="difficulty")
    assert per_bin.groupby("difficulty")["on_frontier"].any().all()
    with pytest.raises(ValueError, match="lacks column"):
        pareto_frontier(frame(), cost="dollars")
