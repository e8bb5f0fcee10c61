"""Strategy × task tables: the cross-fitted all-rounder and largest-drop tests on hand-made sweep frames."""

import numpy as np
import pandas as pd

from itslab.scaling import task_grid


def frame(acc):
    """A sweep-like frame from {(task, config): per-problem correctness list}, budget 8."""
    rows = []
    for (task, config), flags in acc.items():
        for i, c in enumerate(flags):
            rows.append({"task": task, "config": config, "strategy_name": config, "problem_id": f"{task}/{i}",
                         "budget": 8, "correct": bool(c), "generated_tokens": 10})  # fmt: skip
    return pd.DataFrame(rows)


def test_all_rounder_finds_a_loss_only_where_there_is_one():
    n = 60
    split = frame({("t1", "a"): [1] * n, ("t1", "b"): [0] * n, ("t2", "a"): [0] * n, ("t2", "b"): [1] * n})
    r = task_grid.all_rounder(split, 8, np.random.default_rng(0))
    assert set(r["config"]) == {"a", "b"} and (r["gap"] == 1.0).all() and np.isinf(r["z"]).all()
    assert r.set_index("config").loc["a", "task"] == "t2"
    dominant = frame({("t1", "a"): [1] * n, ("t1", "b"): [0] * n, ("t2", "a"): [1] * n, ("t2", "b"): [0] * n})
    r = task_grid.all_rounder(dominant, 8, np.random.default_rng(0)).set_index("config")
    assert r.loc["a", "gap"] == -1.0 and r.loc["b", "gap"] == 1.0


def test_largest_drop_is_measured_on_the_other_half():
    n = 40
    rows = frame({("t", "a"): [1] * n, ("t", "b"): [1, 0] * (n // 2)})
    rows = pd.concat([rows, frame({("t", "a"): [1] * n, ("t", "b"): [1] * n}).assign(budget=2)])
    r = task_grid.largest_drop(rows, 2, 8, np.random.default_rng(0))
    assert r.loc[0, "config"] == "b" and 0.2 < r.loc[0, "drop"] < 0.8 and r.loc[0, "se"] > 0
