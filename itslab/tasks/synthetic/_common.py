"""Shared helpers for the synthetic task generators: stable ids and Problem construction."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from itslab.tasks.prompts import format_messages, format_prompt, get_template
from itslab.types import Problem


def check_difficulty(difficulty: int, lo: int = 1, hi: int = 10) -> int:
    """`difficulty` as an int in [lo, hi], or a ValueError naming the bad value."""
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not lo <= difficulty <= hi:
        raise ValueError(f"difficulty must be an integer in [{lo}, {hi}], got {difficulty!r}")
    return difficulty


def check_n(n: int) -> int:
    """`n` (number of problems) as a non-negative int."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return n


def make_problem(
    task: str,
    index: int,
    difficulty: int,
    question: str,
    answer: str,
    solution: str,
    meta: Mapping[str, Any],
    template: str | None = None,
) -> Problem:
    """A synthetic `Problem`; its id carries a content hash so problems from different seeds never collide."""
    h = hashlib.blake2b(question.encode("utf-8"), digest_size=4).hexdigest()
    t = get_template(template, task)
    full = {
        "source": task,
        "split": "synthetic",
        "difficulty": difficulty,
        "subject": task,
        "question": question,
        "solution": solution,
        "template": t.name,
        "answer_format": t.answer_format,
        **meta,
    }
    p = Problem(id=f"{task}/d{difficulty}/{index}-{h}", prompt="", answer=answer, meta=full)
    return Problem(id=p.id, prompt=format_prompt(p, t), answer=answer, meta=full, messages=format_messages(p, t))
