"""itslab — an inference-time-scaling lab for large language models.

Light on import: heavy backends (torch, transformers, llama.cpp, vLLM) load only when used.
"""
from __future__ import annotations

from itslab import config, rng
from itslab.budget import Budget, BudgetExceeded, CostModel, Meter
from itslab.protocols import Generator, Scores, Strategy, Verifier
from itslab.trace import Candidate, Result, StepRecord
from itslab.types import Completion, Problem, Request, Usage

__version__ = "0.1.0"

__all__ = [
    "Budget", "BudgetExceeded", "Candidate", "Completion", "CostModel", "Generator", "Meter",
    "Problem", "Request", "Result", "Scores", "StepRecord", "Strategy", "Usage", "Verifier",
    "config", "rng", "__version__",
]
