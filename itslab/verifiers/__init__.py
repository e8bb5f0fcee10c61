"""Verifiers behind one contract (`itslab.protocols.Verifier`): ``score`` and ``cost``.

Outcome verifiers return one score per text; process verifiers (``is_process = True``) one per
step, steps split on `itslab.protocols.STEP_DELIMITER`; `aggregate` folds step scores.

- `ExactAnswer`, `MathEquivalence` — rule-based oracles (normalised match, math-verify);
- `NoisyVerifier`, `NoisyProcessVerifier` — an oracle degraded to a TPR/FPR or ROC AUC, a simulated PRM;
- `OutcomeRewardModel`, `ProcessRewardModel` — transformers reward models (torch, imported lazily);
- `SelfEvaluation`, `GenerativeVerifier` — the generator as its own judge;
- `CodeExecution` — run code against tests in a sandboxed subprocess.

Heavy modules load on first attribute access, so ``import itslab.verifiers`` stays free of torch.
"""
from __future__ import annotations

import importlib
from typing import Any

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
    "ExecutionResult": "itslab.verifiers.sandbox",
    "run_python": "itslab.verifiers.sandbox",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'itslab.verifiers' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


__all__ = ["AGGREGATIONS", "Aggregated", "STEP_DELIMITER", "Verifier", "aggregate", "split_steps", *_LAZY]
