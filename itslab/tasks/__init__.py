"""Tasks: benchmark loaders, synthetic generators, prompt templates, answer extraction and checking.

``load("gsm8k")`` reads ``ITSLAB_DATA_DIR/gsm8k/test.jsonl`` (or the Hugging Face hub through
``datasets`` when the variable is unset); ``load("arithmetic", limit=20, difficulty=2)`` makes
synthetic problems from a seed. Light on import: no torch, no sympy until an answer needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itslab.tasks import synthetic
from itslab.tasks.answers import answers_equal, extract_answer, normalize_answer
from itslab.tasks.checking import answer_of, check_answer, gradable, is_correct, same_answer, vote_key
from itslab.tasks.loaders import BENCHMARKS, DataError, load_benchmark, read_jsonl
from itslab.tasks.prompts import STOP, TEMPLATES, PromptTemplate, format_messages, format_prompt, with_template
from itslab.types import Problem

NAMES: tuple[str, ...] = tuple(BENCHMARKS) + tuple(synthetic.GENERATORS)


def load(
    name: str,
    split: str = "test",
    *,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    template: str | None = None,
    **synthetic_options: Any,
) -> list[Problem]:
    """Problems of task `name`: a benchmark (gsm8k, math500, aime24, amc23) or a synthetic task.

    Benchmarks read ``data_dir`` or ``ITSLAB_DATA_DIR`` (`itslab.settings.data_dir`), else the hub.
    Synthetic tasks (arithmetic, countdown, game24, graph, meeting) take ``difficulty`` and ``seed`` in
    `synthetic_options` and make `limit` problems (default 100).
    """
    if name in synthetic.GENERATORS:
        n = 100 if limit is None else limit
        return synthetic.make(name, n, template=template, **synthetic_options)
    if name not in BENCHMARKS:
        raise ValueError(f"unknown task {name!r}; valid: {', '.join(NAMES)}")
    if synthetic_options:
        raise TypeError(
            f"load({name!r}): a benchmark takes no options {sorted(synthetic_options)} "
            "(difficulty and seed are for synthetic tasks)"
        )
    return load_benchmark(name, split, data_dir=data_dir, limit=limit, template=template)


__all__ = [
    "BENCHMARKS",
    "DataError",
    "NAMES",
    "PromptTemplate",
    "STOP",
    "TEMPLATES",
    "answer_of",
    "answers_equal",
    "check_answer",
    "extract_answer",
    "format_messages",
    "format_prompt",
    "gradable",
    "is_correct",
    "load",
    "load_benchmark",
    "normalize_answer",
    "read_jsonl",
    "same_answer",
    "synthetic",
    "vote_key",
    "with_template",
]
