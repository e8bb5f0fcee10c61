"""The three structural protocols every backend, verifier and strategy satisfies (docs/architecture.md)."""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from itslab.budget import Budget
from itslab.trace import Result
from itslab.types import Completion, Problem, Request, Usage

STEP_DELIMITER = "\n\n"
"""Default separator between reasoning steps (as in search-and-learn and most PRM papers)."""

Scores = tuple[float, ...]
"""Verifier output for one text: one score (outcome verifier) or one per step (process verifier)."""


@runtime_checkable
class Generator(Protocol):
    """A language model (real, simulated or recorded) that continues text prefixes.

    ``generate(requests)[i][j]`` is sample j of request i; sample j depends only on
    (request prefix, sampling params, seed, j), so the first k of n samples are the same for every
    n ≥ k. `model_id` names the model; `n_params` (may be 0 for simulators) feeds FLOPs estimates.

    Optional methods strategies use when present: ``count_tokens(text) -> int`` (exact prompt
    length, for worst-case budget checks; otherwise the UTF-8 byte length bounds it),
    ``format_prompt(problem) -> str`` and ``chat_prompt(messages) -> str`` (chat templating; see
    `prompt_for`, the one route from a problem to a prefix), ``usage_of(completions) -> Usage``
    (a generator over several models, e.g. `MixtureGenerator`, charges each sample to its own
    model's cost; otherwise `Run` prices all samples with its one `CostModel`).
    """

    model_id: str
    n_params: float

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]: ...


def prompt_for(problem: Problem, generator: Any, *, chat: bool | None = None) -> str:
    """The prefix `generator` continues for `problem`: the one prompt route of strategies, pools and banks.

    The generator's ``format_prompt(problem)`` when it has one; else its ``chat_prompt`` applied
    to the problem's chat ``messages`` (or its prompt as one user turn); else ``problem.prompt``.
    ``chat=False`` forces the plain prompt; ``chat=True`` requires a chat template.
    """
    if chat is False:
        return problem.prompt
    fmt = getattr(generator, "format_prompt", None)
    if callable(fmt):
        return fmt(problem)
    tmpl = getattr(generator, "chat_prompt", None)
    if callable(tmpl):
        return tmpl(problem.messages or ({"role": "user", "content": problem.prompt},))
    if chat:
        raise ValueError(
            f"chat=True needs a generator with a chat template (format_prompt or chat_prompt); "
            f"{getattr(generator, 'model_id', type(generator).__name__)!r} has neither "
            f"(problem {problem.id!r})"
        )
    return problem.prompt


@runtime_checkable
class Verifier(Protocol):
    """Scores candidate solutions of a problem: higher is better.

    Outcome verifiers return one score per text, process verifiers one per step (steps split on
    `STEP_DELIMITER` unless the verifier says otherwise). `cost` says, before scoring, what
    scoring these texts will charge to the budget (verifier calls, tokens, FLOPs), so strategies
    can check a `Meter` first; it is deterministic and equal to what `score` spends.
    """

    name: str

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]: ...

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage: ...


class Strategy(Protocol):
    """``(problem, generator, verifier, budget, rng, **hyper) -> Result``; never exceeds the budget."""

    def __call__(
        self,
        problem: Problem,
        generator: Generator,
        verifier: Verifier | None,
        budget: Budget,
        rng: np.random.Generator,
        **hyper: Any,
    ) -> Result: ...


class GeneratorWrapper:
    """Base of generators that wrap another (pools, batching, counters): same model id and size,
    and every attribute they do not define — `format_prompt`, `count_tokens`, `logprob_of`, ... —
    read from the wrapped one, so strategies see the model's own prompt format through any stack."""

    # a wrapper is not safe to call from several threads at once unless it says so (its counters,
    # stores and pools assume one caller), whatever the engine under it allows
    admits_concurrent_calls = False

    def __init__(self, generator: Generator) -> None:
        self.inner = generator
        self.model_id = generator.model_id
        self.n_params = getattr(generator, "n_params", 0.0)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "inner":  # unpickling / copying before __init__ ran
            raise AttributeError(name)
        return getattr(self.inner, name)
