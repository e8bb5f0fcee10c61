"""The OpenAI wire format for `OpenAIGenerator`: request bodies, reply choices, stop strings, seeds.

Completions API (raw prefixes) and chat API (the prefix as one user message) differ only in
where the text and the per-token logprobs sit; `parse_choice` hides that. Servers drop the stop
string that ended a sample; `restore_stop` puts it back, from the best evidence the reply holds.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from itslab.types import Request


def sample_seed(seed: int, j: int) -> int:
    """The server seed of sample j of a request with `seed` (31 bits: every server accepts it)."""
    return int(np.random.SeedSequence([int(seed), int(j)]).generate_state(1)[0]) >> 1


def request_body(
    r: Request,
    *,
    n: int,
    seed: int,
    model: str,
    api: str,
    extra: Mapping[str, Any],
    system_prompt: str | None = None,
    logprobs: bool = True,
) -> dict[str, Any]:
    """The JSON body asking for `n` samples of `r` with server seed `seed`.

    Logprobs are asked for when the request wants them, when it has stop strings (the generated
    tokens show which stop fired) and when ``n > 1`` (they give each choice's token count) —
    never with ``logprobs=False``.
    """
    want_lp = logprobs and (r.logprobs or bool(r.stop) or n > 1)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "n": n,
        "seed": seed,
        **extra,
    }
    if r.top_k is not None:
        body["top_k"] = r.top_k
    if r.stop:
        body["stop"] = list(r.stop)
    if api == "chat":
        msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
        body["messages"] = msgs + [{"role": "user", "content": r.prefix}]
        if want_lp:
            body["logprobs"] = True
    else:
        body["prompt"] = r.prefix
        if want_lp:
            body["logprobs"] = 1
    return body


def parse_choice(choice: Mapping[str, Any], api: str) -> tuple[str, list[str] | None, list[float | None] | None]:
    """(text, generated token strings or None, their logprobs or None) of one reply choice."""
    lp = choice.get("logprobs") or {}
    if api == "chat":
        text = (choice.get("message") or {}).get("content") or ""
    else:
        text = choice.get("text") or ""
        if "content" not in lp:  # the completions format; llama-server answers in the chat format
            return text, lp.get("tokens"), lp.get("token_logprobs")
    entries = lp.get("content")
    if entries is None:
        return text, None, None
    return text, [e.get("token", "") for e in entries], [e.get("logprob") for e in entries]


ABSENT = object()


def restore_stop(
    text: str,
    finish: str,
    stops: Sequence[str],
    stop_reason: Any = ABSENT,
    tokens: Sequence[str] | None = None,
    *,
    n_generated: int | None = None,
    kept: bool = False,
) -> tuple[str, str | None, str]:
    """Text with the stop string that ended it put back, that stop, and how it was known.

    Servers drop the matched stop string (OpenAI semantics); itslab's texts keep it. Evidence,
    in order: the server's ``stop_reason`` (vLLM: the string, or None for end-of-sequence); the
    generated tokens, which either run past the cut text into the stop string
    (llama-cpp-python) or leave out the stop's tokens, so that fewer are listed than the
    `n_generated` the server counted (llama-server; end-of-sequence is listed there); or — with
    one stop string and no other evidence — the assumption that "stop" meant that string rather
    than end-of-sequence. ``kept=True`` says the server already kept it (vLLM's
    ``include_stop_str_in_output``).

    >>> restore_stop("x = 1", "stop", ["\\n\\n"], tokens=["x", " =", " 1", "\\n\\n"])
    ('x = 1\\n\\n', '\\n\\n', 'tokens')
    """
    live = [s for s in stops if s]
    if finish != "stop" or not live:
        return text, None, "none"
    if kept:
        hit = next((s for s in live if text.endswith(s)), None)
        return text, hit, "text"
    if stop_reason is not ABSENT and not isinstance(stop_reason, int):
        if stop_reason in live:
            return text + stop_reason, stop_reason, "stop_reason"
        if stop_reason is None:
            return text, None, "stop_reason"  # end-of-sequence
    if tokens is not None:
        full = "".join(t or "" for t in tokens)
        if full.startswith(text):
            tail = full[len(text) :]
            hit = next((s for s in live if tail.startswith(s)), None)
            if hit is not None:
                return text + hit, hit, "tokens"
            if not tail and n_generated is not None and n_generated > len(tokens):
                # the server dropped the stop's tokens from the list
                return (text + live[0], live[0], "trimmed") if len(live) == 1 else (text, None, "unknown")
            if not tail:
                return text, None, "tokens"  # nothing generated after the text: end-of-sequence
    if len(live) == 1 and tokens is None:
        return text + live[0], live[0], "assumed"
    return text, None, "unknown"
