"""Probe-based early exit: Dynasor-CoT (Fu et al., arXiv:2412.20993, "Probe-In-The-Middle" + Certaindex).

``probe_early_exit`` grows `n` reasoning traces `probe_interval` tokens at a time. After each chunk
that leaves a trace unfinished it probes the trace (`itslab.strategies.probes`): prompt + trace +
the probe text, a short decode, the answer it states. A trace exits when its last `window` probes
agree (`probes_agree`); it then answers with the probed answer. A trace that finishes on its own,
or reaches `max_tokens`, answers with what it wrote (no probe after the last chunk: nothing would
follow it). The answer is the majority over the traces (one trace: its answer).

Every chunk and every probe is a request charged through `Run`: the probe's prompt, its decoded
tokens, and each re-read prefix (`prompt_tokens` where the backend has no prefix cache,
`cached_tokens` where it has). With ``probe_interval >= max_tokens`` there is no probe and the
strategy draws exactly `majority_vote`'s samples; with ``window=1`` a trace exits at its first probe
that states an answer; with a window longer than the number of probes it never exits.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from itslab.budget import Budget
from itslab.protocols import Generator, Verifier
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run, extract
from itslab.strategies.probes import (
    DYNASOR_PROBE,
    HESITATION_WORDS,
    continue_request,
    is_hesitant,
    probe_answer,
    probe_request,
    probes_agree,
)
from itslab.strategies.sampling import _vote
from itslab.trace import Candidate, Result
from itslab.types import Problem


def _rollout_samples(h: Mapping[str, Any]) -> int:
    # one chunk per interval, and a probe after every chunk but the last
    chunks = -(-int(h["max_tokens"]) // int(h["probe_interval"]))
    return 2 * chunks - 1


def _check(n: int, probe_interval: int, window: int, max_tokens: int, probe_tokens: int) -> None:
    for name, v in (
        ("n", n),
        ("probe_interval", probe_interval),
        ("window", window),
        ("max_tokens", max_tokens),
        ("probe_tokens", probe_tokens),
    ):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"probe_early_exit: {name} must be an int >= 1, got {v!r}")


@register("probe_early_exit", rollout_samples=_rollout_samples)
def probe_early_exit(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n: int = 1,
    probe_interval: int = 64,
    window: int = 3,
    max_tokens: int = 1024,
    temperature: float = 0.6,
    top_p: float = 0.95,
    stop: Sequence[str] = (),
    probe_text: str = DYNASOR_PROBE,
    probe_tokens: int = 20,
    probe_temperature: float = 0.0,
    probe_stop: Sequence[str] = (),
    hesitation_words: Sequence[str] = HESITATION_WORDS,
) -> Result:
    """Dynasor-CoT: probe each trace every `probe_interval` tokens, exit once `window` probes agree.

    Defaults are Dynasor's "mid" saving effort (3 agreeing probes, chunks of 64 tokens) and its
    20-token probe; probes are greedy (``probe_temperature=0``). ``probe_stop=("}",)`` ends a probe
    at its closing brace (cheaper; fine when answers hold no braces, e.g. GSM8K numbers).
    """
    _check(n, probe_interval, window, max_tokens, probe_tokens)
    run = Run("probe_early_exit", problem, generator, None, budget)
    sampling = dict(temperature=temperature, top_p=top_p, stop=tuple(stop), logprobs=True)
    # first chunk: one request of n samples, as `majority_vote` draws them (same seed, same samples)
    first_max = min(probe_interval, max_tokens)
    n = run.affordable(run.prompt, first_max, n)
    if n <= 0:
        run.too_small(run.worst_case([run.prompt], [1], first_max), f"one chunk of up to {first_max} tokens")
    first = run.sample(
        run.prompt, n, rng, kind="chunk", info={"traces": tuple(range(n))}, max_tokens=first_max, **sampling
    )
    texts = [c.text for c in first or []]
    used = [c.n_tokens for c in first or []]
    open_ = [_unfinished(c.finish_reason, c.text, c.n_tokens, max_tokens) for c in first or []]
    probes: list[list[tuple[int, str | None, bool]]] = [[] for _ in texts]  # (position, answer, hesitant)
    exits: list[str | None] = [None] * len(texts)
    while any(open_):
        live = [i for i, o in enumerate(open_) if o]
        reqs = [
            probe_request(
                run.prompt + texts[i],
                probe_text,
                probe_tokens,
                draw_seed(rng),
                temperature=probe_temperature,
                stop=probe_stop,
            )
            for i in live
        ]
        got = run.sample_batch(
            reqs, kind="probe", info={"traces": tuple(live), "positions": tuple(used[i] for i in live)}
        )
        if got is None:  # the budget cannot pay for the probes: the traces stand as they are
            break
        for i, cs in zip(live, got):
            reply = cs[0].text
            probes[i].append((used[i], probe_answer(reply, probe_text, problem), is_hesitant(reply, hesitation_words)))
            if probes_agree([a for _, a, _ in probes[i]], [h for _, _, h in probes[i]], window, problem):
                exits[i], open_[i] = probes[i][-1][1], False
        live = [i for i, o in enumerate(open_) if o]
        if not live:
            break
        reqs = [
            continue_request(
                run.prompt + texts[i], min(probe_interval, max_tokens - used[i]), draw_seed(rng), **sampling
            )
            for i in live
        ]
        got = run.sample_batch(reqs, kind="chunk", info={"traces": tuple(live)})
        if got is None:
            break
        for i, cs in zip(live, got):
            c = cs[0]
            texts[i], used[i] = texts[i] + c.text, used[i] + c.n_tokens
            open_[i] = _unfinished(c.finish_reason, c.text, used[i], max_tokens)
    cands = [
        Candidate(
            t, exits[i] if exits[i] is not None else extract(problem, t), None, None, {"index": i, "n_tokens": used[i]}
        )
        for i, t in enumerate(texts)
    ]
    answer, info = _vote([c.answer for c in cands], [1.0] * len(cands), problem)
    run.note(
        "exit",
        {
            **info,
            "exited": tuple(e is not None for e in exits),
            "trace_tokens": tuple(used),
            "probes": tuple(tuple(p) for p in probes),
        },
    )
    hyper = dict(
        n=n,
        probe_interval=probe_interval,
        window=window,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        probe_tokens=probe_tokens,
        probe_temperature=probe_temperature,
        probe_stop=tuple(probe_stop),
    )
    return run.finish(answer, cands, hyper=hyper)


def _unfinished(finish_reason: str | None, text: str, used: int, max_tokens: int) -> bool:
    """Whether a trace goes on: its last chunk was cut by length, said something, and tokens remain."""
    return finish_reason == "length" and bool(text) and used < max_tokens
