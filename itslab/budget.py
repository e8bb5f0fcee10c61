"""Budgets, the metering of spent compute, and cost models (FLOPs, price).

A `Budget` is a frozen set of limits on any `Usage` axis. A `Meter` is the single mutable
counter a strategy owns while it runs: it refuses a charge that would take usage past the
budget, so no strategy can overspend, and it answers "how many samples of at most T tokens can
I still afford?" before the strategy asks a generator for them.

>>> m = Meter(Budget(samples=4))
>>> m.charge(Usage(samples=3)); m.affordable_samples()
1
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.types import USAGE_AXES, Completion, Usage

# wall time is measured but not a budget axis: it is not deterministic, so a limit on it could
# not be checked before spending
BUDGET_AXES: tuple[str, ...] = tuple(a for a in USAGE_AXES if a != "wall_time") + ("total_tokens", "flops")


class BudgetExceeded(RuntimeError):
    """Raised by `Meter.charge` when a charge would take usage past the budget."""


class BudgetTooSmall(ValueError):
    """A budget that cannot buy one unit of a strategy (its first step): an error, never a silent 0.

    The message names the strategy, the budget and the minimum the first step needs on each
    limited axis; raise the budget, or shrink the strategy (fewer beams or particles, smaller
    ``max_tokens``), or sweep on ``rollouts``, which sizes the strategy to the budget. `need` (a
    `Usage`) and `budget` say exactly what did not fit.
    """

    def __init__(self, message: str, *, need: Any = None, budget: "Budget | None" = None) -> None:
        super().__init__(message)
        self.need, self.budget = need, budget


@dataclass(frozen=True)
class Budget:
    """Limits on compute, on any axis of `Usage`; ``None`` means unlimited on that axis.

    ``Budget(samples=16)`` is the classic best-of-16 budget; ``Budget(generated_tokens=4096)``
    or ``Budget(flops=1e12)`` make strategies comparable at matched compute (Snell et al. 2024).
    """

    samples: int | None = None
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    generated_tokens: int | None = None
    total_tokens: int | None = None
    verifier_calls: int | None = None
    verifier_tokens: int | None = None
    generator_flops: float | None = None
    verifier_flops: float | None = None
    flops: float | None = None
    price: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or (v is not None and not isinstance(v, (int, float, np.integer, np.floating))):
                raise ValueError(f"Budget.{f.name} must be a non-negative number or None, got {v!r}")
            if v is not None and (v < 0 or math.isnan(v)):
                raise ValueError(f"Budget.{f.name} must be a non-negative number or None, got {v!r}")
            if isinstance(v, (np.integer, np.floating)):  # 2**np.arange(4) gives numpy ints: store plain numbers
                object.__setattr__(self, f.name, v.item())
        limits = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if not limits:
            raise ValueError("Budget needs at least one limit, e.g. Budget(samples=16)")
        # the meter reads the limits on every charge: computed once (not a field, so not in eq/repr)
        object.__setattr__(self, "_limits", limits)

    @classmethod
    def on(cls, axis: str, value: float) -> "Budget":
        """A budget limiting one named axis: ``Budget.on("generated_tokens", 2048)``."""
        if axis not in BUDGET_AXES:
            raise ValueError(f"unknown budget axis {axis!r}; valid: {sorted(BUDGET_AXES)}")
        limit: dict[str, Any] = {axis: value}
        return cls(**limit)

    @property
    def limits(self) -> Mapping[str, float]:
        """The axes that are limited, with their limits."""
        return MappingProxyType(self._limits)  # type: ignore[attr-defined]  # set in __post_init__, not a field

    def exceeded_by(self, usage: Usage) -> list[str]:
        """Names of the axes on which `usage` is over this budget (empty when within)."""
        # a tiny tolerance on float axes so that summing many charges does not flag rounding
        return [a for a, lim in self.limits.items() if usage.get(a) > lim * (1 + 1e-12) + 1e-9]

    def allows(self, usage: Usage) -> bool:
        """Whether `usage` stays within every limit."""
        return not self.exceeded_by(usage)


@dataclass(frozen=True)
class CostModel:
    """How tokens become FLOPs and money.

    FLOPs ≈ 2·n_params per token for a forward pass (Kaplan et al. 2020, "Scaling Laws for
    Neural Language Models", arXiv:2001.08361); generator and verifier are counted separately.
    Given the generator's shape (`generator_layers`, `generator_d_attn`), each computed token also
    pays the attention-context term of Kaplan et al.'s Table 1, C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn:
    the token at 0-based position i reads a context of L = i + 1 tokens and costs
    2N + 2·n_layer·L·d_attn. Prompt tokens served from a KV cache cost nothing (they are not
    recomputed) but still count as context for the tokens after them. Without a shape, FLOPs stay
    2N per token. As in the paper, the term counts the QK logits only (Table 1's "Attention: mask"
    row; the weighted sum of values would double it) and N excludes embeddings, while
    `generator_params` is whatever the backend reports; `itslab.models.REGISTRY` has the shapes.
    Prices are per million tokens, as providers quote them; cached prompt tokens have their own price.
    """

    generator_params: float = 0.0
    verifier_params: float = 0.0
    price_per_mtok_prompt: float = 0.0
    price_per_mtok_cached: float = 0.0
    price_per_mtok_generated: float = 0.0
    generator_layers: int | None = None
    generator_d_attn: int | None = None

    def __post_init__(self) -> None:
        shape = (self.generator_layers, self.generator_d_attn)
        if (shape[0] is None) != (shape[1] is None):
            raise ValueError(f"CostModel needs both generator_layers and generator_d_attn, or neither; got {shape}")
        for name, v in zip(("generator_layers", "generator_d_attn"), shape):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise ValueError(f"CostModel.{name} must be a positive int, got {v!r}")

    def attention_flops(self, start: int, stop: int) -> float:
        """Attention-context FLOPs of computing positions ``start .. stop-1`` of one sequence (0 without a shape).

        Σ_{i=start}^{stop-1} 2·n_layer·(i+1)·d_attn = n_layer·d_attn·(stop·(stop+1) − start·(start+1))
        (Kaplan et al. 2020, Table 1).
        """
        if self.generator_layers is None or self.generator_d_attn is None or stop <= start:
            return 0.0
        return float(self.generator_layers * self.generator_d_attn * (stop * (stop + 1) - start * (start + 1)))

    def generator_usage(self, completions: Sequence[Completion], *, samples: int | None = None) -> Usage:
        """`Usage` of a batch of completions.

        Every completion reports its prefix length in ``n_prompt_tokens`` and how much of it was
        served from a cache in ``n_cached_tokens``; a backend that prefills a prompt once for all
        n samples reports samples 1..n-1 as fully cached. Only uncached prefix tokens count as
        ``prompt_tokens``.
        """
        prompt = sum(c.n_prompt_tokens - c.n_cached_tokens for c in completions)
        cached = sum(c.n_cached_tokens for c in completions)
        gen = sum(c.n_tokens for c in completions)
        price = (
            prompt * self.price_per_mtok_prompt
            + cached * self.price_per_mtok_cached
            + gen * self.price_per_mtok_generated
        ) / 1e6
        return Usage(
            samples=len(completions) if samples is None else samples,
            prompt_tokens=prompt,
            cached_tokens=cached,
            generated_tokens=gen,
            generator_flops=2.0 * self.generator_params * (prompt + gen)
            + sum(self.attention_flops(c.n_cached_tokens, c.n_prompt_tokens + c.n_tokens) for c in completions),
            price=price,
        )

    def verifier_usage(self, n_calls: int, n_tokens: int) -> Usage:
        """`Usage` of `n_calls` verifier calls reading `n_tokens` tokens in all."""
        return Usage(
            verifier_calls=n_calls, verifier_tokens=n_tokens, verifier_flops=2.0 * self.verifier_params * n_tokens
        )


@dataclass
class Meter:
    """The one mutable counter: accumulates `Usage` and refuses to exceed a `Budget`.

    Strategies ask `affordable_samples` before generating (worst case: every sample runs to
    ``max_tokens``), then `charge` what was actually spent. A charge that would exceed the budget
    raises `BudgetExceeded` and leaves the meter unchanged.
    """

    budget: Budget
    used: Usage = field(default_factory=Usage)

    def can_afford(self, usage: Usage) -> bool:
        """Whether charging `usage` now would stay within the budget."""
        return self.budget.allows(self.used + usage)

    def charge(self, usage: Usage) -> Usage:
        """Add `usage` to the meter; raise `BudgetExceeded` (meter unchanged) if it would overspend."""
        new = self.used + usage
        over = self.budget.exceeded_by(new)
        if over:
            detail = ", ".join(f"{a}: {new.get(a):g} > {self.budget.limits[a]:g}" for a in over)
            raise BudgetExceeded(f"charge would exceed the budget ({detail})")
        self.used = new
        return new

    def remaining(self, axis: str) -> float:
        """What is left on `axis` (``inf`` when that axis is unlimited)."""
        lim = self.budget.limits.get(axis)
        return math.inf if lim is None else max(0.0, lim - self.used.get(axis))

    def affordable_samples(
        self,
        prompt_tokens: int = 0,
        max_tokens: int = 0,
        *,
        per_sample: Usage | None = None,
        cost: CostModel | None = None,
        prompt_once: bool = True,
        at_most: int | None = None,
    ) -> int:
        """How many more samples fit in the budget in the worst case (capped at `at_most` if given).

        Worst case: each sample generates `max_tokens`; the prompt's `prompt_tokens` are read once
        (``prompt_once``, a backend that prefills once for all n) or once per sample.
        `per_sample` adds any other per-sample cost (e.g. a verifier call). With `at_most`, the
        answer is ``min(at_most, unbounded answer)``, found without searching past it, and a budget
        that does not bound samples is no error.
        """
        cost = cost or CostModel()
        lo, hi = 0, 1

        def attention(k: int) -> float:
            # each sample's tokens attend to the whole prompt, read once or once per sample
            end = prompt_tokens + max_tokens
            if prompt_once:
                return cost.attention_flops(0, prompt_tokens) + k * cost.attention_flops(prompt_tokens, end)
            return k * cost.attention_flops(0, end)

        def fits(k: int) -> bool:
            if k == 0:
                return True
            p = prompt_tokens if prompt_once else prompt_tokens * k
            u = Usage(
                samples=k,
                prompt_tokens=p,
                generated_tokens=k * max_tokens,
                generator_flops=2.0 * cost.generator_params * (p + k * max_tokens) + attention(k),
            )
            if per_sample is not None:
                u = u + _times(per_sample, k)
            return self.can_afford(u)

        if at_most is not None:
            if at_most < 0:
                raise ValueError(f"at_most must be >= 0, got {at_most}")
            if fits(at_most):  # the common case (a strategy asking for its n): one check
                return at_most
            hi = at_most
        else:
            while fits(hi):
                lo, hi = hi, hi * 2
                if hi > 1 << 40:
                    raise ValueError("budget does not bound the number of samples; limit samples, tokens or FLOPs")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo

    @property
    def exhausted(self) -> bool:
        """True when some limited axis is used up."""
        return any(self.remaining(a) <= 0 for a in self.budget.limits)


def _times(u: Usage, k: int) -> Usage:
    return Usage(**{a: getattr(u, a) * k for a in USAGE_AXES})
