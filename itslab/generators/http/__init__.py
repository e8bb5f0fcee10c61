"""The OpenAI-compatible HTTP backend (`OpenAIGenerator`) and launchers of local servers (`servers`).

httpx loads on the first request, not when this package is imported.
"""

from __future__ import annotations

from itslab.generators.http.generator import OpenAIGenerator
from itslab.generators.http.retry import BackendError, RetryPolicy

__all__ = ["BackendError", "OpenAIGenerator", "RetryPolicy"]
