"""Particle filtering and particle Gibbs for inference-time scaling (Puri et al. 2025, arXiv:2502.01618).

Follows the authors' code (probabilistic-inference-scaling, ``sal/search/particle_gibbs.py``): a
particle is a partial solution, the LLM the transition kernel and the PRM the emission model.
`ParticleFilter` exposes blackjax-style `init` / `step` / `result` over immutable `State` records,
so a notebook can step it and draw the genealogy; `particle_filter` and `particle_gibbs` are the
registered strategies. Where this differs from the authors' code: docs/methods.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.strategies import register
from itslab.strategies.base import Run, step_finished
from itslab.strategies.resampling import SCHEMES, ess, resample
from itslab.strategies.steps import candidate, check_step_hyper, expand, score_nodes, select_answer
from itslab.trace import Result
from itslab.types import Problem

LINKS: tuple[str, ...] = ("logit", "log", "identity")
SMC_SELECT_RULES: tuple[str, ...] = ("best", "weighted", "majority")
_EPS = float(np.finfo(float).eps)


def link_weights(rewards: Any, softmax_temperature: float = 1.0, link: str = "logit") -> np.ndarray:
    """Normalised weights ``softmax(link(r) / T)`` from PRM rewards r.

    ``logit`` (the authors' code: r clipped to [eps, 1 - eps]), ``log`` (weights ∝ r^(1/T), the
    paper's Bernoulli emission p(o = 1 | x) = r) or ``identity`` (softmax of raw rewards, as REBASE).

    >>> link_weights([0.5, 0.75], 1.0, "logit").round(3).tolist()
    [0.25, 0.75]
    """
    r = np.asarray(rewards, dtype=float)
    if link not in LINKS:
        raise ValueError(f"unknown link {link!r}; valid: {', '.join(LINKS)}")
    if link != "identity" and (np.any(r < -1e-9) or np.any(r > 1 + 1e-9) or not np.all(np.isfinite(r))):
        raise ValueError(f"link {link!r} needs rewards in [0, 1] (a probability-like PRM), got {r.tolist()}")
    rc = np.clip(r, _EPS, 1 - _EPS)
    z = {"logit": lambda: np.log(rc) - np.log1p(-rc), "log": lambda: np.log(rc), "identity": lambda: r}[link]()
    z = z / softmax_temperature
    w = np.exp(z - z.max())
    return w / w.sum()


@dataclass(frozen=True)
class Particle:
    """One partial solution: its steps, its reward after each step (the authors' ``rewards``), status."""

    steps: tuple[str, ...] = ()
    rewards: tuple[float, ...] = ()
    step_scores: tuple[float, ...] = ()  # the PRM's latest per-step scores of the whole text
    finished: bool = False
    step_tokens: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """The solution so far (the prompt excluded)."""
        return "".join(self.steps)

    @property
    def n_tokens(self) -> int:
        """Generated tokens of the solution so far."""
        return sum(self.step_tokens)

    @property
    def reward(self) -> float:
        """The reward the next resampling uses: the score after the latest step (NaN before any)."""
        return self.rewards[-1] if self.rewards else float("nan")

    def prefix(self, k: int) -> "Particle":
        """The particle after its first `k` steps (itself when k covers all; active otherwise)."""
        if k >= len(self.steps):
            return self
        return Particle(self.steps[:k], self.rewards[:k], (), False, self.step_tokens[:k])


@dataclass(frozen=True)
class State:
    """The particle system after `step` steps: particles, weights, the last resampling, ESS.

    ``weights`` are the normalised weights the next resampling will use (NaN when unscored);
    ``ancestors[i]`` is the index, in the previous state's pool (its particles, then the
    reference if any), that particle i descends from; ``ess`` is the effective sample size of
    the weights the last resampling used (of ``weights`` right after `init`).
    """

    step: int
    particles: tuple[Particle, ...]
    weights: tuple[float, ...]
    ancestors: tuple[int, ...]
    ess: float
    done: bool = False
    stop_reason: str | None = None
    reference: Particle | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(p.text for p in self.particles)

    @property
    def finished(self) -> tuple[bool, ...]:
        return tuple(p.finished for p in self.particles)

    @property
    def scores(self) -> tuple[float, ...]:
        return tuple(p.reward for p in self.particles)


@dataclass(frozen=True)
class Info:
    """What one step did: ancestors drawn, the weights they were drawn with, their ESS, the new scores."""

    step: int
    ancestors: tuple[int, ...]
    weights: tuple[float, ...]
    ess: float
    scores: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """The record `StepRecord.info` carries (kind ``"smc"``)."""
        return {
            "step": self.step,
            "ancestors": self.ancestors,
            "weights": self.weights,
            "ess": self.ess,
            "scores": self.scores,
        }


class ParticleFilter:
    """Puri et al.'s particle filter over a `Run`; pure `init` / `step` / `result`.

    Holds the hyperparameters and the `Run` (the meter and trace); states are immutable records.
    Stepped until every particle is finished (`step_finished`; the last allowed step writes the
    rest of the solution) or the budget stops it::

        pf = ParticleFilter(Run("particle_filter", problem, gen, prm, budget), n_particles=8)
        state = pf.init(rng)
        while not state.done:
            state, info = pf.step(state, rng)   # info.ancestors draws the genealogy
        result = pf.result(state)
    """

    def __init__(
        self,
        run: Run,
        *,
        n_particles: int = 16,
        temperature: float = 0.8,
        top_p: float = 1.0,
        softmax_temperature: float = 1.0,
        link: str = "logit",
        resampling: str = "multinomial",
        resample_inactive: bool = True,
        agg: str = "last",
        max_steps: int = 40,
        max_step_tokens: int = 256,
        max_tokens: int = 2048,
        select: str = "best",
    ) -> None:
        check_step_hyper(
            run.strategy,
            run.verifier,
            n_particles=n_particles,
            temperature=temperature,
            softmax_temperature=softmax_temperature,
            agg=agg,
            max_steps=max_steps,
            max_step_tokens=max_step_tokens,
            max_tokens=max_tokens,
            select=select,
            _rules=SMC_SELECT_RULES,
        )
        if link not in LINKS:
            raise ValueError(f"{run.strategy}: link must be one of {', '.join(LINKS)}; got {link!r}")
        if resampling not in SCHEMES:
            raise ValueError(f"{run.strategy}: resampling must be one of {', '.join(SCHEMES)}; got {resampling!r}")
        self.run = run
        self.hyper = dict(
            n_particles=n_particles,
            temperature=temperature,
            top_p=top_p,
            softmax_temperature=softmax_temperature,
            link=link,
            resampling=resampling,
            resample_inactive=resample_inactive,
            agg=agg,
            max_steps=max_steps,
            max_step_tokens=max_step_tokens,
            max_tokens=max_tokens,
            select=select,
        )
        self.h = SimpleNamespace(**self.hyper)  # attribute access to the hyperparameters

    # -- pieces ---------------------------------------------------------------------------------
    def _weights(self, rewards: list[float]) -> np.ndarray:
        return link_weights(rewards, self.h.softmax_temperature, self.h.link)

    def _propagate(self, parents: list[Particle], step: int, rng: np.random.Generator) -> list[Particle] | None:
        """Extend the active `parents` by one step each (one batched call) and rescore them."""
        act = [i for i, p in enumerate(parents) if not p.finished]
        groups = Counter(id(parents[i]) for i in act)  # copies of one ancestor share one request
        firsts = list(dict.fromkeys(id(parents[i]) for i in act))
        by_id = {id(parents[i]): parents[i] for i in act}
        heads = [by_id[k] for k in firsts]
        last = step == self.h.max_steps - 1
        outs = expand(
            self.run,
            rng,
            [p.text for p in heads],
            [groups[k] for k in firsts],
            last=last,
            n_tokens=[p.n_tokens for p in heads],
            kind="propagate",
            info={"step": step},
            temperature=self.h.temperature,
            top_p=self.h.top_p,
            max_step_tokens=self.h.max_step_tokens,
            max_tokens=self.h.max_tokens,
        )
        if outs is None:
            return None
        pools = {k: list(o) for k, o in zip(firsts, outs)}
        new = list(parents)
        for i in act:
            c = pools[id(parents[i])].pop(0)
            p = parents[i]
            done = last or step_finished(c) or p.n_tokens + c.n_tokens >= self.h.max_tokens
            new[i] = Particle(p.steps + (c.text,), p.rewards, (), done, p.step_tokens + (c.n_tokens,))
        sc = score_nodes(self.run, [new[i].text for i in act], self.h.agg, info={"step": step})
        if sc is None:
            return None
        for i, s, raw in zip(act, *sc):
            new[i] = replace(new[i], rewards=new[i].rewards + (s,), step_scores=tuple(raw))
        return new

    def _state(
        self, step: int, particles: list[Particle], ancestors, w_used: np.ndarray, reference: Particle | None
    ) -> tuple[State, Info]:
        w = self._weights([p.reward for p in particles])
        done = all(p.finished for p in particles)
        st = State(
            step,
            tuple(particles),
            tuple(float(x) for x in w),
            tuple(int(a) for a in ancestors),
            ess(w_used),
            done,
            "done" if done else None,
            reference,
        )
        info = Info(step, st.ancestors, tuple(float(x) for x in w_used), st.ess, st.scores)
        self.run.note("smc", info.as_dict())
        return st, info

    # -- the blackjax-style API -----------------------------------------------------------------
    def init(self, rng: np.random.Generator, reference: Particle | None = None) -> State:
        """Every particle takes its first step from the prompt and is scored (the authors' initial step).

        With a `reference` (particle Gibbs) ``n_particles - 1`` particles are fresh. If the budget
        does not allow the first step the state is empty and done (``stop_reason="budget"``).
        """
        n = self.h.n_particles - (1 if reference is not None else 0)
        if n < 1:
            raise ValueError(
                f"{self.run.strategy}: a reference particle needs n_particles >= 2, got {self.h.n_particles}"
            )
        new = self._propagate([Particle()] * n, 0, rng)
        if new is None:
            return State(0, (), (), (), 0.0, True, "budget", reference)
        u = np.full(n, 1.0 / n)
        st, _ = self._state(1, new, range(n), u, reference)
        return st

    def step(self, state: State, rng: np.random.Generator) -> tuple[State, Info]:
        """Resample, propagate, reweight. A done state is returned unchanged.

        1. resample: ancestors drawn by the `resampling` scheme (`itslab.strategies.resampling`)
           with `link_weights` of each particle's reward (its aggregated PRM score). With
           `resample_inactive` (the authors' runs) finished particles take part and are copied as
           they are; without it only active particles are resampled among themselves. A particle
           Gibbs reference joins the pool as its prefix of this depth, with that prefix's reward.
        2. propagate: every active particle takes one step, in ONE `Run.sample_batch` call with one
           request per distinct ancestor (``n`` = its copies: a prefix-caching backend reads it once).
        3. reweight: the PRM scores the extended particles (one `Run.score` call).
        """
        if state.done:
            return state, Info(state.step, state.ancestors, state.weights, state.ess, state.scores)
        parts, ref, t = list(state.particles), state.reference, state.step
        # the reference joins the pool as its prefix of this depth, with that prefix's reward
        pool = parts + ([ref.prefix(t)] if ref is not None else [])
        # slots to refill: every particle, or only the active ones; the pool adds the reference (always)
        slots = [i for i, p in enumerate(parts) if self.h.resample_inactive or not p.finished]
        idx = slots + ([len(parts)] if ref is not None else [])
        w = self._weights([pool[i].reward for i in idx])
        draws = [idx[a] for a in resample(w, rng, self.h.resampling, n=len(slots))]
        ancestors = list(range(len(parts)))
        parents = list(parts)
        for s, a in zip(slots, draws):
            ancestors[s], parents[s] = a, pool[a]
        new = self._propagate(parents, t, rng)
        if new is None:
            stopped = replace(state, done=True, stop_reason="budget")
            return stopped, Info(t, state.ancestors, state.weights, state.ess, state.scores)
        w_full = np.zeros(len(pool))
        w_full[idx] = w
        return self._state(t + 1, new, ancestors, w_full, ref)

    def result(self, state: State) -> Result:
        """The `Result`: particles (plus a reference) as candidates, the answer by the `select` rule."""
        parts = list(state.particles) + ([state.reference] if state.reference is not None else [])
        w = self._weights([p.reward for p in parts]) if parts and all(p.rewards for p in parts) else None
        cands = [
            candidate(
                self.run.problem,
                p.text,
                p.finished,
                p.reward if p.rewards else None,
                p.step_scores or None,
                index=i,
                n_tokens=p.n_tokens,
                weight=None if w is None else float(w[i]),
                reference=state.reference is not None and i == len(state.particles),
            )
            for i, p in enumerate(parts)
        ]
        answer, info = select_answer(
            cands, self.h.select, None if self.h.select != "weighted" or w is None else w, problem=self.run.problem
        )
        self.run.note("answer", {**info, "stop": state.stop_reason or "done"})
        return self.run.finish(answer, cands, hyper=self.hyper)

    def choose_reference(self, state: State, rng: np.random.Generator) -> Particle:
        """Particle Gibbs: the next reference, drawn by weight from the particles and the current reference."""
        parts = list(state.particles) + ([state.reference] if state.reference is not None else [])
        w = self._weights([p.reward for p in parts])
        return parts[int(resample(w, rng, "multinomial", n=1)[0])]


@register("particle_filter", size="n_particles", rollout_samples=lambda h: int(h["max_steps"]))
def particle_filter(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n_particles: int = 16,
    temperature: float = 0.8,
    top_p: float = 1.0,
    softmax_temperature: float = 1.0,
    link: str = "logit",
    resampling: str = "multinomial",
    resample_inactive: bool = True,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "best",
) -> Result:
    """Particle filtering for inference-time scaling (Puri et al. 2025): see `ParticleFilter`.

    Defaults are the authors' runs: 0.8 sampling temperature, softmax temperature 1, logit link,
    multinomial resampling, finished particles resampled, the best-reward particle's answer.
    """
    run = Run("particle_filter", problem, generator, verifier, budget)
    pf = ParticleFilter(
        run,
        n_particles=n_particles,
        temperature=temperature,
        top_p=top_p,
        softmax_temperature=softmax_temperature,
        link=link,
        resampling=resampling,
        resample_inactive=resample_inactive,
        agg=agg,
        max_steps=max_steps,
        max_step_tokens=max_step_tokens,
        max_tokens=max_tokens,
        select=select,
    )
    state = pf.init(rng)
    while not state.done:
        state, _ = pf.step(state, rng)
    return pf.result(state)


@register("particle_gibbs", size="n_particles", rollout_samples=lambda h: int(h["max_steps"]) * int(h["n_iterations"]))
def particle_gibbs(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n_particles: int = 16,
    n_iterations: int = 2,
    temperature: float = 0.8,
    top_p: float = 1.0,
    softmax_temperature: float = 1.0,
    link: str = "logit",
    resampling: str = "multinomial",
    resample_inactive: bool = True,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "best",
) -> Result:
    """Particle Gibbs (Puri et al. 2025, §3.2; the authors' ``particle_gibbs``): `n_iterations` filters,
    each after the first conditioned on a reference particle drawn by weight from the last one.

    The reference joins each resampling as its prefix of the same depth, with its reward at that
    depth, and is kept in the output (Andrieu, Doucet & Holenstein 2010). The authors' code pairs
    the reward after t + 1 steps with the prefix of t steps (an off-by-one); we use the same
    prefix's reward. The answer comes from the last completed iteration's particles plus its
    reference. An iteration the budget cuts short is discarded unless it is the first.
    """
    check_step_hyper("particle_gibbs", verifier, n_iterations=n_iterations)
    if n_iterations > 1 and n_particles < 2:
        raise ValueError(f"particle_gibbs: n_iterations > 1 needs n_particles >= 2, got {n_particles}")
    run = Run("particle_gibbs", problem, generator, verifier, budget)
    pf = ParticleFilter(
        run,
        n_particles=n_particles,
        temperature=temperature,
        top_p=top_p,
        softmax_temperature=softmax_temperature,
        link=link,
        resampling=resampling,
        resample_inactive=resample_inactive,
        agg=agg,
        max_steps=max_steps,
        max_step_tokens=max_step_tokens,
        max_tokens=max_tokens,
        select=select,
    )
    pf.hyper["n_iterations"] = n_iterations
    best: State | None = None
    for it in range(n_iterations):
        state = pf.init(rng, reference=None if best is None else pf.choose_reference(best, rng))
        while not state.done:
            state, _ = pf.step(state, rng)
        run.note("iteration", {"iteration": it, "stop": state.stop_reason})
        if best is None or state.stop_reason == "done":
            best = state
        if state.stop_reason != "done":
            break
    assert best is not None  # the loop runs at least once
    return pf.result(best)
