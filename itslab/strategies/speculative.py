"""Speculative reasoning (SpecReason, Pan et al. 2025, arXiv:2504.07891): a small model writes each
reasoning step, the large model scores it, and the step stays when the score reaches the threshold;
otherwise the large model writes that step itself.

The generator is a `ModelPair` (a plain generator drafts for itself); the verifier scores the
solution so far and its last score is the new step's (a process verifier's last step, or, when
none is given, `StepScore`: the target's 0–9 rating read from its digit log-probabilities).
Scores lie in [0, 1]; the threshold is on SpecReason's 0–9 scale (keep a draft when 9·score ≥
threshold). At ``threshold <= 0`` every draft is kept unscored and at ``threshold > 9`` nothing is
drafted; both ends draw the same per-step seeds, so they are exactly the drafter's and the
target's own step-by-step sampling. Drafts are charged at the drafter's size, the target's steps
and the scoring at the target's; every call's wall time is in the trace.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from itslab.budget import Budget
from itslab.protocols import STEP_DELIMITER, Generator, Verifier, prompt_for
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run, extract, outcome_score, step_finished
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem, Request


def _check(
    threshold: float, max_steps: int, max_step_tokens: int, max_tokens: int, temperature: float, delimiter: str
) -> None:
    if not isinstance(delimiter, str) or not delimiter:
        raise ValueError(f"speculative_reasoning: delimiter must be a non-empty string, got {delimiter!r}")
    for k, v in (("max_steps", max_steps), ("max_step_tokens", max_step_tokens), ("max_tokens", max_tokens)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"speculative_reasoning: {k} must be an int >= 1, got {v!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"speculative_reasoning: threshold must be a finite number (0-9 scale), got {threshold!r}")
    if not temperature >= 0:
        raise ValueError(f"speculative_reasoning: temperature must be >= 0, got {temperature!r}")


@register("speculative_reasoning", size="max_steps", rollout_samples=lambda h: 2)
def speculative_reasoning(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    threshold: float = 7.0,
    max_steps: int = 32,
    max_step_tokens: int = 256,
    max_tokens: int = 1024,
    temperature: float = 0.6,
    top_p: float = 0.95,
    delimiter: str = STEP_DELIMITER,
) -> Result:
    """SpecReason's loop: draft a step, score it, keep it or let the target write it, until the
    solution ends (`step_finished`), `max_steps` or `max_tokens` run out, or the budget does.

    Defaults follow the authors' code: threshold 7, temperature 0.6, top-p 0.95, steps ending at a
    blank line (`delimiter`)."""
    _check(threshold, max_steps, max_step_tokens, max_tokens, temperature, delimiter)
    hyper = dict(threshold=threshold, max_steps=max_steps, max_step_tokens=max_step_tokens, max_tokens=max_tokens,
                 temperature=temperature, top_p=top_p, delimiter=delimiter)  # fmt: skip
    if verifier is None and 0 < threshold <= 9:
        from itslab.verifiers.step_score import StepScore

        verifier = StepScore(generator)  # the target rates the drafts
    run = Run("speculative_reasoning", problem, generator, verifier, budget)
    drafter = getattr(generator, "drafter", generator)
    draft_prompt = run.prompt if drafter is generator else prompt_for(problem, drafter)
    text, n_tok, n_steps, n_kept, stop = "", 0, 0, 0, "max_steps"
    scores: list[float] = []
    for i in range(max_steps):
        mt = min(max_step_tokens, max_tokens - n_tok)
        if mt < 1:
            stop = "max_tokens"
            break
        seed = draw_seed(rng)  # one seed per step, whoever writes it
        reqs = [
            Request(prefix + text, n=1, max_tokens=mt, temperature=temperature, top_p=top_p,
                    stop=(delimiter,), seed=seed)
            for prefix in (draft_prompt, run.prompt)
        ]  # fmt: skip
        comp: Completion | None = None
        if threshold <= 9:
            spec = _speculate(run, drafter, reqs[0], threshold, text, i)
            if spec is None:
                stop = "budget"
                break
            if spec[2] is not None:
                scores.append(spec[2])
            if spec[1]:
                comp, n_kept = spec[0], n_kept + 1
        if comp is None:
            out = run.sample_batch([reqs[1]], kind="target", info={"step": i, "seed": seed})
            if out is None:
                stop = "budget"
                break
            comp = out[0][0]
        text, n_tok, n_steps = text + comp.text, n_tok + comp.n_tokens, n_steps + 1
        if step_finished(comp, delimiter):
            stop = "done"
            break
    info: dict[str, Any] = {"stop": stop, "n_steps": n_steps, "n_kept": n_kept, "n_tokens": n_tok}
    run.note("answer", info)
    finished = stop == "done"
    answer = extract(problem, text) if finished else None
    cand = Candidate(text, answer, None, tuple(scores) or None, {"finished": finished, **info})
    return run.finish(answer, [cand], hyper=hyper)


def _speculate(
    run: Run, drafter: Any, req: Request, threshold: float, text: str, i: int
) -> tuple[Completion, bool, float | None] | None:
    """(draft, kept, its 0–9 score) for step `i`, or None when the draft does not fit the budget.

    A draft that cannot be scored within the budget is not kept (the target writes the step)."""
    out = run.sample_batch([req], kind="draft", info={"step": i, "seed": req.seed}, generator=drafter)
    if out is None:
        return None
    draft, score = out[0][0], None
    if threshold <= 0:
        kept = True
    elif run.affordable_scores([text + draft.text]) < 1:
        kept = False
    else:
        raw = run.score([text + draft.text], kind="score", info={"step": i})
        score = 9.0 * outcome_score(raw[0], "last") if raw else float("nan")
        kept = bool(score >= threshold)
    run.note("verdict", {"step": i, "kept": kept, "score": score})
    return draft, kept, score
