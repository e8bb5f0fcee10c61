"""Probe-in-the-middle: the probe hook on any generator and Certaindex's agreement rule (Dynasor).

Fu et al., "Efficiently Scaling LLM Reasoning with Certaindex" (Dynasor, arXiv:2412.20993): every
k tokens of a reasoning trace, append a probe prompt that makes the model state its answer now,
decode a few tokens, and stop the trace once the last w probed answers agree. Neither step needs
an engine method of its own: both are `Request`s on a text prefix, and the engines' prefix caches
(radix tree in `hf`, sequence slots in `llamacpp`) read only the text that is new.

- `continue_request`  prompt + trace → k more tokens of the same trace (the trace's own sampling);
- `probe_request`     prompt + trace + probe text → a short decode, greedy by default;
- `probe_answer`      the answer a probe reply gives: for a probe that opens ``\\boxed{``, Dynasor's
  rule (the text before the first unmatched ``}``; none when the reply never closes the box);
  otherwise the one extraction rule (`itslab.tasks.answer_of`) on probe text + reply;
- `is_hesitant`       whether a reply says "wait", "hmm", ... (Dynasor's uncertain words, matched as
  whole words here; the reference code matches substrings, so "no" also hits "know" and "note");
- `probes_agree`      Certaindex's exit test: the last w probes all gave an answer, one answer (the
  voting equivalence, `itslab.tasks.same_answer`), and none hesitated.
"""

from __future__ import annotations

import re
from typing import Sequence

from itslab.tasks.checking import answer_of
from itslab.types import Problem, Request

DYNASOR_PROBE = "... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{"
"""Dynasor's probe suffix (hao-ai-lab/Dynasor, dynasor/core/cot.py)."""
HESITATION_WORDS: tuple[str, ...] = ("wait", "hold", "but", "okay", "no", "hmm")
"""Dynasor's uncertain words: a probe reply containing one does not count as certain."""


def continue_request(prefix: str, max_tokens: int, seed: int, **sampling: object) -> Request:
    """One more chunk of a trace: `max_tokens` tokens continuing `prefix` (prompt + trace so far)."""
    return Request(prefix=prefix, n=1, max_tokens=max_tokens, seed=seed, **sampling)  # type: ignore[arg-type]


def probe_request(
    prefix: str, probe_text: str, max_tokens: int, seed: int, *, temperature: float = 0.0, stop: Sequence[str] = ()
) -> Request:
    """The probe of a partial trace: `prefix` + `probe_text`, decoded for `max_tokens` tokens."""
    return Request(
        prefix=prefix + probe_text, n=1, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=tuple(stop)
    )


def probe_answer(reply: str, probe_text: str = DYNASOR_PROBE, problem: Problem | None = None) -> str | None:
    """The answer a probe `reply` states (None when it states none); see the module docstring."""
    if probe_text.rstrip().endswith("{"):
        depth = 0
        for i, ch in enumerate(reply):
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    return reply[:i].strip() or None
                depth -= 1
        return None
    if problem is None:
        from itslab.tasks.answers import extract_answer

        return extract_answer(probe_text + reply)
    return answer_of(problem, probe_text + reply)


def is_hesitant(reply: str, words: Sequence[str] = HESITATION_WORDS) -> bool:
    """Whether `reply` contains one of `words` as a whole word (case-insensitive)."""
    if not words:
        return False
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
    return re.search(pattern, reply, flags=re.IGNORECASE) is not None


def probes_agree(
    answers: Sequence[str | None], hesitant: Sequence[bool], window: int, problem: Problem | None = None
) -> bool:
    """Certaindex's exit test on the probes so far: the last `window` all answered, agree, and none hesitated."""
    from itslab.strategies.base import equivalence_classes

    if window < 1:
        raise ValueError(f"probes_agree: window must be >= 1, got {window}")
    if len(answers) != len(hesitant):
        raise ValueError(f"probes_agree: {len(answers)} answers but {len(hesitant)} hesitation flags")
    if len(answers) < window:
        return False
    last, unsure = list(answers[-window:]), hesitant[-window:]
    if any(a is None or not str(a).strip() for a in last) or any(unsure):
        return False
    return len(set(equivalence_classes(last, problem))) == 1
