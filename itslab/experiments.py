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

import contextlib
import gc
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, GeneratorWrapper, Verifier
from itslab.rng import problem_rng
from itslab.trace import Result
from itslab.types import Completion, Problem, Request, USAGE_AXES


@dataclass(frozen=True)
class StrategySpec:
    """A strategy name with fixed hyper-parameters and the label rows carry (name by default)."""

    name: str
    hyper: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def key(self) -> str:
        """Row label: `label`, or the name plus its hyper-parameters."""
        if self.label:
            return self.label
        return self.name if not self.hyper else f"{self.name}({', '.join(f'{k}={v}' for k, v in sorted(self.hyper.items()))})"


def as_specs(strategies: Any) -> list[StrategySpec]:
    """Normalise names, (name, hyper) pairs, dicts {name: hyper} or StrategySpecs into a list of specs."""
    if isinstance(strategies, (str, StrategySpec)):
        strategies = [strategies]
    if isinstance(strategies, Mapping):
        strategies = list(strategies.items())
    out = []
    for s in strategies:
        if isinstance(s, StrategySpec):
            out.append(s)
        elif isinstance(s, str):
            out.append(StrategySpec(s))
        elif isinstance(s, (tuple, list)) and len(s) == 2 and isinstance(s[0], str) and isinstance(s[1], Mapping):
            out.append(StrategySpec(s[0], dict(s[1])))
        else:
            raise ValueError(f"cannot read strategy spec {s!r}: give a name, (name, hyper) or StrategySpec")
    return out


# the hyper-parameter that sets a strategy's number of rollouts (``n`` unless listed)
SIZE_PARAM: dict[str, str] = {"particle_filter": "n_particles", "particle_gibbs": "n_particles"}


@dataclass(frozen=True)
class Rollouts:
    """A budget of N rollouts, as papers plot it: N samples for sampling strategies, N beams or
    particles for step-level search (their size hyper-parameter is set to N). The strategy's
    `Budget` then caps completions at N × max_steps × (1 + lookahead); every row still reports the
    actual `Usage`, so token- and FLOP-matched views of the same sweep stay available."""

    n: int

    def __post_init__(self) -> None:
        if int(self.n) != self.n or self.n < 1:
            raise ValueError(f"Rollouts.n must be a positive integer, got {self.n!r}")

    def for_spec(self, spec: "StrategySpec") -> tuple[Budget, dict[str, Any]]:
        """(Budget, hyper) for running `spec` with N rollouts."""
        hyper = dict(spec.hyper)
        hyper[SIZE_PARAM.get(spec.name, "n")] = int(self.n)
        if "beam_width" in hyper:  # a beam cannot be wider than the number of beams
            hyper["beam_width"] = min(int(hyper["beam_width"]), int(self.n))
        steps = int(hyper.get("max_steps", 1)) * (1 + int(hyper.get("lookahead", 0)))
        iters = int(hyper.get("n_iterations", 1))
        return Budget(samples=int(self.n) * steps * iters), hyper


def as_budgets(budgets: Iterable[Budget | Rollouts | int], axis: str = "samples") -> list[Budget | Rollouts]:
    """Budgets as `Budget`s (or `Rollouts`); a bare number is a limit on `axis` (``samples`` unless
    told otherwise; ``axis="rollouts"`` makes it a `Rollouts`)."""
    if axis == "rollouts":
        return [b if isinstance(b, (Budget, Rollouts)) else Rollouts(int(b)) for b in budgets]
    return [b if isinstance(b, (Budget, Rollouts)) else Budget.on(axis, b) for b in budgets]


def _limit(b: Budget | Rollouts) -> float:
    return float(b.n) if isinstance(b, Rollouts) else float(max(b.limits.values()))


def budget_value(b: Budget | Rollouts) -> tuple[str, float]:
    """(axis, limit) of a one-axis budget; for several axes, their names joined by '+' and the first limit."""
    if isinstance(b, Rollouts):
        return "rollouts", float(b.n)
    items = list(b.limits.items())
    return "+".join(a for a, _ in items), float(items[0][1])


class PoolMemo(GeneratorWrapper):
    """Generator wrapper that remembers every request's samples and serves any prefix of them.

    Keyed by (prefix, sampling params, seed); a request for n samples where m ≥ n are known is
    served from memory; m < n generates n afresh (prefix-stable generators give the same first m).
    `calls` counts requests that reached the wrapped generator.
    """

    def __init__(self, generator: Generator) -> None:
        super().__init__(generator)
        self._memo: dict[tuple, list[Completion]] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.generated = 0

    @staticmethod
    def _key(r: Request) -> tuple:
        return (r.prefix, r.max_tokens, r.stop, r.temperature, r.top_p, r.top_k, r.seed, r.logprobs)

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        with self._lock:
            todo = [r for r in requests if len(self._memo.get(self._key(r), ())) < r.n]
        if todo:
            outs = self.inner.generate(todo)
            with self._lock:
                self.calls += len(todo)
                for r, cs in zip(todo, outs):
                    self.generated += len(cs)
                    self._memo[self._key(r)] = list(cs)
        with self._lock:
            return [list(self._memo[self._key(r)][:r.n]) if r.n else [] for r in requests]


class EngineCounter(GeneratorWrapper):
    """Generator wrapper counting what reached the engine: calls, samples, generated tokens, seconds.

    Rows report what each budget *would* have spent (nested budgets share one pool), so summing
    a frame's ``generated_tokens`` over-counts the work done; this counts it once, for throughput.
    """

    def __init__(self, generator: Generator) -> None:
        super().__init__(generator)
        self.calls = self.samples = self.generated_tokens = 0
        self.seconds = 0.0

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        t0 = time.perf_counter()
        outs = self.inner.generate(requests)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.samples += sum(len(o) for o in outs)
        self.generated_tokens += sum(c.n_tokens for o in outs for c in o)
        return outs

    def stats(self) -> dict[str, float]:
        """Counts and engine throughput (generated tokens per second spent inside `generate`)."""
        return {"engine_calls": self.calls, "engine_samples": self.samples,
                "engine_generated_tokens": self.generated_tokens, "engine_seconds": round(self.seconds, 2),
                "engine_tokens_per_s": round(self.generated_tokens / max(self.seconds, 1e-9), 2)}


def _row(res: Result, problem: Problem, spec: StrategySpec, budget: Budget, seed: int) -> dict[str, Any]:
    axis, value = budget_value(budget)
    row: dict[str, Any] = {
        "problem_id": problem.id, "strategy": spec.key, "strategy_name": spec.name,
        "hyper": json.dumps(dict(spec.hyper), sort_keys=True, default=str), "budget_axis": axis, "budget": value,
        "seed": seed, "correct": bool(res.correct) if res.correct is not None else None, "answer": res.answer,
        "gold": problem.answer, "n_candidates": len(res.candidates), "n_steps": len(res.trace),
    }
    row.update(res.usage.as_dict())
    for k in ("difficulty", "subject", "source", "p_correct"):
        if k in problem.meta:
            row[k] = problem.meta[k]
    return row


def run(problems: Sequence[Problem], strategies: Any, budgets: Iterable[Budget | Rollouts | int], seeds: Iterable[int],
        generator: Generator, verifier: Verifier | None = None, *, store: Any = None, executor: str = "local",
        budget_axis: str = "samples", progress: bool = True, keep_results: bool = False,
        batch_units: int = 1, ray_address: str | None = None, ray_workers: int | None = None) -> "Any":
    """Run every (problem, strategy, budget, seed) and return a tidy DataFrame, one row each.

    Columns: problem_id, strategy (label), strategy_name, hyper (JSON), budget_axis, budget, seed,
    correct, answer, gold, n_candidates, n_steps, every `Usage` axis (plus total_tokens, flops) and
    problem meta (difficulty, subject, source, p_correct) where present. Every strategy gets the rng
    `problem_rng(seed, problem.id)`, so rows do not depend on what else ran, and strategies that
    draw the same requests share one pool (common random numbers: paired comparisons, one generation).
    `store` (an `itslab.store.SampleStore`) makes the sweep durable and resumable.
    `batch_units=K` runs K (problem, seed) units at once in threads and merges their generator
    calls into one batch per round (`itslab.batching.Coalescer`), so an in-process engine decodes
    K problems' samples together; rows come back in the same order as with K = 1.
    `executor="ray"` shards (problem, seed) units over a Ray cluster (extra ``ray``), one
    generator per worker: pass `generator` (and `verifier`) as instances to ship, or as zero-arg
    factories (a verifier factory may take the worker's generator) to build them on each worker.
    """
    import pandas as pd

    specs, budgets = as_specs(strategies), as_budgets(budgets, budget_axis)
    seeds = list(seeds)
    if not problems or not specs or not budgets or not seeds:
        raise ValueError("run needs at least one problem, strategy, budget and seed")
    if isinstance(batch_units, bool) or int(batch_units) != batch_units or batch_units < 1:
        raise ValueError(f"batch_units must be a positive integer, got {batch_units!r}")
    if executor == "ray":
        from itslab.executors import run_ray

        rows, results = run_ray(problems, specs, budgets, seeds, generator, verifier, store=store,
                                address=ray_address, n_workers=ray_workers, batch_units=batch_units,
                                progress=progress)
    elif executor == "local":
        units = [(p, s) for p in problems for s in seeds]
        with rare_full_collections():
            rows, results = _run_units(units, specs, budgets, generator, verifier, store=store, progress=progress,
                                       batch_units=int(batch_units))
    else:
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    df = pd.DataFrame(rows)
    if keep_results:
        df.attrs["results"] = results
    return df


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


def _unit(p: Problem, seed: int, specs: Sequence[StrategySpec], order: Sequence[Budget | Rollouts], fns: Mapping,
          gen: Generator, verifier: Verifier | None, tick: Any = None) -> tuple[list[dict], list[Result], int]:
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


def _run_units(units: Sequence[tuple[Problem, int]], specs: Sequence[StrategySpec], budgets: Sequence[Budget | Rollouts],
               generator: Generator, verifier: Verifier | None, *, store: Any = None, progress: bool = False,
               batch_units: int = 1) -> tuple[list[dict], list[Result]]:
    """Rows and results of every (problem, seed) unit, in unit order (the executors' common core)."""
    from itslab import strategies as registry

    gen = generator
    if store is not None:
        from itslab.store import Cached

        gen = Cached(gen, store)
    fns = {s.name: registry.get(s.name) for s in specs}
    order = sorted(budgets, key=lambda b: -_limit(b))
    bar = _bar(len(units) * len(specs) * len(order), progress)
    t0, stats, lock = time.perf_counter(), {"toks": 0, "calls": 0}, threading.Lock()

    def tick(res: Result, unit_calls: int) -> None:
        with lock:
            stats["toks"] += res.usage.generated_tokens
            if bar is not None:
                bar.update(1)
                bar.set_postfix(tok_s=f"{stats['toks'] / max(1e-9, time.perf_counter() - t0):.0f}",
                                gen_calls=stats["calls"] + unit_calls, refresh=False)

    out: list[tuple[list[dict], list[Result]] | None] = [None] * len(units)
    try:
        if batch_units <= 1 or len(units) == 1:
            for i, (p, seed) in enumerate(units):
                rows, res, calls = _unit(p, seed, specs, order, fns, gen, verifier, tick)
                out[i], stats["calls"] = (rows, res), stats["calls"] + calls
        else:
            _run_threads(units, out, stats, min(batch_units, len(units)), specs, order, fns, gen, verifier, tick)
    finally:
        if bar is not None:
            bar.close()
    return [r for o in out for r in o[0]], [r for o in out for r in o[1]]


def _run_threads(units, out, stats, k, specs, order, fns, gen, verifier, tick) -> None:
    """Run units in `k` threads whose generator calls are merged into one batch per round."""
    from itslab.batching import Coalescer

    shared = Coalescer(gen, k)
    queue, lock, errors = list(enumerate(units))[::-1], threading.Lock(), []

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
        except BaseException as e:  # stop the others taking new units; re-raised below
            with lock:
                errors.append(e)
        finally:
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

    # disable=None: silent when not attached to a terminal or notebook (CI logs stay readable)
    return tqdm(total=total, desc="itslab", unit="run", leave=False, mininterval=0.5, disable=None)


def accuracy_table(df: "Any", *, by: Sequence[str] = ("strategy", "budget")) -> "Any":
    """Accuracy (seed-mean per problem, then over problems), its SE and Wilson interval, and mean
    usage per (strategy, budget): `itslab.scaling.config_accuracy`, the one accuracy table."""
    from itslab.scaling import config_accuracy

    usage = [c for c in ("generated_tokens", "samples", "verifier_calls") if c in df.columns]
    return config_accuracy(df, group=list(by), cost=usage)
