"""Wall-clock beside tokens: a latency model for serial and parallel test-time compute.

Tokens measure cost; latency is what a user waits for. Decoding is memory-bound, so one decode
step costs about the same for one sample as for a batch: the samples of one generator call run in
parallel and the call lasts as long as its longest sample. Prefill is compute-bound, so the
uncached prompt tokens of a call add up. A strategy's latency is the sum over its calls, which
run one after another. So N parallel samples cost N× the tokens of one but about one sample's
latency, while k "Wait" extensions (s1, Muennighoff et al. 2025, arXiv:2501.19393) cost k more
calls in series; APR (Pan et al. 2025, arXiv:2504.15466) compares methods at equal latency.

The per-token times are assumptions of the caller (defaults: a mid-size model on one GPU), not
measurements; `Usage.wall_time` holds what a run actually took.

>>> m = WallClockModel(call_s=0.0, prefill_token_s=0.0, decode_token_s=0.01)
>>> m.call(prompt_tokens=100, max_sample_tokens=500)
5.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WallClockModel:
    """Seconds per generator call, per uncached prompt token (prefill) and per decode step."""

    call_s: float = 0.05
    prefill_token_s: float = 1e-4
    decode_token_s: float = 0.03

    def __post_init__(self) -> None:
        for name in ("call_s", "prefill_token_s", "decode_token_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"WallClockModel.{name} must be >= 0, got {getattr(self, name)}")

    def call(self, prompt_tokens: float, max_sample_tokens: float) -> float:
        """Latency of one generator call: overhead, prefill of its uncached prompt, its longest sample."""
        return self.call_s + self.prefill_token_s * prompt_tokens + self.decode_token_s * max_sample_tokens

    def of(self, result: Any) -> float:
        """Latency of a strategy's `Result`: its generator calls in series (steps without a
        ``max_sample_tokens`` in their info, e.g. votes and verifier calls, cost nothing here)."""
        total = 0.0
        for rec in result.trace:
            m = rec.info.get("max_sample_tokens")
            if m is not None:
                total += self.call(rec.usage.prompt_tokens, m)
        return total
