"""The runner: problems × strategies × budgets × seeds → one tidy DataFrame, and the files a run leaves.

One module per concept:

- `runner`: `run`, the entry point (`itslab.experiments.run`), and `accuracy_table`;
- `grid`: what is swept — `StrategySpec` and budgets (`Budget` or N `Rollouts`);
- `units`: the core every executor shares (one (problem, seed) unit over every strategy and budget);
- `pool_memo`: the generator wrappers of a sweep (`PoolMemo`, `EngineCounter`);
- `batching`: cross-problem batching (`Coalescer`), `executors`: Ray;
- `config`: the YAML run config of `itslab run` (`load`, `parse`, `run_config`);
- `rundir`: run directories (results.parquet + manifest.json) and the source state of a run.
"""

from __future__ import annotations

from itslab.experiments.grid import Rollouts, StrategySpec, as_budgets, as_specs, budget_value
from itslab.experiments.pool_memo import EngineCounter, PoolMemo
from itslab.experiments.runner import accuracy_table, run
from itslab.experiments.units import rare_full_collections

__all__ = [
    "EngineCounter",
    "PoolMemo",
    "Rollouts",
    "StrategySpec",
    "accuracy_table",
    "as_budgets",
    "as_specs",
    "budget_value",
    "rare_full_collections",
    "run",
]
