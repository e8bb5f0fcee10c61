"""Text conventions shared by the simulated generators: a toy tokenizer, filler, answer lines, limits.

The simulators write real text so strategies, verifiers and answer extraction run unchanged on
them; token counts come from a deterministic toy tokenizer (a token is optional leading
whitespace plus up to 4 other characters, roughly the 4-characters-per-token rule of BPE
vocabularies), so budgets in tokens mean the same thing on a simulator as on a model.

>>> sim_tokenize("The answer is 42.")
['The', ' answ', 'er', ' is', ' 42.']
>>> apply_limits("one two three\\n\\nfour", max_tokens=10, stop=("\\n\\n",))
('one two three\\n\\n', 'stop')
"""
from __future__ import annotations

import re
from typing import Sequence

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")

ANSWER_TEMPLATE = "The answer is \\boxed{{{}}}."
"""How every simulator writes a final answer, so `\\boxed{}` extraction works uniformly."""

_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")

# Four-letter words without digits, newlines or "Wait", so each " word" is exactly one toy token
# and filler can never be mistaken for an answer, a value statement or a step delimiter.
_FILLER_WORDS = ("note", "that", "then", "each", "term", "adds", "more", "thus", "from", "case",
                 "when", "both", "sets", "take", "half", "less", "most", "last", "next", "form",
                 "sums", "over", "same", "such", "must", "hold", "only", "part", "give", "rule",
                 "side", "also")
_FILLER = " ".join(_FILLER_WORDS * 2)  # doubled so any rotation of m <= len(words) words is one slice
_WORD = 5  # len(" word")


def sim_tokenize(text: str) -> list[str]:
    """Split `text` into toy tokens whose concatenation is `text` (simulator token accounting)."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Number of toy tokens in `text` (see `sim_tokenize`); the simulators' token counter."""
    return len(_TOKEN.findall(text))


def filler(n_tokens: int, offset: int) -> str:
    """`n_tokens` filler words (one toy token each, each with a leading space), rotated by `offset`.

    Stands in for reasoning text: it costs tokens and varies between samples, but states nothing.
    """
    if n_tokens <= 0:
        return ""
    k = len(_FILLER_WORDS)
    start = offset % k
    out = []
    while n_tokens > 0:
        m = min(n_tokens, k)
        out.append(" " + _FILLER[_WORD * start:_WORD * (start + m) - 1])
        n_tokens -= m
    return "".join(out)


def answer_line(answer: str) -> str:
    """``The answer is \\boxed{X}.`` for answer X."""
    return ANSWER_TEMPLATE.format(answer)


def extract_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in `text` (None when there is none)."""
    hits = _BOXED.findall(text)
    return hits[-1].strip() if hits else None


def apply_limits(text: str, max_tokens: int, stop: Sequence[str]) -> tuple[str, str]:
    """Cut a would-be continuation at the first stop string or after `max_tokens` toy tokens.

    Returns ``(text, finish_reason)``: ``"stop"`` when a stop string ended it (the stop string is
    kept in the output, so a step ends with its delimiter, like vLLM's
    ``include_stop_str_in_output=True``) or it ended on its own, ``"length"`` when `max_tokens`
    cut it first. As in real decoding, stop strings are searched in the generated text only.
    """
    reason = "stop"
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i >= 0:
                cut = min(cut, i + len(s))
    text = text[:cut]
    if max_tokens <= 0:
        return "", "length" if text else reason
    # cheap bound first: a toy token has at least one character
    if len(text) > max_tokens:
        toks = _TOKEN.findall(text)
        if len(toks) > max_tokens:
            return "".join(toks[:max_tokens]), "length"
    return text, reason
