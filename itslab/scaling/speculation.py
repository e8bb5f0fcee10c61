"""Latency of token-level speculation: non-SI, SI, DSI and SEED in closed form and as discrete-event simulations.

Time is counted in target forwards (``target = 1``); the drafter takes ``drafter`` per token; each
drafted token is accepted independently with probability ``acceptance`` (the i.i.d. model of
Leviathan et al. 2023, which Timor et al.'s simulator also draws from).

- non-SI: one target forward per token.
- SI: the drafter writes ``lookahead`` k tokens, the target verifies them in one forward; an
  iteration yields the accepted prefix plus one token from the target.
- DSI (Timor et al. 2024, arXiv:2405.14105): the drafter never waits; every k drafts a target
  server starts verifying them while drafting goes on. The first rejected draft, at position J,
  ends the round when the forward verifying its chunk finishes, ``ceil(J/k)·k·drafter + target``
  after the round began (later work is preempted), or at ``J·target`` if the target alone is
  faster (the non-SI thread; the authors' ``dsi/offline/simul/dsi.py`` takes the same minimum).
  Verification forwards queue FIFO on ``n_servers`` target servers; with at least
  ``ceil(target / (k·drafter))`` none waits, and the closed form holds.
- SEED (Wang et al. 2024, arXiv:2406.18200): b branches of a reasoning tree, each with its own
  drafter, share one target that verifies first come, first served.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

METHODS = ("non_si", "si", "dsi")


@dataclass(frozen=True)
class LatencyModel:
    """Drafter and target speeds, acceptance rate, lookahead and target servers (None: unlimited)."""

    drafter: float
    acceptance: float
    lookahead: int = 5
    target: float = 1.0
    n_servers: int | None = None

    def __post_init__(self) -> None:
        if not (0 < self.drafter and 0 < self.target):
            raise ValueError(
                f"LatencyModel: drafter and target latencies must be > 0, got {self.drafter}, {self.target}"
            )
        if not 0.0 <= self.acceptance < 1.0:
            raise ValueError(f"LatencyModel.acceptance must lie in [0, 1), got {self.acceptance}")
        if int(self.lookahead) != self.lookahead or self.lookahead < 1:
            raise ValueError(f"LatencyModel.lookahead must be an int >= 1, got {self.lookahead}")
        if self.n_servers is not None and self.n_servers < 1:
            raise ValueError(f"LatencyModel.n_servers must be >= 1 or None, got {self.n_servers}")

    @property
    def servers_needed(self) -> int:
        """Target servers with which no DSI verification waits: ``ceil(target / (k·drafter))``."""
        return math.ceil(self.target / (self.lookahead * self.drafter) - 1e-12)


def per_token(m: LatencyModel, method: str) -> float:
    """Expected latency per generated token in closed form (DSI: with enough servers).

    SI: ``(k·c + t)(1 - a) / (1 - a^(k+1))``; DSI: ``E[min(ceil(J/k)·k·c + t, J·t)] / E[J]`` with
    J ~ Geometric(1 - a) on {1, 2, ...}, summed until the tail is below 1e-15 (Timor et al. 2024).
    """
    a, c, k, t = m.acceptance, m.drafter, m.lookahead, m.target
    if method == "non_si":
        return t
    if method == "si":
        return (k * c + t) * (1 - a) / (1 - a ** (k + 1))
    if method == "dsi":
        jmax = k * (1 + int(math.log(1e-15) / math.log(a))) if a > 0 else 1
        j = np.arange(1, jmax + 1)
        pj = (1 - a) * a ** (j - 1.0)
        cost = np.minimum(np.ceil(j / k) * k * c + t, j * t)
        return float((pj * cost).sum() * (1 - a))
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def speedup(m: LatencyModel, method: str, over: str = "non_si") -> float:
    """Closed-form speed-up of `method` over `over` (ratio of per-token latencies)."""
    return per_token(m, over) / per_token(m, method)


@dataclass(frozen=True)
class Simulated:
    """One simulated generation: per-round latency and tokens (a round ends at a target verdict)."""

    method: str
    latency: np.ndarray
    tokens: np.ndarray
    first_rejection: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    waited: float = 0.0  # DSI: total time verification forwards waited for a free server

    @property
    def per_token(self) -> float:
        """Total latency over total tokens (the renewal-reward estimate of the closed form)."""
        return float(self.latency.sum() / self.tokens.sum())

    @property
    def se(self) -> float:
        """Delta-method SE of `per_token` over rounds."""
        n, r = len(self.tokens), self.per_token
        if n < 2:
            return math.nan
        resid = self.latency - r * self.tokens
        return float(resid.std(ddof=1) / math.sqrt(n) / self.tokens.mean())


def _first_rejection(rng: np.random.Generator, a: float) -> int:
    # position of the first rejected draft: Geometric(1 - a) on {1, 2, ...}
    return int(rng.geometric(1.0 - a)) if a > 0 else 1


def simulate(m: LatencyModel, method: str, n_tokens: int, rng: np.random.Generator) -> Simulated:
    """Generate `n_tokens` tokens by `method`, event by event (the last round may overshoot)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n_tokens < 1:
        raise ValueError(f"simulate: n_tokens must be >= 1, got {n_tokens}")
    lat: list[float] = []
    tok: list[int] = []
    rej: list[int] = []
    waited, done = 0.0, 0
    while done < n_tokens:
        j = _first_rejection(rng, m.acceptance)
        if method == "non_si":
            lat.append(m.target)
            tok.append(1)
        elif method == "si":
            lat.append(m.lookahead * m.drafter + m.target)
            tok.append(min(j - 1, m.lookahead) + 1)  # accepted drafts plus the target's token
        else:
            t, w = _dsi_round(m, j)
            lat.append(t)
            tok.append(j)
            waited += w
        rej.append(j)
        done += tok[-1]
    return Simulated(method, np.asarray(lat), np.asarray(tok), np.asarray(rej), waited)


def _dsi_round(m: LatencyModel, j: int) -> tuple[float, float]:
    """(latency, total server wait) of one DSI round whose first rejection is at draft position `j`.

    Chunk i (i = 1..ceil(j/k)) is drafted by ``i·k·c`` and verified on the first free server; the
    verdict on chunk ceil(j/k) ends the round, unless the target alone reaches j sooner.
    """
    k, c, t = m.lookahead, m.drafter, m.target
    n_chunks = -(-j // k)
    free = [0.0] * (m.n_servers or n_chunks)  # every server is free when a round starts (preemption)
    heapq.heapify(free)
    end, waited = 0.0, 0.0
    for i in range(1, n_chunks + 1):
        ready = i * k * c
        start = max(ready, heapq.heappop(free))
        waited += start - ready
        end = start + t
        heapq.heappush(free, end)
    return min(end, j * t), waited


def seed_tree(m: LatencyModel, n_branches: int, n_tokens: int, rng: np.random.Generator) -> tuple[float, float]:
    """(SEED latency, serial SI latency) for `n_branches` branches of `n_tokens` tokens each.

    SEED: every branch drafts in parallel on its own drafter; verifications queue first come,
    first served on one target (Wang et al. 2024). Serial: the branches run SI one after another
    (tree search without scheduling), with the same acceptance draws.
    """
    if n_branches < 1 or n_tokens < 1:
        raise ValueError(f"seed_tree: n_branches and n_tokens must be >= 1, got {n_branches}, {n_tokens}")
    k, c, t = m.lookahead, m.drafter, m.target
    ready = [(k * c, b) for b in range(n_branches)]  # (time its drafts are ready, branch)
    heapq.heapify(ready)
    done, free, finish, serial = [0] * n_branches, 0.0, 0.0, 0.0
    while ready:
        at, b = heapq.heappop(ready)
        end = max(at, free) + t
        free = end
        done[b] += min(_first_rejection(rng, m.acceptance) - 1, k) + 1
        serial += k * c + t
        if done[b] < n_tokens:
            heapq.heappush(ready, (end + k * c, b))
        else:
            finish = max(finish, end)
    return finish, serial


def seed_speedup(m: LatencyModel, n_branches: int) -> float:
    """Long-run SEED speed-up over serial SI: ``min(b, (k·c + t) / t)`` — each branch cycles in
    ``k·c + t`` unless the shared target, busy ``t`` per verification, is the bottleneck."""
    k, c, t = m.lookahead, m.drafter, m.target
    return min(float(n_branches), (k * c + t) / t)


def compare(m: LatencyModel, n_tokens: int, rng: np.random.Generator) -> dict[str, tuple[float, float, float]]:
    """Per method: (simulated per-token latency, its SE, closed form), the methods drawing in turn from `rng`."""
    out = {}
    for method in METHODS:
        s = simulate(m, method, n_tokens, rng)
        out[method] = (s.per_token, 0.0 if method == "non_si" else s.se, per_token(m, method))
    return out


def check_grid(
    drafters: Sequence[float], acceptances: Sequence[float], lookahead: int, n_tokens: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The simulation against the closed form over a grid: one row per (drafter, acceptance, method)
    with both latencies per token and the z-score (non-SI is exact and left out)."""
    rows = []
    for c in drafters:
        for a in acceptances:
            for method, (sim, se, closed) in compare(LatencyModel(c, a, lookahead), n_tokens, rng).items():
                if method != "non_si":
                    rows.append({"drafter": c, "acceptance": a, "method": method, "simulated": sim, "se": se,
                                 "closed_form": closed, "z": (sim - closed) / se})  # fmt: skip
    return pd.DataFrame(rows)


def speedup_grid(drafters: Sequence[float], acceptances: Sequence[float], lookahead: int = 5) -> pd.DataFrame:
    """Closed-form latency per token of each method and DSI's speed-up over the better of SI and
    non-SI, over a grid of drafter latencies and acceptance rates (enough servers)."""
    rows = []
    for c in drafters:
        for a in acceptances:
            m = LatencyModel(c, a, lookahead)
            t = {k: per_token(m, k) for k in METHODS}
            rows.append({"drafter": c, "acceptance": a, **t, "dsi_gain": min(t["si"], t["non_si"]) / t["dsi"]})
    return pd.DataFrame(rows)


def by_servers(m: LatencyModel, servers: Sequence[int], n_tokens: int, rng: np.random.Generator) -> pd.DataFrame:
    """DSI's simulated latency per token and total server wait for each number of target servers."""
    rows = []
    for n in servers:
        s = simulate(dataclasses.replace(m, n_servers=int(n)), "dsi", n_tokens, rng)
        rows.append(
            {"n_servers": int(n), "per_token": s.per_token, "se": s.se, "waited_per_token": s.waited / s.tokens.sum()}
        )
    return pd.DataFrame(rows)


def gain_over_best(sims: dict[str, tuple[float, float, float]]) -> tuple[float, float]:
    """DSI's speed-up over the better of SI and non-SI from `compare`'s output, with a delta-method SE."""
    si, si_se, _ = sims["si"]
    dsi, dsi_se, _ = sims["dsi"]
    best, best_rel = (si, si_se / si) if si < sims["non_si"][0] else (sims["non_si"][0], 0.0)
    g = best / dsi
    return g, g * math.hypot(dsi_se / dsi, best_rel)
