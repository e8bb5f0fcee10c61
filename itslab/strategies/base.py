"""The bookkeeping every strategy shares: spend only through a `Run`, which meters and traces.

A strategy asks `Run.affordable` how many samples it may draw in the worst case (every sample
runs to ``max_tokens``, no prefix cached), draws them with `Run.sample` / `Run.sample_batch`,
scores them with `Run.score`, and ends with `Run.finish`. Each call charges the *actual* usage to
the `Meter` and appends a `StepRecord`, so ``Result.usage`` is the sum of the trace by
construction and can never exceed the budget.
"""

from __future__ import annotations

import re
import time
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.budget import Budget, CostModel, Meter
from itslab.generators.common import count_tokens
from itslab.protocols import STEP_DELIMITER, Generator, Scores, Verifier, prompt_for
from itslab.rng import draw_seed
from itslab.trace import Candidate, Result, StepRecord
from itslab.types import USAGE_AXES, Completion, Problem, Request, Usage, total_usage


class Run:
    """Per-call ledger of one strategy on one problem: meter, cost model and trace."""

    def __init__(
        self, strategy: str, problem: Problem, generator: Generator, verifier: Verifier | None, budget: Budget
    ) -> None:
        self.strategy, self.problem, self.generator, self.verifier = strategy, problem, generator, verifier
        self.meter = Meter(budget)
        self.cost = CostModel(
            generator_params=float(getattr(generator, "n_params", 0.0) or 0.0),
            verifier_params=float(getattr(verifier, "n_params", 0.0) or 0.0),
        )
        self.steps: list[StepRecord] = []
        self._prompt: str | None = None

    @property
    def prompt(self) -> str:
        """The problem's prompt as the generator's prefix (computed once)."""
        if self._prompt is None:
            self._prompt = prompt_for(self.problem, self.generator)
        return self._prompt

    # -- spending -------------------------------------------------------------------------
    def worst_case(
        self, prefixes: Sequence[str], ns: Sequence[int], max_tokens: int, generator: Generator | None = None
    ) -> Usage:
        """Usage if every prefix is read uncached and every sample runs to `max_tokens` (on `generator`,
        default the run's own)."""
        gen, cost = self._model(generator)
        p = sum(count_tokens(gen, x) for x, n in zip(prefixes, ns) if n > 0)
        g = sum(ns) * max_tokens
        return Usage(
            samples=sum(ns),
            prompt_tokens=p,
            generated_tokens=g,
            generator_flops=2.0 * cost.generator_params * (p + g),
        )

    def _model(self, generator: Generator | None) -> tuple[Generator, CostModel]:
        """The generator to call and its cost model: the run's own, or another model it holds (a
        `ModelPair`'s drafter), priced at that model's own size."""
        if generator is None or generator is self.generator:
            return self.generator, self.cost
        return generator, CostModel(generator_params=float(getattr(generator, "n_params", 0.0) or 0.0))

    def affordable(self, prefix: str, max_tokens: int, want: int | None = None) -> int:
        """How many samples of `prefix` (at most `want`) fit in the remaining budget, worst case."""
        p = count_tokens(self.generator, prefix)
        if want is not None:
            return self.meter.affordable_samples(p, max_tokens, cost=self.cost, at_most=want)
        try:
            k = self.meter.affordable_samples(p, max_tokens, cost=self.cost)
        except ValueError:
            # the budget does not bound generation (e.g. only verifier calls are limited)
            raise ValueError(
                f"{self.strategy}: budget {dict(self.meter.budget.limits)} does not bound the "
                f"number of samples; pass n= or limit samples, tokens or FLOPs"
            ) from None
        return k

    def sample_batch(
        self,
        requests: Sequence[Request],
        *,
        kind: str,
        info: Mapping[str, Any] | None = None,
        generator: Generator | None = None,
    ) -> list[list[Completion]] | None:
        """Generate `requests` if their worst case fits; charge actual usage and trace the step.

        Returns None (and spends nothing) when the worst case does not fit. `generator` runs them
        on another model than the run's (a `ModelPair`'s drafter), counted and priced as that model.
        """
        if not requests:
            return []
        gen, cost = self._model(generator)
        mt = max(r.max_tokens for r in requests)
        worst = self.worst_case([r.prefix for r in requests], [r.n for r in requests], mt, gen)
        if not self.meter.can_afford(worst):
            if not self.steps:
                self.too_small(worst, f"its first step ({sum(r.n for r in requests)} samples of up to {mt} tokens)")
            return None
        t0 = time.perf_counter()
        outs = gen.generate(list(requests))
        wall = time.perf_counter() - t0
        flat = [c for cs in outs for c in cs]
        # a generator that knows its samples' models (a mixture) charges each to its own cost model
        own = getattr(gen, "usage_of", None)
        u = own(flat) if callable(own) else cost.generator_usage(flat)
        u = Usage(**{**_fields(u), "wall_time": wall})
        self.meter.charge(u)
        # the longest sample is the step's critical path for a wall-clock model (scaling.latency)
        rec_info = {
            "n_requests": len(requests),
            "n_cached_tokens": u.cached_tokens,
            "max_sample_tokens": max((c.n_tokens for c in flat), default=0),
        }
        rec_info.update(info or {})
        self.steps.append(StepRecord(len(self.steps), kind, u, rec_info))
        return outs

    def too_small(self, need: Usage, what: str) -> None:
        """Raise `BudgetTooSmall`: the budget cannot pay for `need`, what the strategy must spend first."""
        from itslab.budget import BudgetTooSmall

        lim = self.meter.budget.limits
        short = {a: need.get(a) for a in lim if need.get(a) > lim[a]}
        raise BudgetTooSmall(
            f"{self.strategy}: budget {dict(lim)} cannot buy {what}, which needs at least "
            + ", ".join(f"{a}={v:g}" for a, v in short.items())
            + " (raise the budget, shrink the strategy, or sweep on rollouts)",
            need=need,
            budget=self.meter.budget,
        )

    def sample(
        self,
        prefix: str,
        n: int,
        rng: np.random.Generator,
        *,
        kind: str = "sample",
        info: Mapping[str, Any] | None = None,
        **sampling: Any,
    ) -> list[Completion] | None:
        """Draw `n` samples of `prefix` with a seed drawn from `rng` (None if it does not fit)."""
        if n <= 0:
            return []
        req = Request(prefix=prefix, n=n, seed=draw_seed(rng), **sampling)
        out = self.sample_batch([req], kind=kind, info={"seed": req.seed, **(info or {})})
        return None if out is None else out[0]

    def score(
        self, texts: Sequence[str], *, kind: str = "verify", info: Mapping[str, Any] | None = None
    ) -> list[Scores] | None:
        """Score `texts` with the verifier if its cost fits (None otherwise); charge and trace it."""
        if self.verifier is None:
            raise ValueError(f"strategy {self.strategy!r} needs a verifier, got None")
        if not texts:
            return []
        cost = self.verifier.cost(self.problem, list(texts))
        if not self.meter.can_afford(cost):
            return None
        t0 = time.perf_counter()
        scores = [tuple(float(x) for x in s) for s in self.verifier.score(self.problem, list(texts))]
        cost = Usage(**{**_fields(cost), "wall_time": time.perf_counter() - t0})
        self.meter.charge(cost)
        self.steps.append(StepRecord(len(self.steps), kind, cost, {"n_texts": len(texts), **(info or {})}))
        return scores

    def affordable_scores(self, texts: Sequence[str]) -> int:
        """How many of `texts`, taken in order, the verifier can still score within the budget."""
        if self.verifier is None:
            return 0
        lo, hi = 0, len(texts)
        while lo < hi:  # cost is monotone in the number of texts
            mid = (lo + hi + 1) // 2
            if self.meter.can_afford(self.verifier.cost(self.problem, list(texts[:mid]))):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def note(self, kind: str, info: Mapping[str, Any]) -> None:
        """Trace a step that spent nothing (a resampling, a selection)."""
        self.steps.append(StepRecord(len(self.steps), kind, Usage(), info))

    # -- ending ---------------------------------------------------------------------------
    def finish(self, answer: str | None, candidates: Sequence[Candidate], *, hyper: Mapping[str, Any]) -> Result:
        """The frozen `Result`; `correct` is set when the problem can be graded (the one grading rule)."""
        from itslab.tasks.checking import check_answer, gradable

        correct = None
        if gradable(self.problem):
            correct = check_answer(self.problem, answer)
        usage = total_usage([s.usage for s in self.steps])
        return Result(
            problem_id=self.problem.id,
            strategy=self.strategy,
            answer=answer,
            candidates=tuple(candidates),
            trace=tuple(self.steps),
            usage=usage,
            hyper=dict(hyper),
            correct=correct,
        )


def _fields(u: Usage) -> dict[str, Any]:
    # Usage holds only numbers, so a shallow read is the same as dataclasses.asdict, minus its deep copy
    return {f: getattr(u, f) for f in USAGE_AXES}


def extract(problem: Problem, text: str) -> str | None:
    """The final answer `text` gives for `problem` (`itslab.tasks.answer_of`: the one grading rule's extraction)."""
    from itslab.tasks.checking import answer_of

    return answer_of(problem, text)


def equivalence_classes(answers: Sequence[str | None], problem: Problem | None = None) -> list[int]:
    """Class id per answer, grouping equivalent answers; None answers each get class -1.

    Answers are first keyed by `itslab.tasks.vote_key` (the normalised form; a Countdown
    expression's value and numbers), then distinct keys are merged when `itslab.tasks.same_answer`
    says so for `problem` (few distinct answers per problem, so the pairwise pass is cheap).
    """
    from itslab.tasks.checking import same_answer, vote_key

    reps: list[str] = []
    key_to_class: dict[str, int] = {}
    out: list[int] = []
    for a in answers:
        if a is None:
            out.append(-1)
            continue
        key = vote_key(problem, a)
        if key not in key_to_class:
            cls = next((i for i, r in enumerate(reps) if same_answer(problem, r, a)), None)
            if cls is None:
                reps.append(a)
                cls = len(reps) - 1
            key_to_class[key] = cls
        out.append(key_to_class[key])
    return out


def outcome_score(scores: Scores, agg: str = "last") -> float:
    """One number per candidate: the outcome score, or the process scores aggregated by `agg`."""
    from itslab.verifiers import aggregate

    return float(scores[0]) if len(scores) == 1 else float(aggregate(scores, how=agg))


_FINAL_ANSWER = re.compile(r"\\(?:boxed|fbox)\s*\{|^\s*####", re.MULTILINE)


def step_finished(completion: Completion, delimiter: str = STEP_DELIMITER) -> bool:
    """Whether a step generated with ``stop=(delimiter,)`` ends its solution (step-level strategies' one rule).

    A step ends the solution when it states a final answer (``\\boxed{``, ``\\fbox{`` or a
    ``#### N`` line), when it is empty, or when the model stopped on its own (EOS) before writing
    `delimiter` — finish_reason ``"stop"`` and the text does not end with it. A step cut by
    ``max_tokens`` (finish_reason ``"length"``) does not end the solution: the next step continues
    it, as in REBASE and search-and-learn's DVTS (the strategies' total ``max_tokens`` and
    ``max_steps`` bound it). Puri et al. end a particle on EOS or ``\\boxed``. Generators keep the
    stop string in the output (vLLM's ``include_stop_str_in_output=True``), as itslab's backends do.
    """
    text = completion.text
    if not text.strip() or _FINAL_ANSWER.search(text):
        return True
    return completion.finish_reason != "length" and not text.endswith(delimiter)
