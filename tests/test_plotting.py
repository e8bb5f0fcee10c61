"""Every plotting function renders to a PNG with the Agg backend, with the expected artists."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from itslab import plotting
from itslab.scaling import fit, pareto_frontier, pass_at_k  # noqa: E402
from itslab.trace import Result, StepRecord  # noqa: E402
from itslab.types import Usage  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    plotting.set_style()
    yield
    plt.close("all")


def render(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)  # low dpi: the test checks rendering, not looks
    assert path.stat().st_size > 1000
    return path


def flags(seed=0, problems=100, n=64):
    rng = np.random.default_rng(seed)
    return rng.random((problems, n)) < rng.beta(0.3, 2.0, (problems, 1))


def experiment_frame():
    rng = np.random.default_rng(1)
    rows = []
    for strategy, base in (("best_of_n", 0.3), ("beam_search", 0.4)):
        for budget in (1, 4, 16):
            for i in range(30):
                p = min(0.95, base + 0.1 * np.log2(budget) - 0.01 * i)
                rows.append(
                    dict(
                        problem_id=f"p{i}",
                        strategy=strategy,
                        hyper="",
                        budget=budget,
                        seed=0,
                        correct=bool(rng.random() < p),
                        total_tokens=100.0 * budget * (1 + (strategy == "beam_search")),
                    )
                )
    return pd.DataFrame(rows)


def test_scaling_curve_with_ci_bands_and_fitted_law(tmp_path):
    curve = pass_at_k(flags(), rng=np.random.default_rng(0), n_boot=100)
    f = fit("exp_power_law", curve["k"], curve["value"])
    fig, ax = plotting.scaling_curve(curve, fit={"Brown et al. law": f}, extrapolate_to=1000)
    assert ax.get_xscale() == "log" and len(ax.lines) == 2 and len(ax.collections) == 1
    assert ax.lines[1].get_xdata().max() == pytest.approx(1000)
    render(fig, tmp_path, "scaling_curve")
    with pytest.raises(ValueError, match="needs columns"):
        plotting.scaling_curve(pd.DataFrame({"x": [1]}))


def test_coverage_from_matrices_and_neglog(tmp_path):
    fig, ax = plotting.coverage({"model A": flags(0), "model B": flags(1)})
    assert len(ax.lines) == 2 and ax.get_legend() is not None
    render(fig, tmp_path, "coverage")
    fig, ax = plotting.coverage(pass_at_k(flags()), neglog=True)
    assert ax.get_yscale() == "log"
    render(fig, tmp_path, "coverage_neglog")


def test_strategy_comparison_from_experiment_frame(tmp_path):
    fig, ax = plotting.strategy_comparison(experiment_frame())
    assert len(ax.lines) == 2 and ax.get_ylabel() == "accuracy"
    render(fig, tmp_path, "strategy_comparison")


def test_frontier_from_raw_and_pareto_frames(tmp_path):
    df = experiment_frame()
    fig, ax = plotting.frontier(df, cost="total_tokens", acc="accuracy")
    render(fig, tmp_path, "frontier")
    fig, ax = plotting.frontier(pareto_frontier(df, cost="total_tokens"))
    assert ax.get_xlabel() == "total_tokens"
    render(fig, tmp_path, "frontier2")


def test_calibration_from_frame_and_arrays(tmp_path):
    rng = np.random.default_rng(2)
    s = rng.random(2000)
    c = rng.random(2000) < s  # calibrated by construction: ECE small
    fig, ax = plotting.calibration(pd.DataFrame({"score": s, "correct": c}))
    ece = float(ax.get_title().split("=")[1])
    assert ece < 0.05
    render(fig, tmp_path, "calibration")
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        plotting.calibration(np.array([1.5]), np.array([True]))


def genealogy_infos():
    """Three steps of 4 particles; itslab.strategies.smc convention (weights over the previous pool)."""
    return [
        {"ancestors": (0, 1, 2, 3), "weights": (0.25,) * 4},
        {"ancestors": (0, 0, 2, 3), "weights": (0.4, 0.1, 0.3, 0.2)},
        {"ancestors": (1, 1, 0, 4), "weights": (0.1, 0.6, 0.2, 0.05, 0.05)},
    ]  # 4 = a reference


def test_particle_genealogy_from_info_dicts_and_result(tmp_path):
    fig, ax = plotting.particle_genealogy(genealogy_infos())
    assert len(ax.lines) == 8  # 4 edges between each pair of consecutive steps
    render(fig, tmp_path, "genealogy")
    trace = [StepRecord(0, "propagate", Usage(samples=4))] + [
        StepRecord(i + 1, "smc", Usage(), info) for i, info in enumerate(genealogy_infos())
    ]
    res = Result(
        problem_id="p",
        strategy="particle_filter",
        answer="1",
        candidates=(),
        trace=tuple(trace),
        usage=Usage(samples=4),
    )
    fig, ax = plotting.particle_genealogy(res, weights_for="current")
    render(fig, tmp_path, "genealogy_result")
    with pytest.raises(ValueError, match="do not index"):
        plotting.particle_genealogy([{"weights": (1.0,)}, {"ancestors": (3,), "weights": (1.0,)}])
    with pytest.raises(ValueError, match="no step carries"):
        plotting.particle_genealogy([{"ess": 1.0}])


def test_strategy_heatmap_marks_winners_and_blank_cells(tmp_path):
    table = pd.DataFrame(
        {
            "task": ["t1", "t1", "t2"],
            "config": ["a", "b", "a"],
            "accuracy": [0.4, 0.7, 0.9],
            "winner": [False, True, True],
        }
    )
    fig, ax = plotting.strategy_heatmap(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]  # ordered by mean over the tasks run
    assert any(t.get_text() == "n/a" for t in ax.texts)
    assert sum(isinstance(p, plt.Rectangle) and p.get_linewidth() == 2 for p in ax.patches) == 2
    render(fig, tmp_path, "heatmap")
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.strategy_heatmap(table.drop(columns="task"))
