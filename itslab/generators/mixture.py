"""A generator that draws from several configurations (model × temperature) by an allocation.

The sampler of Zhang et al. 2024 (OSCA, arXiv:2410.22480) once the allocation is learned
(`itslab.scaling.config_allocation`): of every ``sum(counts)`` samples a request asks for,
configuration c serves ``counts[c]``, interleaved by smooth weighted round robin (each
configuration's share stays as even as possible along the sequence). Sample j's configuration
depends only on j, and configuration c's m-th sample is its generator's sample m of the same
request, so the first k of n samples do not depend on n (the generator contract).

Each sample is tagged with its configuration (``meta["config"]``) and model
(``meta["model_id"]``), and `usage_of` charges it to its own model's `CostModel` (FLOPs from that
model's size, price per million tokens): a strategy's ledger (`itslab.strategies.base.Run`) asks
the generator for `usage_of` when it has one.

>>> from itslab.generators.simulated import make_suite
>>> from itslab.types import Request
>>> problems, gen = make_suite(1, seed=0)
>>> mix = MixtureGenerator([MixtureConfig("a", gen), MixtureConfig("b", gen, temperature=0.3)], [1, 3])
>>> [c.meta["config"] for c in mix.generate([Request(problems[0].prompt, n=4, seed=1)])[0]]
['b', 'a', 'b', 'b']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from itslab.budget import CostModel
from itslab.generators.common import empty_completions, validate_requests
from itslab.types import Completion, Request, Usage


@dataclass(frozen=True)
class MixtureConfig:
    """One configuration of a mixture: a generator, an optional temperature that overrides the
    request's, and the cost model its samples are charged at (default: 2N FLOPs per token, no price)."""

    name: str
    generator: Any
    temperature: float | None = None
    cost: CostModel | None = None


def schedule(counts: Sequence[int], n: int) -> list[int]:
    """The configuration of each of the first `n` samples: smooth weighted round robin over `counts`
    (every ``sum(counts)`` samples hold exactly ``counts[c]`` of configuration c).

    >>> schedule([1, 3], 8)
    [1, 0, 1, 1, 1, 0, 1, 1]
    """
    total = sum(counts)
    current = [0] * len(counts)
    out = []
    for _ in range(n):
        current = [cur + w for cur, w in zip(current, counts)]
        c = max(range(len(counts)), key=lambda i: (current[i], -i))  # ties go to the first
        current[c] -= total
        out.append(c)
    return out


class MixtureGenerator:
    """Draws a request's samples from several configurations in the proportions `counts`."""

    def __init__(self, configs: Sequence[MixtureConfig], counts: Sequence[int]) -> None:
        counts = [int(c) for c in counts]
        if len(configs) != len(counts) or not configs:
            raise ValueError(f"MixtureGenerator: one count per configuration, got {len(configs)} and {len(counts)}")
        if any(c < 0 for c in counts) or sum(counts) == 0:
            raise ValueError(f"MixtureGenerator: counts must be >= 0 and not all 0, got {counts}")
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError(f"MixtureGenerator: configuration names must be distinct, got {names}")
        self.configs, self.counts = tuple(configs), tuple(counts)
        used = [c for c, k in zip(configs, counts) if k > 0]
        self.model_id = "mixture(" + ", ".join(f"{c.name}:{k}" for c, k in zip(configs, counts) if k) + ")"
        # worst-case FLOPs checks use the largest model in the mix
        self.n_params = max(float(getattr(c.generator, "n_params", 0.0) or 0.0) for c in used)
        self._cost = {c.name: c.cost or CostModel(generator_params=float(c.generator.n_params or 0.0)) for c in configs}

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        validate_requests(requests)
        plans = [schedule(self.counts, r.n) for r in requests]
        out: list[list[Completion]] = [[] for _ in requests]
        slots: list[list[Completion | None]] = [[None] * r.n for r in requests]
        for c, cfg in enumerate(self.configs):
            asks = [(i, [j for j, x in enumerate(plan) if x == c]) for i, plan in enumerate(plans)]
            asks = [(i, js) for i, js in asks if js and requests[i].max_tokens > 0]
            if not asks:
                continue
            subs = [self._sub(requests[i], cfg, len(js)) for i, js in asks]
            for (i, js), got in zip(asks, cfg.generator.generate(subs)):
                model = str(getattr(cfg.generator, "model_id", cfg.name))
                for j, comp in zip(js, got):
                    meta = {**comp.meta, "index": j, "config": cfg.name, "model_id": model}
                    slots[i][j] = dataclasses.replace(comp, meta=meta)
        for i, r in enumerate(requests):
            out[i] = empty_completions(r) if r.max_tokens == 0 else [c for c in slots[i] if c is not None]
        return out

    @staticmethod
    def _sub(r: Request, cfg: MixtureConfig, n: int) -> Request:
        t = r.temperature if cfg.temperature is None else cfg.temperature
        return dataclasses.replace(r, n=n, temperature=t)

    def usage_of(self, completions: Sequence[Completion]) -> Usage:
        """What `completions` cost, each charged to its own configuration's model (FLOPs and price)."""
        total = Usage()
        for comp in completions:
            name = comp.meta.get("config")
            cost = self._cost.get(name) if name is not None else None
            total = total + (cost or CostModel(generator_params=self.n_params)).generator_usage([comp])
        return total

    def count_tokens(self, text: str) -> int:
        """The largest count among the configurations' tokenizers (worst case for budget checks)."""
        from itslab.generators.common import count_tokens

        return max(count_tokens(c.generator, text) for c in self.configs)
