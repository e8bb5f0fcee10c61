"""Scale-out executors for `itslab.experiments.run`.

`run_ray` shards (problem, seed) units over a Ray cluster (Moritz et al. 2018, "Ray: A
Distributed Framework for Emerging AI Applications"): one actor per worker holds one generator
and one verifier for its whole life (an in-process engine loads its weights once per worker, not
once per unit) and runs chunks of units with the same core the local executor uses, so for the
same seeds the frame is identical to `executor="local"`: every unit's rng is
`problem_rng(seed, problem.id)` and rows are reassembled in unit order.

Ray is imported only here and only when called (extra ``ray``).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from itslab.protocols import Generator, Verifier


def _is_factory(obj: Any, method: str) -> bool:
    return obj is not None and callable(obj) and not hasattr(obj, method)


class _Worker:
    """One Ray actor: builds (or receives) its generator and verifier once, then runs chunks."""

    def __init__(self, generator: Any, verifier: Any, store_path: str | None) -> None:
        self.generator = generator() if _is_factory(generator, "generate") else generator
        self.verifier = verifier(self.generator) if _is_factory(verifier, "score") else verifier
        self.store = None
        if store_path is not None:
            from itslab.generators.store import SampleStore

            self.store = SampleStore(store_path)

    def run(self, units: list, specs: list, budgets: list, batch_units: int) -> tuple[list, list]:
        from itslab.experiments.units import _run_units

        return _run_units(
            units, specs, budgets, self.generator, self.verifier, store=self.store, batch_units=batch_units
        )


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("executor='ray' needs Ray: pip install 'itslab[ray]'") from e
    return ray


def run_ray(
    problems: Sequence[Any],
    specs: Sequence[Any],
    budgets: Sequence[Any],
    seeds: Sequence[int],
    generator: Generator | Callable[[], Generator],
    verifier: Verifier | Callable[[Any], Verifier] | None = None,
    *,
    store: Any = None,
    address: str | None = None,
    n_workers: int | None = None,
    chunk: int | None = None,
    batch_units: int = 1,
    progress: bool = True,
) -> tuple[list[dict], list[Any]]:
    """`experiments.run`'s rows and results over Ray, in unit order, computed by `n_workers` actors.

    `generator` is an instance (pickled once into Ray's object store, one copy per worker) or a
    zero-argument factory run on each worker (use it for in-process engines: weights load there,
    not in the driver). `verifier` is an instance, None, or a factory taking the worker's generator
    (e.g. ``lambda g: SelfEvaluation(g)``). With `store` (a `SampleStore`), every worker opens the
    same SQLite file; on a multi-node cluster its path must be on a shared file system. Ray is
    started locally (or joins `address`) unless already initialised; `n_workers` defaults to the
    cluster's CPU count, each actor reserving one CPU. Units go out in chunks of `chunk`
    (default: about four chunks per worker, for load balance).
    """
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    units = [(p, s) for p in problems for s in seeds]
    n = max(1, min(int(n_workers or ray.cluster_resources().get("CPU", 1)), len(units)))
    size = max(1, int(chunk or math.ceil(len(units) / (4 * n))))
    chunks = [units[i : i + size] for i in range(0, len(units), size)]
    actor_cls = ray.remote(num_cpus=1)(_Worker)
    gen_ref = generator if _is_factory(generator, "generate") else ray.put(generator)
    ver_ref = verifier if verifier is None or _is_factory(verifier, "score") else ray.put(verifier)
    actors = [actor_cls.remote(gen_ref, ver_ref, getattr(store, "path", None)) for _ in range(n)]
    pool = ray.util.ActorPool(actors)
    specs, budgets = list(specs), list(budgets)
    rows: list = []
    results: list = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        from itslab.settings import progress_disable

        bar = tqdm(total=len(units), desc="itslab[ray]", unit="unit", leave=False, disable=progress_disable())
    try:
        # map keeps submission order, so rows come back in unit order whatever finished first
        for c, (r, res) in zip(chunks, pool.map(lambda a, c: a.run.remote(c, specs, budgets, batch_units), chunks)):
            rows.extend(r)
            results.extend(res)
            if bar is not None:
                bar.update(len(c))
    finally:
        if bar is not None:
            bar.close()
        for a in actors:
            ray.kill(a)
    return rows, results
