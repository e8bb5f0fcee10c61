"""Retries for HTTP backends: exponential backoff with deterministic jitter, and the error raised on giving up.

Which failures are worth retrying follows the OpenAI client and vLLM's router: rate limits (429),
server errors (5xx), connection failures and timeouts are transient; any other 4xx means the
request itself is wrong and is raised at once. Backoff is exponential with "equal jitter"
(Brooker, AWS Architecture Blog 2015: half the delay fixed, half uniform), so many clients that
failed together do not retry together. The jitter comes from an explicit numpy Generator, never
a global RNG; a ``Retry-After`` header, when the server sends one, is honoured up to `max_delay`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def retryable_status(status: int) -> bool:
    """HTTP statuses worth retrying: 429 (rate limited) and every 5xx."""
    return status == 429 or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    Attempt k (k = 0 for the first retry) waits ``min(max_delay, base_delay * 2**k)`` scaled by a
    uniform factor in [0.5, 1).

    >>> RetryPolicy(base_delay=1.0).delay(3, np.random.default_rng(0)) < 8.0
    True
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"RetryPolicy fields must be >= 0, got {self}")

    def delay(self, attempt: int, rng: np.random.Generator, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        d = min(self.max_delay, self.base_delay * 2.0**attempt) * (0.5 + 0.5 * float(rng.random()))
        if retry_after is not None:
            d = max(d, min(retry_after, self.max_delay))
        return d


class BackendError(RuntimeError):
    """A request to a serving backend failed for good: names the endpoint, status and attempts.

    `status` is the last HTTP status (None for connection failures and timeouts).
    """

    def __init__(self, endpoint: str, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        self.endpoint, self.status, self.attempts = endpoint, status, attempts
        what = f"HTTP {status}" if status is not None else "no HTTP response"
        super().__init__(f"POST {endpoint} failed after {attempts} attempt(s) ({what}): {message}")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
