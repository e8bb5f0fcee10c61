"""`ReplayGenerator`: serve recorded samples from a `SampleStore`, and nothing else.

Re-runs any analysis on recorded real generations exactly, with no model at hand (docs/architecture.md,
"Layers"). A request for a sample that was never recorded fails with `MissingSample`, naming
the model, prefix, parameters, seed and index, rather than silently generating something else.

>>> import tempfile, os
>>> from itslab.generators.simulated import make_suite
>>> from itslab.generators.common import empty_completions, validate_requests
from itslab.generators.store import Cached, SampleStore
>>> problems, sim = make_suite(1, seed=0)
>>> store = SampleStore(os.path.join(tempfile.mkdtemp(), "bank.db"))
>>> rec = Cached(sim, store).generate([Request(problems[0].prompt, n=2, seed=3)])[0]
>>> rep = ReplayGenerator(store, sim.model_id).generate([Request(problems[0].prompt, n=2, seed=3)])[0]
>>> [c.text for c in rep] == [c.text for c in rec]
True
"""

from __future__ import annotations

from typing import Sequence

from itslab.generators.common import empty_completions, validate_requests
from itslab.generators.store import MissingSample, SampleStore, params_key, prefix_hash
from itslab.types import Completion, Request


class ReplayGenerator:
    """A `Generator` backed only by a `SampleStore`: recorded samples of `model_id`, exactly.

    `n_params` is what FLOPs estimates should assume for the recorded model (0 if unknown).
    `n_calls` counts `generate` calls, like `Cached`.
    """

    def __init__(self, store: SampleStore, model_id: str, *, n_params: float = 0.0) -> None:
        self.store, self.model_id, self.n_params = store, model_id, float(n_params)
        self.n_calls = 0

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """The recorded samples ``0..n-1`` of each request; `MissingSample` if any is absent (a ``max_tokens == 0``
        request gets the shared empty samples)."""
        validate_requests(requests)
        self.n_calls += 1
        out = []
        for r in requests:
            if r.max_tokens == 0:  # nothing was generated, so nothing needs to have been recorded
                out.append(empty_completions(r))
                continue
            got = self.store.get(self.model_id, r)
            missing = [j for j in range(r.n) if j not in got]
            if missing:
                raise MissingSample(self._explain(r, missing, len(got)))
            out.append([got[j] for j in range(r.n)])
        return out

    def _explain(self, r: Request, missing: list[int], n_have: int) -> str:
        head = (
            f"ReplayGenerator({self.model_id!r}): no recorded sample {missing[0]} "
            f"({len(missing)} of n={r.n} missing, {n_have} present) for prefix {r.prefix[:80]!r}"
            f"{'...' if len(r.prefix) > 80 else ''} (blake2b {prefix_hash(r.prefix)[:16]}), "
            f"params {params_key(r)}, seed {r.seed}"
        )
        total = self.store.count(self.model_id)
        if total == 0:
            return (
                head
                + f"; the store {self.store.path!r} has no samples of this model (it has: {self.store.model_ids()})"
            )
        return head + f"; the store {self.store.path!r} has {total} samples of this model under other keys"

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __repr__(self) -> str:
        return f"ReplayGenerator({self.store!r}, {self.model_id!r})"
