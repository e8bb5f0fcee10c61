"""Budget forcing (s1, Muennighoff et al. 2025, arXiv:2501.19393): control how long a model thinks.

Thinking is generated with the end-of-thinking delimiter `think_end` as a stop string. When the
model tries to end (the delimiter, or end-of-sequence) before `n_waits` extensions are spent or
before `min_thinking_tokens`, the delimiter is stripped, `wait` ("Wait") is appended and thinking
goes on; once `max_thinking_tokens` are spent, the delimiter and `answer_prompt` are appended and
the answer is forced. START's Hint-infer (Li et al. 2025, arXiv:2503.04625) is the same loop with
a hint in place of "Wait" (`wait` may be a tuple, used in turn). `probe_answers` also asks for the
answer at every extension point, so one trace gives the accuracy after 0, 1, ... "Wait"s.

Without a thinking cap each call may use `max_tokens` (reaching it forces the answer too); the
answer gets `max_answer_tokens`, stopped by `answer_stop`.
`n` traces run side by side (one generator call per round for all of them) and vote (`vote`:
"majority" or "shortest_majority"). With no cap, no "Wait", no minimum and no probes this is plain
sampling: one call, exactly majority voting. Every inserted string and every re-read prefix is
charged: each round's prefixes go to the generator and are metered like any prompt (the uncached
part as prompt tokens, the rest as cached tokens), and the step's info counts the inserted tokens.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.generators.common import count_tokens
from itslab.generators.simulated.sequential import THINK_END, WAIT
from itslab.protocols import Generator, Verifier
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run, extract
from itslab.strategies.length_vote import VOTES, select
from itslab.strategies.sampling import _candidates, draw_pool
from itslab.trace import Candidate, Result
from itslab.types import Problem, Request, Usage


class _Trace:
    """Mutable state of one forced trace while the rounds run (the Result keeps a frozen copy)."""

    def __init__(self) -> None:
        self.text, self.state = "", "think"  # think -> answer -> done
        self.final = ""  # the delimiter, answer prompt and forced answer: where the answer is read
        self.thinking = self.waits = self.inserted = self.answer_tokens = 0
        self.forced = False
        self.probe: str | None = None  # a probe prefix waiting for the next round
        self.probes: list[str | None] = []
        self.probe_thinking: list[int] = []  # thinking tokens when each probe was asked


def _rollout_samples(hyper: Mapping[str, Any]) -> int:
    waits = int(hyper["n_waits"])
    return 2 + waits + (waits if hyper["probe_answers"] else 0)


def _check(
    n: int | None, max_thinking: int | None, min_thinking: int, n_waits: int, max_answer: int, vote: str
) -> None:
    if vote not in VOTES:
        raise ValueError(f"budget_forcing: vote must be one of {VOTES}, got {vote!r}")
    if n is not None and n < 1:
        raise ValueError(f"budget_forcing: n must be >= 1 or None, got {n}")
    if max_thinking is not None and max_thinking < 1:
        raise ValueError(f"budget_forcing: max_thinking_tokens must be >= 1 or None, got {max_thinking}")
    if min_thinking < 0 or n_waits < 0 or max_answer < 1:
        raise ValueError(
            f"budget_forcing: need min_thinking_tokens >= 0, n_waits >= 0, max_answer_tokens >= 1; got "
            f"{min_thinking}, {n_waits}, {max_answer}"
        )


@register("budget_forcing", rollout_samples=_rollout_samples)
def budget_forcing(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int | None = 1,
    max_thinking_tokens: int | None = None,
    min_thinking_tokens: int = 0,
    n_waits: int = 0,
    wait: str | Sequence[str] = WAIT,
    think_end: str = THINK_END,
    answer_prompt: str = "",
    max_answer_tokens: int = 32,
    answer_stop: Sequence[str] = (),
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 1.0,
    probe_answers: bool = False,
    vote: str = "majority",
) -> Result:
    """s1 budget forcing on `n` parallel traces, then a vote (Muennighoff et al. 2025, arXiv:2501.19393)."""
    _check(n, max_thinking_tokens, min_thinking_tokens, n_waits, max_answer_tokens, vote)
    waits = (wait,) if isinstance(wait, str) else tuple(wait)
    if not waits or not think_end:
        raise ValueError(f"budget_forcing: need a non-empty wait and think_end, got {wait!r}, {think_end!r}")
    hyper = {
        "n": n,
        "max_thinking_tokens": max_thinking_tokens,
        "min_thinking_tokens": min_thinking_tokens,
        "n_waits": n_waits,
        "wait": waits,
        "think_end": think_end,
        "answer_prompt": answer_prompt,
        "max_answer_tokens": max_answer_tokens,
        "answer_stop": tuple(answer_stop),
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "probe_answers": probe_answers,
        "vote": vote,
    }
    run = Run("budget_forcing", problem, generator, None, budget)
    if max_thinking_tokens is None and not (n_waits or min_thinking_tokens or probe_answers):
        # nothing to force: plain sampling, one call (the known-answer case)
        pool = draw_pool(run, rng, n, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
        cands = _candidates(problem, pool)
        lengths = [c.n_tokens for c in pool]
        return _finish(run, problem, cands, lengths, vote, hyper)
    sampling = {"temperature": temperature, "top_p": top_p}
    forcer = _Forcer(run, problem, rng, hyper, waits, sampling)
    traces = forcer.start(n)
    while forcer.round(traces):
        pass
    cands = [
        Candidate(
            t.text,
            _answer(problem, t),
            None,
            None,
            {
                "index": i,
                "thinking_tokens": t.thinking,
                "n_waits": t.waits,
                "forced_end": t.forced,
                "inserted_tokens": t.inserted,
                "answer_tokens": t.answer_tokens,
                "probe_answers": tuple(t.probes),
                "probe_thinking_tokens": tuple(t.probe_thinking),
            },
        )
        for i, t in enumerate(traces)
    ]
    return _finish(run, problem, cands, [t.thinking + t.answer_tokens for t in traces], vote, hyper)


def _answer(problem: Problem, t: _Trace) -> str | None:
    """The forced answer (read after the delimiter, so a number in the thinking cannot shadow it), else
    what the whole trace says (a model that answered on its own, or a trace the budget stopped)."""
    got = extract(problem, t.final) if t.final else None
    return got if got is not None else extract(problem, t.text)


def _finish(
    run: Run, problem: Problem, cands: list[Candidate], lengths: list[int], vote: str, hyper: dict[str, Any]
) -> Result:
    answer, info = select(vote, [c.answer for c in cands], lengths, problem)
    run.note("vote", info)
    return run.finish(answer, cands, hyper=hyper)


class _Forcer:
    """The rounds of budget forcing for one problem: build requests, charge them, advance traces."""

    def __init__(
        self,
        run: Run,
        problem: Problem,
        rng: np.random.Generator,
        hyper: Mapping[str, Any],
        waits: tuple[str, ...],
        sampling: Mapping[str, Any],
    ) -> None:
        self.run, self.problem, self.rng, self.h, self.waits, self.sampling = run, problem, rng, hyper, waits, sampling
        self.n_round = 0
        self.pending = 0  # tokens inserted since the last call: read (and charged) in the next one
        self.end = str(hyper["think_end"]) + str(hyper["answer_prompt"])

    def _cap(self, t: _Trace) -> int:
        """Tokens the next thinking segment of `t` may use."""
        cap = self.h["max_thinking_tokens"]
        return int(self.h["max_tokens"]) if cap is None else max(0, int(cap) - t.thinking)

    def _answer_worst(self, traces: Sequence[_Trace]) -> Usage:
        """Worst case of forcing every thinking trace's answer after its next segment."""
        gen, run = self.run.generator, self.run
        p = sum(count_tokens(gen, run.prompt + t.text + self.end) + self._cap(t) for t in traces)
        g = len(traces) * int(self.h["max_answer_tokens"])
        return Usage(
            samples=len(traces),
            prompt_tokens=p,
            generated_tokens=g,
            generator_flops=2.0 * run.cost.generator_params * (p + g),
        )

    def start(self, n: int | None) -> list[_Trace]:
        """As many traces as `n` (or the budget) allows, each able to think once and answer."""
        run, cap0 = self.run, self._cap(_Trace())

        def fits(k: int) -> bool:
            first = run.worst_case([run.prompt], [k], max(cap0, 1))
            return run.meter.can_afford(first + self._answer_worst([_Trace()] * k))

        if n is not None:
            k = n
            while k > 0 and not fits(k):
                k -= 1
        else:  # as many as fit: double, then bisect
            lo, hi = 0, 1
            while fits(hi) and hi < 1 << 12:
                lo, hi = hi, 2 * hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            k = lo
        if k == 0:
            need = run.worst_case([run.prompt], [1], max(cap0, 1)) + self._answer_worst([_Trace()])
            run.too_small(need, "one forced trace (a thinking segment and a forced answer)")
        traces = [_Trace() for _ in range(k)]
        if cap0 == 0:  # no thinking allowed at all: answer at once
            for t in traces:
                self._force(t)
        return traces

    def _insert(self, t: _Trace, text: str) -> None:
        k = count_tokens(self.run.generator, text)
        t.inserted += k
        self.pending += k

    def _force(self, t: _Trace) -> None:
        t.text += self.end
        self._insert(t, self.end)
        t.forced, t.state = True, "answer"

    def round(self, traces: list[_Trace]) -> bool:
        """Run one generator call for every live trace; False when all traces are done."""
        think = [t for t in traces if t.state == "think"]
        answer = [t for t in traces if t.state == "answer"]
        probes = [t for t in traces if t.probe is not None]
        if not think and not answer:
            return False
        run = self.run
        reqs, think_reqs = self._requests(think, answer, probes)
        worst = run.worst_case([r.prefix for r in reqs], [r.n for r in reqs], max(r.max_tokens for r in reqs))
        if think and not run.meter.can_afford(worst + self._answer_worst(think)):
            for t in think:  # the budget keeps what the answers need: stop thinking now
                self._force(t)
            for t in probes:  # dropped unread: not charged, not counted
                t.probe = None
                self.pending -= count_tokens(run.generator, self.end)
            return True
        info = {
            "round": self.n_round,
            "n_think": len(think),
            "n_answer": len(answer),
            "n_probe": len(probes),
            "inserted_tokens": self.pending,
        }
        outs = run.sample_batch(reqs, kind="forcing", info=info)
        self.n_round += 1
        self.pending = 0
        if outs is None:  # not even the answers fit: keep what the traces say now
            for t in traces:
                t.state = "done"
            return False
        flat = [c for cs in outs for c in cs]
        rest = flat[think_reqs:]
        # probes first: a trace that asks for "Wait" again in this round sets its next probe below
        for t, c in zip(probes, rest[len(answer) :]):
            t.probes.append(extract(self.problem, self.end + c.text) or extract(self.problem, (t.probe or "") + c.text))
            t.probe = None
        for t, c in zip(think, flat[:think_reqs]):
            self._after_thinking(t, c)
        for t, c in zip(answer, rest[: len(answer)]):
            t.text += c.text
            t.final = self.end + c.text
            t.answer_tokens += c.n_tokens
            t.state = "done"
        return True

    def _requests(self, think: list[_Trace], answer: list[_Trace], probes: list[_Trace]) -> tuple[list[Request], int]:
        run, h, s = self.run, self.h, self.sampling
        stop = (str(h["think_end"]),)
        reqs: list[Request] = []
        if think and self.n_round == 0:  # all traces share the prompt: one request of n samples
            reqs.append(
                Request(
                    run.prompt, n=len(think), max_tokens=self._cap(think[0]), stop=stop, seed=draw_seed(self.rng), **s
                )
            )
        else:
            reqs += [
                Request(run.prompt + t.text, n=1, max_tokens=self._cap(t), stop=stop, seed=draw_seed(self.rng), **s)
                for t in think
            ]
        n_think = sum(r.n for r in reqs)
        ans = dict(max_tokens=int(h["max_answer_tokens"]), stop=tuple(h["answer_stop"]), **s)
        reqs += [Request(run.prompt + t.text, n=1, seed=draw_seed(self.rng), **ans) for t in answer]
        reqs += [Request(run.prompt + (t.probe or ""), n=1, seed=draw_seed(self.rng), **ans) for t in probes]
        return reqs, n_think

    def _after_thinking(self, t: _Trace, c: Any) -> None:
        h = self.h
        t.text += c.text
        t.thinking += c.n_tokens
        end = str(h["think_end"])
        if c.finish_reason == "length" or (
            h["max_thinking_tokens"] is not None and self._cap(t) == 0 and not c.text.endswith(end)
        ):
            self._force(t)  # the thinking budget is spent: append the delimiter, force the answer
            return
        ended_delim = c.text.endswith(end)
        room = h["max_thinking_tokens"] is None or self._cap(t) > 0
        more = t.waits < int(h["n_waits"]) or t.thinking < int(h["min_thinking_tokens"])
        if more and room and c.n_tokens > 0:
            body = t.text[: -len(end)] if ended_delim else t.text
            if h["probe_answers"]:
                t.probe = body + self.end
                t.probe_thinking.append(t.thinking)
                self.pending += count_tokens(self.run.generator, self.end)
            w = self.waits[t.waits % len(self.waits)]
            t.text = body + w
            t.waits += 1
            self._insert(t, w)
        elif ended_delim:
            if h["answer_prompt"]:
                t.text += str(h["answer_prompt"])
                self._insert(t, str(h["answer_prompt"]))
            t.state = "answer"
        elif more and room:  # an empty segment after a "Wait": no progress, answer now
            self._force(t)
        else:  # the model ended on its own, without the delimiter: it has answered
            t.state = "done"
