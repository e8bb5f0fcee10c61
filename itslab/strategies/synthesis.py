"""Answer synthesis: the generator reads N candidate solutions and writes one final answer.

Zhang et al. 2025, *CoT-based Synthesizer: Enhancing LLM Performance through Answer Synthesis*
(arXiv:2501.01668): instead of selecting among candidates (majority vote, best-of-N), a model reads
them all and reasons its way to one answer, which may be none of theirs. Here the same generator
synthesises (the paper also trains a small dedicated synthesiser). Cost: the N candidates plus one
call whose prompt holds all of them, charged like any other sample. On the simulators the
synthesis call needs `itslab.generators.simulated.synthesis.SynthesisSimulator` (the stated model
of what a synthesiser does); a plain simulator just answers afresh.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.generators.simulated.synthesis import SYNTHESIS_END, SYNTHESIS_START
from itslab.protocols import Generator, Verifier, prompt_for
from itslab.strategies import register
from itslab.strategies.base import Run, extract
from itslab.strategies.sampling import _candidates, _vote, draw_pool
from itslab.trace import Candidate, Result
from itslab.types import Problem

SYNTHESIS_PROMPT = (
    "{question}\n\nBelow are several responses to this problem. Some may be wrong. Read them, "
    "work out which reasoning is right (the most frequent answer is often, not always, correct; if "
    "none is right, solve it yourself), and write one final answer in the format the problem asks for.\n\n"
    + SYNTHESIS_START
    + "\n{responses}\n"
    + SYNTHESIS_END
    + "\n"
)


def synthesis_problem(problem: Problem, texts: Sequence[str]) -> Problem:
    """The synthesis prompt as a problem (its prompt starts with the original one, so simulators find it)."""
    responses = "\n".join(f"Response {i + 1}: {t.strip()}" for i, t in enumerate(texts))
    prompt = SYNTHESIS_PROMPT.format(question=problem.prompt, responses=responses)
    return Problem(id=f"{problem.id}/synthesis", prompt=prompt, answer=problem.answer, meta=problem.meta)


@register("synthesize")
def synthesize(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    synthesis_max_tokens: int | None = None,
    synthesis_temperature: float = 0.0,
) -> Result:
    """Draw N candidates, then one generator call that reads them all and writes the answer.

    With ``n=None`` the budget sets N, one sample kept back for the synthesis. If the synthesis
    prompt with every candidate does not fit the budget, the last candidates are left out of it;
    if none fits, or the synthesis gives no answer, the answer is the candidates' majority vote
    (traced as a ``vote`` step with ``fallback``).
    """
    run = Run("synthesize", problem, generator, None, budget)
    smt = synthesis_max_tokens or max_tokens
    k = run.affordable(run.prompt, max(max_tokens, smt), None if n is None else n + 1)
    if k < 2:
        run.too_small(run.worst_case([run.prompt], [2], max_tokens), "one candidate and the synthesis call")
    pool = draw_pool(run, rng, k - 1, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    cands: list[Candidate] = _candidates(problem, pool)
    texts = [c.text for c in pool]
    m, prefix = len(texts), ""
    while m > 0:
        prefix = prompt_for(synthesis_problem(problem, texts[:m]), generator)
        if run.meter.can_afford(run.worst_case([prefix], [1], smt)):
            break
        m -= 1
    answer, fallback = None, "synthesis did not fit the budget"
    if m > 0:
        out = run.sample(
            prefix, 1, rng, kind="synthesize", info={"n_read": m}, max_tokens=smt, temperature=synthesis_temperature
        )
        if out:
            answer = extract(problem, out[0].text)
            cands.append(Candidate(out[0].text, answer, None, None, {"synthesis": True, "n_read": m}))
            fallback = "synthesis gave no answer"
    if answer is None:
        answer, info = _vote([c.answer for c in cands[: len(pool)]], [1.0] * len(pool), problem)
        run.note("vote", {**info, "fallback": fallback})
    hyper: dict[str, Any] = dict(
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        synthesis_max_tokens=synthesis_max_tokens,
        synthesis_temperature=synthesis_temperature,
    )
    return run.finish(answer, cands, hyper=hyper)
