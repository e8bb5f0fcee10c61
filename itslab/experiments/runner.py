"""Sweeps: problems × strategies × budgets × seeds → one tidy DataFrame.

`run` evaluates the cartesian product. Nested budgets share one sample pool: every strategy's
rng depends only on (seed, problem, strategy label), never on the budget, and generators give
sample j of a request independently of n, so the budget-b run asks for a prefix of what the
largest budget asked for; a per-sweep memo serves it without generating again (a 1…64
best-of-N sweep costs the generations of budget 64 alone). Usage in each row is what that
budget's run *would* have spent, so curves stay honest while the sweep is cheap.

With a `SampleStore`, generations persist: an interrupted sweep resumes without regenerating,
and a finished one re-runs from the store.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable, Sequence

from itslab.budget import Budget
from itslab.experiments.grid import Rollouts, as_budgets, as_specs
from itslab.experiments.units import _run_units, rare_full_collections
from itslab.protocols import Generator, Verifier
from itslab.types import Problem


def run(
    problems: Sequence[Problem],
    strategies: Any,
    budgets: Iterable[Budget | Rollouts | int | float],
    seeds: Iterable[int],
    generator: Generator,
    verifier: Verifier | None = None,
    *,
    store: Any = None,
    executor: str = "local",
    budget_axis: str = "samples",
    progress: bool = True,
    keep_results: bool = False,
    batch_units: int = 1,
    ray_address: str | None = None,
    ray_workers: int | None = None,
    on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
) -> "Any":
    """Run every (problem, strategy, budget, seed) and return a tidy DataFrame, one row each.

    Columns: problem_id, strategy (label), strategy_name, hyper (JSON), budget_axis, budget, seed,
    correct, answer, gold, n_candidates, n_steps, every `Usage` axis (plus total_tokens, flops) and
    problem meta (difficulty, subject, source, p_correct) where present. Every strategy gets the rng
    `problem_rng(seed, problem.id)`, so rows do not depend on what else ran, and strategies that
    draw the same requests share one pool (common random numbers: paired comparisons, one generation).
    `store` (an `itslab.generators.store.SampleStore`) makes the sweep durable and resumable.
    `batch_units=K` runs K (problem, seed) units at once in threads and merges their generator
    calls into one batch per round (`itslab.experiments.batching.Coalescer`), so an in-process engine decodes
    K problems' samples together; rows come back in the same order as with K = 1.
    `executor="ray"` shards (problem, seed) units over a Ray cluster (extra ``ray``), one
    generator per worker: pass `generator` (and `verifier`) as instances to ship, or as zero-arg
    factories (a verifier factory may take the worker's generator) to build them on each worker.
    `on_rows(rows)` (local executor) receives each finished (problem, seed) unit's rows as the sweep
    goes, e.g. to write partial results (`itslab run` does).
    """
    import pandas as pd

    specs, budgets = as_specs(strategies), as_budgets(budgets, budget_axis)
    seeds = list(seeds)
    if not problems or not specs or not budgets or not seeds:
        raise ValueError("run needs at least one problem, strategy, budget and seed")
    # duplicates would give duplicate rows that silently weigh twice in every table
    for what, keys in (
        ("strategies", [s.key for s in specs]),
        ("budgets", [repr(b) for b in budgets]),
        ("seeds", [int(s) for s in seeds]),
        ("problem ids", [p.id for p in problems]),
    ):
        dup = sorted(str(k) for k, c in Counter(keys).items() if c > 1)
        if dup:
            raise ValueError(f"run: duplicated {what}: {', '.join(dup[:5])}")
    if isinstance(batch_units, bool) or int(batch_units) != batch_units or batch_units < 1:
        raise ValueError(f"batch_units must be a positive integer, got {batch_units!r}")
    if executor == "ray":
        from itslab.experiments.executors import run_ray

        rows, results = run_ray(
            problems,
            specs,
            budgets,
            seeds,
            generator,
            verifier,
            store=store,
            address=ray_address,
            n_workers=ray_workers,
            batch_units=batch_units,
            progress=progress,
        )
    elif executor == "local":
        units = [(p, s) for p in problems for s in seeds]
        with rare_full_collections():
            rows, results = _run_units(
                units,
                specs,
                budgets,
                generator,
                verifier,
                store=store,
                progress=progress,
                batch_units=int(batch_units),
                on_rows=on_rows,
            )
    else:
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    df = pd.DataFrame(rows)
    if keep_results:
        df.attrs["results"] = results
    return df


def accuracy_table(df: "Any", *, by: Sequence[str] = ("strategy", "budget")) -> "Any":
    """Accuracy (seed-mean per problem, then over problems), its SE and Wilson interval, and mean
    usage per (strategy, budget): `itslab.scaling.config_accuracy`, the one accuracy table."""
    from itslab.scaling import config_accuracy

    usage = [c for c in ("generated_tokens", "samples", "verifier_calls") if c in df.columns]
    return config_accuracy(df, group=list(by), cost=usage)
