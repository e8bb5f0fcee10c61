"""Verifiers behind one contract (`itslab.protocols.Verifier`): ``score`` and ``cost``.

Outcome verifiers return one score per text; process verifiers one per
step, steps split on `itslab.protocols.STEP_DELIMITER`; `aggregate` folds step scores.

- `ExactAnswer`, `MathEquivalence` — rule-based oracles (normalised match, math-verify);
- `NoisyVerifier`, `NoisyProcessVerifier` — an oracle degraded to a TPR/FPR or ROC AUC, a simulated PRM;
- `OutcomeRewardModel`, `ProcessRewardModel` — transformers reward models (torch, imported lazily);
- `SelfEvaluation`, `GenerativeVerifier` — the generator as its own judge;
- `CodeExecution` — run code against tests in a sandboxed subprocess;
- `MetaVerifier` — k sampled critiques voted on, a meta RM keeping the top m (DeepSeek-GRM);
- `CombinedVerifier` — parts' scores averaged (CoT + PoT verification), `CorrelatedNoisyVerifier` parts;
- `RuleStepVerifier`, `LengthBiasedPRM` — exact step rules of the synthetic arithmetic / Countdown
  tasks, and that PRM degraded to a set AUC with a length bias;
- `StepScore` — a model's 0–9 rating of the last step from its digit log-probabilities (SpecReason);
- `ConstraintScore`, `CountdownDistance`, `MeetingConstraints` — partial credit with feedback for
  tree and evolutionary search (AB-MCTS, Mind Evolution).

Heavy modules load on first attribute access, so ``import itslab.verifiers`` stays free of torch.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from itslab.protocols import STEP_DELIMITER, Verifier
from itslab.verifiers.aggregate import AGGREGATIONS, Aggregated, aggregate
from itslab.verifiers.base import split_steps

_LAZY: dict[str, str] = {
    "ExactAnswer": "itslab.verifiers.exact",
    "MathEquivalence": "itslab.verifiers.exact",
    "NoisyVerifier": "itslab.verifiers.noisy",
    "NoisyProcessVerifier": "itslab.verifiers.noisy",
    "OutcomeRewardModel": "itslab.verifiers.reward_models",
    "ProcessRewardModel": "itslab.verifiers.prm",
    "PRMFormat": "itslab.verifiers.prm",
    "SelfEvaluation": "itslab.verifiers.judges",
    "GenerativeVerifier": "itslab.verifiers.judges",
    "CodeExecution": "itslab.verifiers.code_execution",
    "MetaVerifier": "itslab.verifiers.critique",
    "SimulatedCritic": "itslab.verifiers.critique",
    "GenerativeCritic": "itslab.verifiers.critique",
    "CombinedVerifier": "itslab.verifiers.combined",
    "CorrelatedNoisyVerifier": "itslab.verifiers.combined",
    "ExecutionResult": "itslab.verifiers.sandbox",
    "run_python": "itslab.verifiers.sandbox",
    "RuleStepVerifier": "itslab.verifiers.step_rules",
    "LengthBiasedPRM": "itslab.verifiers.step_rules",
    "StepScore": "itslab.verifiers.step_score",
    "ConstraintScore": "itslab.verifiers.partial",
    "CountdownDistance": "itslab.verifiers.partial",
    "MeetingConstraints": "itslab.verifiers.partial",
}


def _judge(cls_name: str) -> Callable[..., Any]:
    def build(generator: Any, **options: Any) -> Any:
        return getattr(importlib.import_module(_LAZY[cls_name]), cls_name)(generator, **options)

    return build


def _plain(cls_name: str) -> Callable[..., Any]:
    def build(generator: Any, **options: Any) -> Any:
        return getattr(importlib.import_module(_LAZY[cls_name]), cls_name)(**options)

    return build


# verifier name (as configs write it) -> factory(generator, **options); "none" builds no verifier
_REGISTRY: dict[str, Callable[..., Any]] = {
    "none": lambda generator, **options: None,
    "exact": _plain("ExactAnswer"),
    "math": _plain("MathEquivalence"),
    "noisy": _plain("NoisyVerifier"),
    "self_evaluation": _judge("SelfEvaluation"),
    "generative": _judge("GenerativeVerifier"),
    "step_rules": _plain("RuleStepVerifier"),
    "step_rules_noisy": _plain("LengthBiasedPRM"),
    "countdown_distance": _plain("CountdownDistance"),
    "meeting_constraints": _plain("MeetingConstraints"),
}


def register(name: str, factory: Callable[..., Any]) -> None:
    """Make `factory(generator, **options)` buildable as verifier `name` (YAML configs, `get`)."""
    if name in _REGISTRY and _REGISTRY[name] is not factory:
        raise ValueError(f"verifier {name!r} is already registered")
    _REGISTRY[name] = factory


def names() -> list[str]:
    """The registered verifier names."""
    return sorted(_REGISTRY)


def get(name: str) -> Callable[..., Any]:
    """The factory of verifier `name`: ``get(name)(generator, **options)``; a clear error otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown verifier {name!r}; valid: {', '.join(names())}") from None


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'itslab.verifiers' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


__all__ = [
    "AGGREGATIONS",
    "Aggregated",
    "STEP_DELIMITER",
    "Verifier",
    "aggregate",
    "get",
    "names",
    "register",
    "split_steps",
    *_LAZY,
]
