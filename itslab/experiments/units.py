"""The core every executor shares: run (problem, seed) units, each over every strategy and budget, into rows.

A unit runs its budgets largest first, so smaller ones are served from the pool the largest drew
(`PoolMemo`); `batch_units=K` runs K units in threads whose generator calls are merged into one
engine batch per round (`itslab.experiments.batching.Coalescer`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
import time
from typing import Any, Iterator, Mapping, Sequence

from itslab.budget import Budget
from itslab.experiments.grid import Rollouts, StrategySpec, _limit, budget_value
from itslab.experiments.pool_memo import PoolMemo
from itslab.protocols import Generator, Verifier
from itslab.rng import problem_rng
from itslab.trace import Result
from itslab.types import Problem


def _row(res: Result, problem: Problem, spec: StrategySpec, budget: Budget | Rollouts, seed: int) -> dict[str, Any]:
    axis, value = budget_value(budget)
    row: dict[str, Any] = {
        "problem_id": problem.id,
        "strategy": spec.key,
        "strategy_name": spec.name,
        "hyper": json.dumps(dict(spec.hyper), sort_keys=True, default=str),
        "budget_axis": axis,
        "budget": value,
        "seed": seed,
        "correct": bool(res.correct) if res.correct is not None else None,
        "answer": res.answer,
        "gold": problem.answer,
        "n_candidates": len(res.candidates),
        "n_steps": len(res.trace),
    }
    row.update(res.usage.as_dict())
    for k in ("difficulty", "subject", "source", "p_correct"):
        if k in problem.meta:
            row[k] = problem.meta[k]
    return row


@contextlib.contextmanager
def rare_full_collections(threshold2: int = 1000) -> Iterator[None]:
    """Run with CPython's full (generation-2) garbage collections made rare, then restore them.

    A sweep allocates millions of small frozen records that mostly live until its end; with the
    default thresholds every 10th generation-1 pass re-traverses all of them. Measured on the
    stepwise benchmark (40 problems × 11 strategies × 7 budgets, one process): 20.6 s CPU with the
    defaults, 17.1 s with this (memory is still reclaimed by the young generations and at exit
    from the context).
    """
    old = gc.get_threshold()
    gc.set_threshold(old[0], old[1], max(old[2], threshold2))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _unit(
    p: Problem,
    seed: int,
    specs: Sequence[StrategySpec],
    order: Sequence[Budget | Rollouts],
    fns: Mapping,
    gen: Generator,
    verifier: Verifier | None,
    tick: Any = None,
) -> tuple[list[dict], list[Result], int]:
    """Rows and results of one (problem, seed) unit, largest budget first (smaller ones are served
    from the pool it drew), and how many requests reached `gen`."""
    memo = PoolMemo(gen)  # one pool per (problem, seed): memory stays bounded by one unit
    rows, results = [], []
    for spec in specs:
        for b in order:
            budget, hyper = b.for_spec(spec) if isinstance(b, Rollouts) else (b, dict(spec.hyper))
            res = fns[spec.name](p, memo, verifier, budget, problem_rng(seed, p.id), **hyper)
            rows.append(_row(res, p, spec, b, seed))
            results.append(res)
            if tick is not None:
                tick(res, memo.calls)
    return rows, results, memo.calls


def _run_units(
    units: Sequence[tuple[Problem, int]],
    specs: Sequence[StrategySpec],
    budgets: Sequence[Budget | Rollouts],
    generator: Generator,
    verifier: Verifier | None,
    *,
    store: Any = None,
    progress: bool = False,
    batch_units: int = 1,
    on_rows: Any = None,
) -> tuple[list[dict], list[Result]]:
    """Rows and results of every (problem, seed) unit, in unit order (the executors' common core);
    `on_rows(rows)` is called with each unit's rows as it finishes."""
    from itslab import strategies as registry
    from itslab.experiments.pool_memo import EngineCounter

    # tokens/s on the progress bar counts what the engine generated, not the rows' usage (nested
    # budgets and strategies sharing a pool would count the same samples many times)
    gen = counter = EngineCounter(generator)
    if store is not None:
        from itslab.generators.store import Cached

        gen = Cached(gen, store)
    fns = {s.name: registry.get(s.name) for s in specs}
    order = sorted(budgets, key=lambda b: -_limit(b))
    bar = _bar(len(units) * len(specs) * len(order), progress)
    t0, stats, lock = time.perf_counter(), {"calls": 0}, threading.Lock()

    def tick(res: Result, unit_calls: int) -> None:
        with lock:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    tokens=counter.generated_tokens,
                    tok_s=f"{counter.generated_tokens / max(1e-9, time.perf_counter() - t0):.1f}",
                    gen_calls=stats["calls"] + unit_calls,
                    refresh=False,
                )

    out: list[tuple[list[dict], list[Result]] | None] = [None] * len(units)
    try:
        if batch_units <= 1 or len(units) == 1:
            for i, (p, seed) in enumerate(units):
                rows, res, calls = _unit(p, seed, specs, order, fns, gen, verifier, tick)
                out[i], stats["calls"] = (rows, res), stats["calls"] + calls
                if on_rows is not None:
                    on_rows(rows)
        else:
            k = min(batch_units, len(units))
            _run_threads(units, out, stats, k, specs, order, fns, gen, verifier, tick, on_rows)
    finally:
        if bar is not None:
            bar.close()
    done = [o for o in out if o is not None]
    assert len(done) == len(out)  # every unit ran (an error would have been raised above)
    return [r for o in done for r in o[0]], [r for o in done for r in o[1]]


def _run_threads(units, out, stats, k, specs, order, fns, gen, verifier, tick, on_rows=None) -> None:
    """Run units in `k` threads whose generator calls share the engine's batch: called concurrently
    where the engine batches continuously (``admits_concurrent_calls``, the in-process llama.cpp
    engine), else merged into one batch per round by a `Coalescer`."""
    from itslab.experiments.batching import Coalescer

    shared = gen if getattr(gen, "admits_concurrent_calls", False) else Coalescer(gen, k)
    queue, lock = list(enumerate(units))[::-1], threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    i, (p, seed) = queue.pop()
                rows, res, calls = _unit(p, seed, specs, order, fns, shared, verifier, tick)
                with lock:
                    out[i], stats["calls"] = (rows, res), stats["calls"] + calls
                    if on_rows is not None:
                        on_rows(rows)
        except BaseException as e:  # stop the others taking new units; re-raised below
            with lock:
                errors.append(e)
        finally:
            if isinstance(shared, Coalescer):
                shared.leave()

    threads = [threading.Thread(target=worker, name=f"itslab-unit-{j}", daemon=True) for j in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _bar(total: int, on: bool):
    if not on:
        return None
    from tqdm.auto import tqdm

    from itslab.settings import progress_disable

    # by default silent when not attached to a terminal or notebook (CI logs stay readable);
    # ITSLAB_PROGRESS=1 (make demo) shows it anyway and leaves its last line: the sweep's tokens/s
    disable = progress_disable()
    return tqdm(total=total, desc="itslab", unit="run", leave=disable is False, mininterval=0.5, disable=disable)
