"""itslab — an inference-time-scaling lab for large language models.

Light on import: heavy backends (torch, transformers, llama.cpp, vLLM) load only when used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

from itslab import rng, settings
from itslab.budget import Budget, BudgetExceeded, BudgetTooSmall, CostModel, Meter
from itslab.protocols import Generator, Scores, Strategy, Verifier
from itslab.trace import Candidate, Result, StepRecord
from itslab.types import Completion, Problem, Request, Usage

__version__ = "0.1.0"

# Modules renamed by the architecture change (0.2): the old paths import the new modules for one
# release, with a DeprecationWarning naming the new path.
_MOVED = {
    "itslab.config": "itslab.settings",
    "itslab.configs": "itslab.experiments.config",
    "itslab.sweeps": "itslab.pools",
    "itslab.sweep": "itslab.experiments.config",
    "itslab.runs": "itslab.experiments.rundir",
    "itslab.batching": "itslab.experiments.batching",
    "itslab.executors": "itslab.experiments.executors",
    "itslab.compute_matched": "itslab.scaling.compute_matched",
    "itslab.servers": "itslab.generators.http.servers",
    "itslab.resampling": "itslab.strategies.resampling",
    "itslab.generators.models": "itslab.models",
    "itslab.store": "itslab.generators.store",
    "itslab.report": "itslab.experiments.report",
    "itslab.demo": "itslab.experiments.demo",
    "itslab.frozen": "itslab.types",
    # backends as sub-packages (issue 14): generators/{simulated,hf,llamacpp,http,vllm}/
    "itslab.generators.simulated_core": "itslab.generators.simulated.core",
    "itslab.generators.simulated_outcome": "itslab.generators.simulated.outcome",
    "itslab.generators.simulated_sequential": "itslab.generators.simulated.sequential",
    "itslab.generators.simulated_stepwise": "itslab.generators.simulated.stepwise",
    "itslab.generators.simulated_text": "itslab.generators.simulated.text",
    "itslab.generators.hf_batch": "itslab.generators.hf.batch",
    "itslab.generators.hf_cache": "itslab.generators.hf.cache",
    "itslab.generators.hf_decode": "itslab.generators.hf.decode",
    "itslab.generators.hf_load": "itslab.generators.hf.load",
    "itslab.generators.hf_sampling": "itslab.generators.hf.sampling",
    "itslab.generators.hf_text": "itslab.generators.hf.text",
    "itslab.generators.llamacpp_kv": "itslab.generators.llamacpp.kv",
    "itslab.generators.llamacpp_model": "itslab.generators.llamacpp.model",
    "itslab.generators.llamacpp_sampling": "itslab.generators.llamacpp.sampling",
    "itslab.generators.openai_http": "itslab.generators.http.generator",
    "itslab.generators.openai_http_retry": "itslab.generators.http.retry",
    "itslab.generators.openai_http_wire": "itslab.generators.http.wire",
    "itslab.generators.servers": "itslab.generators.http.servers",
    "itslab.generators.vllm_backend": "itslab.generators.vllm.generator",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves a renamed module under its old import path (the same module object)."""

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        return importlib.util.spec_from_loader(fullname, self) if fullname in _MOVED else None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        old = module.__name__
        warnings.warn(
            f"{old} moved to {_MOVED[old]}; the old name goes in the next release", DeprecationWarning, stacklevel=2
        )
        sys.modules[old] = importlib.import_module(_MOVED[old])


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())

__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetTooSmall",
    "Candidate",
    "Completion",
    "CostModel",
    "Generator",
    "Meter",
    "Problem",
    "Request",
    "Result",
    "Scores",
    "StepRecord",
    "Strategy",
    "Usage",
    "Verifier",
    "rng",
    "settings",
    "__version__",
]
