"""What a sweep sweeps: strategy specs (name, hyper-parameters, label) and budgets (a `Budget` or N `Rollouts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from itslab.budget import Budget


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
        return (
            self.name
            if not self.hyper
            else f"{self.name}({', '.join(f'{k}={v}' for k, v in sorted(self.hyper.items()))})"
        )


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


@dataclass(frozen=True)
class Rollouts:
    """A budget of N rollouts, as papers plot it: N samples for sampling strategies, N beams or
    particles for step-level search (their size hyper-parameter is set to N). The strategy's
    `Budget` then caps completions at N × what one rollout may cost, which the strategy declares
    when it registers (e.g. max_steps × (1 + lookahead) for beam search); every row still reports
    the actual `Usage`, so token- and FLOP-matched views of the same sweep stay available."""

    n: int

    def __post_init__(self) -> None:
        if int(self.n) != self.n or self.n < 1:
            raise ValueError(f"Rollouts.n must be a positive integer, got {self.n!r}")

    def for_spec(self, spec: "StrategySpec") -> tuple[Budget, dict[str, Any]]:
        """(Budget, hyper) for running `spec` with N rollouts: the strategy's registered size
        parameter is set to N, and the budget is N times what one rollout may cost (`strategies.info`)."""
        from itslab import strategies

        info = strategies.info(spec.name)
        hyper = info.with_size(spec.hyper, int(self.n))
        return Budget(samples=int(self.n) * info.samples_per_rollout(hyper)), hyper


def as_budgets(budgets: Iterable[Budget | Rollouts | int | float], axis: str = "samples") -> list[Budget | Rollouts]:
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
