"""What every generator backend shares: request checks, the zero-token answer, stop strings, token counts.

One copy each, so backends agree on them (the generator contract, `tests/generators/test_generator_contract.py`).

>>> find_stop("x = 1\\n\\ny = 2", ("\\n\\n",))
(7, '\\n\\n')
>>> [c.finish_reason for c in empty_completions(Request("abc", n=2, max_tokens=0))]
['length', 'length']
"""

from __future__ import annotations

from typing import Any, AnyStr, Sequence

from itslab.types import Completion, Request


def validate_requests(requests: Sequence[Request]) -> None:
    """Raise a one-line error naming the first bad request (`Request` itself checks n, max_tokens,
    temperature and top_p when it is built; these are the checks only a backend can make)."""
    for i, r in enumerate(requests):
        if not isinstance(r, Request):
            raise TypeError(f"requests[{i}] must be an itslab Request, got {type(r).__name__}")
        if r.seed < 0:
            raise ValueError(f"requests[{i}].seed must be >= 0, got {r.seed}")
        if r.top_k is not None and r.top_k < 0:
            raise ValueError(f"requests[{i}].top_k must be None or >= 0, got {r.top_k}")


def empty_completions(request: Request) -> list[Completion]:
    """The `n` samples of a ``max_tokens == 0`` request: no text, no tokens, nothing read.

    No backend reads the prefix for them (nothing is generated from it), so they charge no
    prompt tokens; finish_reason is "length" (the token limit ended them).
    """
    return [Completion("", 0, 0, 0, (), (), "length", request.seed, {"index": j}) for j in range(request.n)]


def find_stop(text: AnyStr, stops: Sequence[AnyStr], start: int = 0) -> tuple[int, AnyStr] | None:
    """The stop string that completes first in `text`, as ``(end, stop)``: cut the text at `end`.

    "First" is the earliest end, as when text is read one character at a time, so the cut does not
    depend on how a tokenizer groups characters; of stops ending at the same place, the longest.
    Empty stop strings are ignored. Only matches ending after `start` count (incremental scans:
    `start` is the length already scanned). Works on `str` and on UTF-8 `bytes` alike.
    """
    best: tuple[int, AnyStr] | None = None
    for s in stops:
        if not s:
            continue
        k = text.find(s, max(0, start - len(s) + 1))
        if k >= 0 and (best is None or (k + len(s), -len(s)) < (best[0], -len(best[1]))):
            best = (k + len(s), s)
    return best


def upper_bound_tokens(text: str) -> int:
    """The UTF-8 byte length of `text`: an upper bound on its tokens under byte-level BPE (every token
    covers at least one byte), the one fallback when a generator cannot count tokens itself."""
    return len(text.encode("utf-8"))


def count_tokens(generator: Any, text: str) -> int:
    """Tokens of `text` for `generator`: its own ``count_tokens``, else `upper_bound_tokens`.

    Budget checks use it for the worst case, so the fallback over-counts rather than under-counts.
    """
    fn = getattr(generator, "count_tokens", None)
    return int(fn(text)) if callable(fn) else upper_bound_tokens(text)
