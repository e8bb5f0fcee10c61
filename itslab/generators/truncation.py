"""Truncate and answer: cut a reasoning trace after some of its tokens, close it, decode an answer.

Liao et al. 2025 (Fractured Chain-of-Thought Reasoning, arXiv:2505.12992, §3) cut a sampled
chain of thought at ``j/H`` of its thinking tokens (j = 1..H), append the end-of-thinking
delimiter and let the model write the answer; their code re-tokenises the trace and keeps the
first ``j·L // H`` tokens. This module does the same on any generator: `token_cut` counts in the
generator's own tokens (a simulator's toy tokens, a llama.cpp or transformers tokenizer, else UTF-8
bytes, the `common.count_tokens` fallback), `answer_prompt_for` picks the delimiter (``</think>``
for a thinking trace, the task's answer marker for a plain chain of thought), and
`truncation_requests` builds one request per cut whose prefix is prompt + kept trace + answer
prompt. A strategy sends them through its `Run`, so the kept trace (a re-read prefix, cached or
not) and the inserted answer prompt are charged to the ledger as prompt tokens.

>>> from itslab.generators.simulated import make_suite
>>> problems, gen = make_suite(1, seed=0, kind="anytime", n_segments=4, mean_think_tokens=40)
>>> token_cut(gen, "one two three four", 2)
'one two'
>>> depth_cuts(10, 4)
[2, 5, 7, 10]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from itslab.generators.common import upper_bound_tokens
from itslab.generators.simulated.sequential import THINK_END
from itslab.types import Completion, Problem, Request

ANSWER_PROMPTS = {"think": f"\n{THINK_END}\n\n", "hash": "\n\n####", "boxed": "\n\nThe final answer is \\boxed{"}
"""The inserted text that closes a cut trace: the end-of-thinking delimiter (Fractured CoT's
``</think>\\n\\n``), or for a chain of thought without one, the task's final-answer marker."""


def split_thinking(text: str) -> tuple[str, str]:
    """(thinking, rest): the text before the first ``</think>`` and from it on (no ``</think>``: all thinking)."""
    head, sep, tail = text.partition(THINK_END)
    return (head, sep + tail) if sep else (text, "")


def _tokenizer(generator: Any) -> tuple[Any, Any] | None:
    """(encode, decode) for continuation text in `generator`'s tokens, or None (then bytes)."""
    from itslab.generators.simulated.core import SimBase
    from itslab.generators.simulated.text import sim_tokenize

    if isinstance(generator, SimBase):
        return sim_tokenize, "".join
    if callable(getattr(generator, "encode_plain", None)) and callable(getattr(generator, "detokenize", None)):
        return generator.encode_plain, generator.detokenize  # llama.cpp
    tok = getattr(generator, "tokenizer", None)
    if tok is not None and callable(getattr(tok, "encode", None)) and callable(getattr(tok, "decode", None)):
        return (lambda t: tok.encode(t, add_special_tokens=False)), tok.decode  # transformers
    return None


def text_tokens(generator: Any, text: str) -> int:
    """Length of a continuation `text` in `generator`'s tokens (UTF-8 bytes when it has no tokenizer)."""
    codec = _tokenizer(generator)
    return upper_bound_tokens(text) if codec is None else len(codec[0](text))


def token_cut(generator: Any, text: str, n_tokens: int) -> str:
    """The first `n_tokens` tokens of `text`, re-tokenised with `generator`'s tokenizer, as text."""
    if n_tokens < 0:
        raise ValueError(f"token_cut: n_tokens must be >= 0, got {n_tokens}")
    codec = _tokenizer(generator)
    if codec is None:
        return text.encode("utf-8")[:n_tokens].decode("utf-8", errors="ignore")
    encode, decode = codec
    return decode(encode(text)[:n_tokens])


def depth_cuts(n_tokens: int, H: int) -> list[int]:
    """Token depths ``j·n_tokens // H`` for j = 1..H (Fractured CoT's cut rule; the last is the whole trace)."""
    if H < 1 or n_tokens < 0:
        raise ValueError(f"depth_cuts: need H >= 1 and n_tokens >= 0, got H={H}, n_tokens={n_tokens}")
    return [j * n_tokens // H for j in range(1, H + 1)]


def answer_prompt_for(problem: Problem, trace: str) -> str:
    """``</think>`` for a thinking trace; else the task's answer marker: ``####`` when
    ``meta["answer_format"] == "hash"``, an opened ``\\boxed{`` otherwise."""
    if THINK_END in trace:
        return ANSWER_PROMPTS["think"]
    return ANSWER_PROMPTS["hash" if problem.meta.get("answer_format") == "hash" else "boxed"]


@dataclass(frozen=True)
class Cut:
    """One truncation of a trace: `depth` = j/H, `n_tokens` of thinking kept, the answer request's `prefix`."""

    depth: float
    n_tokens: int
    prefix: str
    answer_prompt: str


def cuts(
    generator: Any, problem: Problem, prompt: str, trace: str, H: int, *, answer_prompt: str | None = None
) -> list[Cut]:
    """The H cuts of `trace` (a completion of `prompt`) at j/H of its thinking tokens, j = 1..H."""
    thinking, _ = split_thinking(trace)
    ap = answer_prompt_for(problem, trace) if answer_prompt is None else answer_prompt
    n = text_tokens(generator, thinking)
    return [
        Cut((j + 1) / H, d, prompt + token_cut(generator, thinking, d) + ap, ap) for j, d in enumerate(depth_cuts(n, H))
    ]


def truncation_requests(
    cut_list: Sequence[Cut], *, m: int, max_tokens: int, seeds: Sequence[int], **sampling: Any
) -> list[Request]:
    """One request of `m` answers per cut (`sampling`: temperature, top_p, top_k, stop)."""
    if len(seeds) != len(cut_list):
        raise ValueError(f"truncation_requests: {len(cut_list)} cuts but {len(seeds)} seeds")
    return [
        Request(prefix=c.prefix, n=m, max_tokens=max_tokens, seed=int(s), **sampling) for c, s in zip(cut_list, seeds)
    ]


def forced_answer(problem: Problem, cut: Cut, completion: Completion | str) -> str | None:
    """The answer a forced completion gives: `answer_of` (the one grading rule) on answer prompt + completion."""
    from itslab.tasks.checking import answer_of

    text = completion if isinstance(completion, str) else completion.text
    return answer_of(problem, cut.answer_prompt + text)


def truncate_and_answer(
    generator: Any,
    problem: Problem,
    prompt: str,
    trace: str,
    H: int,
    *,
    m: int = 1,
    max_tokens: int = 16,
    seed: int = 0,
    answer_prompt: str | None = None,
    **sampling: Any,
) -> list[tuple[Cut, list[Completion]]]:
    """Cut `trace` at j/H of its thinking (j = 1..H) and decode `m` answers after each cut, unmetered
    (a strategy uses `cuts` and `truncation_requests` through its `Run` instead)."""
    cl = cuts(generator, problem, prompt, trace, H, answer_prompt=answer_prompt)
    reqs = truncation_requests(cl, m=m, max_tokens=max_tokens, seeds=[seed + j for j in range(len(cl))], **sampling)
    return list(zip(cl, generator.generate(reqs)))
