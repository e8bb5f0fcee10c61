"""Chunk-level SMC steering with constraint potentials (Lew et al. 2023, arXiv:2306.03081; Grand et
al. 2025, DisCIPL, arXiv:2504.07081); its baselines (best-of-N with the constraint as a final filter,
rejection sampling) are in `itslab.strategies.constrained_baselines`.

The target is p_LM(x) · exp(φ(x)) for a potential φ (`itslab.tasks.constraints`: a lipogram,
"exactly K words", sentence-initial letters; ``-inf`` for an infeasible prefix). A particle is a
partial text; each step extends every live, unfinished particle by one chunk of at most
`chunk_tokens` tokens through the Generator protocol (incremental decoding from the particle's
prefix, which prefix-caching backends read once), multiplies its weight by the potential's
increment exp(φ(new) − φ(old)) — the LM is the proposal, so the LM terms cancel — and resamples
when the effective sample size falls below ``ess_threshold · n_particles`` (LLaMPPL's
``smc_standard``: multinomial, threshold 0.5). An infeasible particle gets weight 0, is never
extended, and is replaced at the next resampling; when every particle is dead the run ends with no
answer (``stop_reason="infeasible"``), never an exception. `ConstrainedSMC` has the same
`init` / `step` / `result` shape as `itslab.strategies.smc.ParticleFilter`.

What differs from the papers: LLaMPPL steps token by token and can mask the next-token
distribution with the constraint (a locally optimal proposal); here the proposal is always the
LM, a chunk is several tokens (one backend call per step, any backend), and the potential is
checked after the chunk. With ``temperature != 1`` the target is the tempered LM times exp(φ)
(no logprob correction). DisCIPL's planner that writes the program is not reproduced; the
potentials are fixed. Lew et al.'s without-replacement resampling is not implemented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run, extract
from itslab.strategies.resampling import SCHEMES, ess, resample
from itslab.tasks.constraints import Potential, potential
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem, Request


@dataclass(frozen=True)
class TextParticle:
    """A partial text (the prompt excluded), its token count, whether it ended, and φ(text)."""

    text: str = ""
    n_tokens: int = 0
    finished: bool = False
    log_potential: float = 0.0


@dataclass(frozen=True)
class ConstrainedSMCState:
    """Particles, their log-weights (``-inf``: dead), the last ancestors, ESS and log-evidence so far.

    ``log_evidence`` accumulates log mean weight at each resampling; `evidence` adds the current
    weights, an unbiased estimate of Z = E_LM[exp φ(x)] (for a hard constraint: P_LM(x satisfies)).
    """

    step: int
    particles: tuple[TextParticle, ...]
    log_weights: tuple[float, ...]
    ancestors: tuple[int, ...]
    ess: float
    log_evidence: float = 0.0
    done: bool = False
    stop_reason: str | None = None

    @property
    def alive(self) -> tuple[bool, ...]:
        return tuple(math.isfinite(w) for w in self.log_weights)

    @property
    def weights(self) -> np.ndarray:
        """Normalised weights (0 for dead particles; all 0 when every particle is dead)."""
        return _normalise(self.log_weights)

    @property
    def evidence(self) -> float:
        """log Ẑ: the log-evidence estimate including the current weights."""
        return self.log_evidence + _log_mean_exp(self.log_weights)


@dataclass(frozen=True)
class ConstrainedSMCInfo:
    """One step: whether it resampled, the ancestors, the ESS before, live and finished counts."""

    step: int
    resampled: bool
    ancestors: tuple[int, ...]
    ess: float
    n_alive: int
    n_finished: int

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _log_mean_exp(lw: Sequence[float]) -> float:
    a = np.asarray(lw, dtype=float)
    m = a.max() if a.size else -math.inf
    if not math.isfinite(m):
        return -math.inf
    return float(m + np.log(np.mean(np.exp(a - m))))


def _normalise(lw: Sequence[float]) -> np.ndarray:
    a = np.asarray(lw, dtype=float)
    if not np.isfinite(a).any():
        return np.zeros(a.size)
    w = np.exp(a - a[np.isfinite(a)].max())
    return w / w.sum()


class ConstrainedSMC:
    """Lew et al.'s SMC steering over a `Run`; pure `init` / `step` / `result`::

    smc = ConstrainedSMC(Run("constrained_smc", problem, gen, None, budget), "lipogram:e")
    state = smc.init()
    while not state.done:
        state, info = smc.step(state, rng)
    result = smc.result(state, rng)
    """

    def __init__(
        self,
        run: Run,
        constraint: str | Potential,
        *,
        n_particles: int = 8,
        chunk_tokens: int = 8,
        max_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        ess_threshold: float = 0.5,
        resampling: str = "multinomial",
    ) -> None:
        name = run.strategy
        for k, v in (("n_particles", n_particles), ("chunk_tokens", chunk_tokens), ("max_tokens", max_tokens)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: {k} must be an int >= 1, got {v!r}")
        if not 0.0 <= ess_threshold <= 1.0:
            raise ValueError(f"{name}: ess_threshold must be in [0, 1], got {ess_threshold!r}")
        if resampling not in SCHEMES:
            raise ValueError(f"{name}: resampling must be one of {', '.join(SCHEMES)}; got {resampling!r}")
        self.run, self.potential = run, potential(constraint)
        self.hyper: dict[str, Any] = dict(
            constraint=constraint,
            n_particles=n_particles,
            chunk_tokens=chunk_tokens,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=tuple(stop),
            ess_threshold=ess_threshold,
            resampling=resampling,
        )

    def init(self) -> ConstrainedSMCState:
        """Every particle is the empty text with weight φ(""); nothing is spent."""
        n = self.hyper["n_particles"]
        phi = float(self.potential("", False))
        parts = (TextParticle(log_potential=phi),) * n  # one object: the first step is one request of n samples
        return self._state(0, parts, (phi,) * n, tuple(range(n)), float(n), 0.0)

    def _state(
        self,
        step: int,
        parts: tuple[TextParticle, ...],
        lw: tuple[float, ...],
        anc: tuple[int, ...],
        ess_: float,
        log_ev: float,
    ) -> ConstrainedSMCState:
        alive = [p for p, w in zip(parts, lw) if math.isfinite(w)]
        reason = "infeasible" if not alive else "done" if all(p.finished for p in alive) else None
        return ConstrainedSMCState(step, tuple(parts), tuple(lw), tuple(anc), ess_, log_ev, reason is not None, reason)

    def _resample(
        self, state: ConstrainedSMCState, rng: np.random.Generator
    ) -> tuple[list[TextParticle], list[float], list[int], float, float, bool]:
        """Resample all particles (finished ones too, as LLaMPPL) when ESS < threshold · N."""
        n, w = len(state.particles), state.weights
        e = ess(w)
        if e >= self.hyper["ess_threshold"] * n:
            return list(state.particles), list(state.log_weights), list(range(n)), e, state.log_evidence, False
        anc = [int(a) for a in resample(w, rng, self.hyper["resampling"], n=n)]
        log_ev = state.log_evidence + _log_mean_exp(state.log_weights)
        return [state.particles[a] for a in anc], [0.0] * n, anc, e, log_ev, True

    def _extend(self, parents: list[TextParticle], rng: np.random.Generator) -> list[Completion | None] | None:
        """One chunk for every live, unfinished parent: ONE batched call, one request per distinct parent."""
        h = self.hyper
        todo = [i for i, p in enumerate(parents) if not p.finished]
        firsts = list(dict.fromkeys(id(parents[i]) for i in todo))  # copies of one ancestor share a request
        heads = {id(parents[i]): parents[i] for i in todo}
        counts = {k: sum(id(parents[i]) == k for i in todo) for k in firsts}
        reqs = [
            Request(
                prefix=self.run.prompt + heads[k].text,
                n=counts[k],
                max_tokens=min(h["chunk_tokens"], h["max_tokens"] - heads[k].n_tokens),
                temperature=h["temperature"],
                top_p=h["top_p"],
                stop=h["stop"],
                seed=draw_seed(rng),
                logprobs=True,
            )
            for k in firsts
        ]
        outs = self.run.sample_batch(reqs, kind="extend", info={"n_particles": len(todo)})
        if outs is None:
            return None
        pools = {k: list(o) for k, o in zip(firsts, outs)}
        extend = set(todo)
        return [pools[id(p)].pop(0) if i in extend else None for i, p in enumerate(parents)]

    def step(
        self, state: ConstrainedSMCState, rng: np.random.Generator
    ) -> tuple[ConstrainedSMCState, ConstrainedSMCInfo]:
        """Resample if the ESS is low, extend each live particle by a chunk, reweight by φ's increment.

        Returns ``(state, info)``; a done state is returned unchanged, and a step the budget cannot
        pay for ends the run (``stop_reason="budget"``).
        """
        if state.done:
            return state, ConstrainedSMCInfo(state.step, False, state.ancestors, state.ess, 0, 0)
        parts, lw, anc, e, log_ev, resampled = self._resample(state, rng)
        # dead particles are dropped: marked finished so nothing is spent on them
        parents = [p if math.isfinite(w) else replace(p, finished=True) for p, w in zip(parts, lw)]
        outs = self._extend(parents, rng)
        if outs is None:
            stopped = replace(state, done=True, stop_reason="budget")
            return stopped, ConstrainedSMCInfo(state.step, False, state.ancestors, state.ess, 0, 0)
        new, new_lw = list(parts), list(lw)
        for i, c in enumerate(outs):
            if c is None:
                continue
            p = parts[i]
            n_tok = p.n_tokens + c.n_tokens
            done = c.finish_reason != "length" or n_tok >= self.hyper["max_tokens"]
            text = p.text + c.text
            phi = float(self.potential(text, done))
            new[i] = TextParticle(text, n_tok, done, phi)
            new_lw[i] = lw[i] + phi - p.log_potential if math.isfinite(phi) else -math.inf
        st = self._state(state.step + 1, tuple(new), tuple(new_lw), tuple(anc), e, log_ev)
        info = ConstrainedSMCInfo(st.step, resampled, st.ancestors, e, sum(st.alive), sum(p.finished for p in new))
        self.run.note("smc", info.as_dict())
        return st, info

    def result(self, state: ConstrainedSMCState, rng: np.random.Generator) -> Result:
        """One particle drawn by weight among the live finished ones (an approximate posterior sample);
        no answer when none is left. The answer is the extracted answer for a gradable problem, else the text."""
        w = state.weights
        ok = [i for i, p in enumerate(state.particles) if p.finished and w[i] > 0]
        chosen = None
        if ok:
            wo = w[ok] / w[ok].sum()
            chosen = ok[int(resample(wo, rng, "multinomial", n=1)[0])]
        cands = [
            self._candidate(i, p, float(w[i]), state.log_weights[i], i == chosen) for i, p in enumerate(state.particles)
        ]
        answer = None if chosen is None else cands[chosen].answer
        self.run.note(
            "answer",
            {"chosen": chosen, "stop": state.stop_reason or "done", "log_evidence": state.evidence, "n_ok": len(ok)},
        )
        return self.run.finish(answer, cands, hyper=self.hyper)

    def _candidate(self, i: int, p: TextParticle, w: float, lw: float, chosen: bool) -> Candidate:
        ok = p.finished and math.isfinite(lw)
        meta = {"index": i, "finished": p.finished, "alive": math.isfinite(lw), "n_tokens": p.n_tokens}
        return Candidate(
            p.text, answer_or_text(self.run.problem, p.text) if ok else None, w, None, {**meta, "chosen": chosen}
        )


def answer_or_text(problem: Problem, text: str) -> str | None:
    """The extracted answer for a gradable problem, else the text itself (a constrained-writing task's output)."""
    from itslab.tasks.checking import gradable

    return extract(problem, text) if gradable(problem) else text


def constraint_of(name: str, problem: Problem, constraint: str | Potential | None) -> str | Potential:
    """`constraint`, else ``problem.meta["constraint"]``; a clear error naming strategy `name` when neither is set."""
    c = constraint if constraint is not None else problem.meta.get("constraint")
    if c is None:
        raise ValueError(
            f"{name}: no constraint; pass constraint= (e.g. 'lipogram:e') or set problem.meta['constraint']"
        )
    return c


@register(
    "constrained_smc",
    size="n_particles",
    rollout_samples=lambda h: -(-int(h["max_tokens"]) // int(h["chunk_tokens"])),
)
def constrained_smc(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    constraint: str | Potential | None = None,
    n_particles: int = 8,
    chunk_tokens: int = 8,
    max_tokens: int = 256,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
    ess_threshold: float = 0.5,
    resampling: str = "multinomial",
) -> Result:
    """SMC steering with a constraint potential (Lew et al. 2023; DisCIPL, Grand et al. 2025): see
    `ConstrainedSMC`. The verifier is not used; `constraint` defaults to ``problem.meta["constraint"]``."""
    run = Run("constrained_smc", problem, generator, verifier, budget)
    smc = ConstrainedSMC(
        run,
        constraint_of("constrained_smc", problem, constraint),
        n_particles=n_particles,
        chunk_tokens=chunk_tokens,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        ess_threshold=ess_threshold,
        resampling=resampling,
    )
    state = smc.init()
    while not state.done:
        state, _ = smc.step(state, rng)
    return smc.result(state, rng)
