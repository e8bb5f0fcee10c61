"""Text conventions shared by the simulated generators: a toy tokenizer, filler, answer lines, limits.

The simulators write real text so strategies, verifiers and answer extraction run unchanged on
them; token counts come from a deterministic toy tokenizer (a token is optional leading
whitespace plus up to 4 other characters, roughly the 4-characters-per-token rule of BPE
vocabularies), so budgets in tokens mean the same thing on a simulator as on a model.

>>> sim_tokenize("The answer is 42.")
['The', ' answ', 'er', ' is', ' 42.']
>>> apply_limits("one two three\\n\\nfour", max_tokens=10, stop=("\\n\\n",))
('one two three\\n\\n', 'stop', 5)
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

import numpy as np

from itslab.generators.common import find_stop

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")
_CHUNK = re.compile(r"\S{1,4}")

ANSWER_TEMPLATE = "The answer is \\boxed{{{}}}."
"""How every simulator writes a final answer, so `\\boxed{}` extraction works uniformly."""


# Four-letter words without digits, newlines or "Wait", so each " word" is exactly one toy token
# and filler can never be mistaken for an answer, a value statement or a step delimiter.
_FILLER_WORDS = (
    "note",
    "that",
    "then",
    "each",
    "term",
    "adds",
    "more",
    "thus",
    "from",
    "case",
    "when",
    "both",
    "sets",
    "take",
    "half",
    "less",
    "most",
    "last",
    "next",
    "form",
    "sums",
    "over",
    "same",
    "such",
    "must",
    "hold",
    "only",
    "part",
    "give",
    "rule",
    "side",
    "also",
)
_REPEAT = 64
_FILLER = " ".join(_FILLER_WORDS * _REPEAT)  # long, so most rotations of m words are one slice
_WORD = 5  # len(" word")


def sim_tokenize(text: str) -> list[str]:
    """Split `text` into toy tokens whose concatenation is `text` (simulator token accounting)."""
    return _TOKEN.findall(text)


@functools.lru_cache(maxsize=16384)  # strategies count the same prefix for the budget check and the call
def count_tokens(text: str) -> int:
    """Number of toy tokens in `text` (see `sim_tokenize`); the simulators' token counter."""
    # each token holds exactly one run of <= 4 non-space characters, except trailing whitespace
    tail = 1 if text and text[-1].isspace() else 0
    if len(text) > 512 and text.isascii():  # long thinking traces: count the runs with numpy
        return _ascii_chunks(text) + tail
    return len(_CHUNK.findall(text)) + tail


_ASCII_SPACE = np.zeros(128, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what `\s` and str.isspace match in ASCII


def _ascii_chunks(text: str) -> int:
    """Σ over maximal non-space runs of ceil(run / 4): the `_CHUNK` matches of an ASCII `text`."""
    word = ~_ASCII_SPACE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], word, [False])).astype(np.int8)))
    runs = edges[1::2] - edges[::2]
    return int(((runs + 3) // 4).sum())


def filler(n_tokens: int, offset: int) -> str:
    """`n_tokens` filler words (one toy token each, each with a leading space), rotated by `offset`.

    Stands in for reasoning text: it costs tokens and varies between samples, but states nothing.
    """
    if n_tokens <= 0:
        return ""
    k = len(_FILLER_WORDS)
    start = offset % k
    chunk = k * (_REPEAT - 1)
    out = []
    while n_tokens > 0:
        m = min(n_tokens, chunk)
        out.append(" " + _FILLER[_WORD * start : _WORD * (start + m) - 1])
        n_tokens -= m
    return "".join(out)


def answer_line(answer: str) -> str:
    """``The answer is \\boxed{X}.`` for answer X."""
    return ANSWER_TEMPLATE.format(answer)


def extract_boxed(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}`` in `text`, nested braces allowed (None if none)."""
    start = text.rfind("\\boxed{")
    while start >= 0:
        depth, i = 1, start + 7
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[start + 7 : i - 1].strip()
        start = text.rfind("\\boxed{", 0, start)  # unclosed (cut by max_tokens): try an earlier one
    return None


def apply_limits(text: str, max_tokens: int, stop: Sequence[str], n_tokens: int | None = None) -> tuple[str, str, int]:
    """Cut a would-be continuation at the first stop string or after `max_tokens` toy tokens.

    Returns ``(text, finish_reason, n_tokens)``: ``"stop"`` when a stop string ended it (the stop string is
    kept in the output, so a step ends with its delimiter, like vLLM's
    ``include_stop_str_in_output=True``) or it ended on its own, ``"length"`` when `max_tokens`
    cut it first. As in real decoding, stop strings are searched in the generated text only.
    `n_tokens`, when the caller knows ``count_tokens(text)``, saves re-tokenizing uncut texts.
    """
    hit = find_stop(text, stop)
    cut = len(text) if hit is None else hit[0]
    if cut < len(text) or n_tokens is None:
        text, n_tokens = text[:cut], None
    if n_tokens is None and len(text) <= max_tokens:  # a toy token has at least one character
        n_tokens = count_tokens(text)
    if n_tokens is not None and n_tokens <= max_tokens:
        return text, "stop", n_tokens
    toks = _TOKEN.findall(text)
    if len(toks) > max_tokens:
        return "".join(toks[:max_tokens]), "length", max_tokens
    return text, "stop", len(toks)
