"""Prompt templates: zero-shot chat and few-shot (GSM8K train) prompts with each task's answer format.

A `Problem` carries both forms: ``prompt``, a plain-text prefix any generator can continue, and
``messages``, the same content as chat turns for generators that apply a chat template (that
is the generator's business, not the task's). The raw question lives in ``meta["question"]``
so a problem can be re-rendered with another template (`with_template`).

Answer formats: ``boxed`` (MATH convention, Hendrycks et al. 2021: ``\\boxed{...}``) and
``hash`` (GSM8K convention, Cobbe et al. 2021: a final line ``#### N``). Few-shot exemplars are
worked solutions from the GSM8K train split, as in chain-of-thought prompting (Wei et al. 2022);
their steps are joined with `STEP_DELIMITER` so that the model imitates step-delimited output.

>>> t = TEMPLATES["zero_shot_hash"]
>>> user_content("What is 2 + 3?", t).splitlines()[0]
'What is 2 + 3?'
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from itslab.protocols import STEP_DELIMITER
from itslab.types import Problem

ANSWER_INSTRUCTIONS: Mapping[str, str] = {
    "boxed": "Put your final answer within \\boxed{}.",
    "hash": "Write the final answer on its own line as '#### <answer>'.",
}
STOP: tuple[str, ...] = ("\nQuestion:",)
"""Stop strings for plain-text prompts: a base model continuing a few-shot prompt starts a new question."""


@dataclass(frozen=True)
class PromptTemplate:
    """How a question is put to a model: instruction, answer format, number of few-shot exemplars."""

    name: str
    answer_format: str = "boxed"
    n_shots: int = 0
    instruction: str = "Solve the problem step by step, separating the steps with a blank line."
    system: str | None = None

    def __post_init__(self) -> None:
        if self.answer_format not in ANSWER_INSTRUCTIONS:
            raise ValueError(
                f"PromptTemplate.answer_format must be one of {sorted(ANSWER_INSTRUCTIONS)}, got {self.answer_format!r}"
            )
        if self.n_shots < 0:
            raise ValueError(f"PromptTemplate.n_shots must be >= 0, got {self.n_shots}")


TEMPLATES: Mapping[str, PromptTemplate] = {
    "zero_shot_boxed": PromptTemplate("zero_shot_boxed", "boxed"),
    "zero_shot_hash": PromptTemplate("zero_shot_hash", "hash"),
    "few_shot_hash": PromptTemplate("few_shot_hash", "hash", n_shots=4),
    "few_shot_boxed": PromptTemplate("few_shot_boxed", "boxed", n_shots=4),
}
DEFAULT_TEMPLATE: Mapping[str, str] = {
    "gsm8k": "zero_shot_hash",
    "math500": "zero_shot_boxed",
    "aime24": "zero_shot_boxed",
    "amc23": "zero_shot_boxed",
    "arithmetic": "zero_shot_hash",
    "countdown": "zero_shot_boxed",
    "game24": "zero_shot_boxed",
    "graph": "zero_shot_hash",
    "meeting": "zero_shot_boxed",
}


def get_template(template: str | PromptTemplate | None, source: str = "") -> PromptTemplate:
    """A template by name (or the default for the task `source` when None)."""
    if isinstance(template, PromptTemplate):
        return template
    name = template or DEFAULT_TEMPLATE.get(source, "zero_shot_boxed")
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown prompt template {name!r}; valid: {sorted(TEMPLATES)}") from None


def user_content(question: str, template: PromptTemplate) -> str:
    """The user turn: the question, then the instruction and the answer format it expects."""
    return f"{question.strip()}\n\n{template.instruction} {ANSWER_INSTRUCTIONS[template.answer_format]}"


def worked_solution(problem: Problem, answer_format: str) -> str:
    """A problem's reference solution (``meta["solution"]``) ending in the given answer format."""
    steps = str(problem.meta.get("solution", "")).strip()
    if answer_format == "hash":
        return f"{steps}\n#### {problem.answer}" if steps else f"#### {problem.answer}"
    if "\\boxed" in steps:  # MATH-style solutions already box their answer
        return steps
    final = f"The final answer is \\boxed{{{problem.answer}}}."
    return f"{steps}{STEP_DELIMITER}{final}" if steps else final


def _question(problem: Problem) -> str:
    return str(problem.meta.get("question", problem.prompt))


def format_messages(
    problem: Problem,
    template: str | PromptTemplate | None = None,
    *,
    shots: Sequence[Problem] | None = None,
    data_dir: str | Path | None = None,
) -> tuple[dict[str, str], ...]:
    """Chat messages for `problem` under `template`: optional system turn, few-shot pairs, the question."""
    t = get_template(template, str(problem.meta.get("source", "")))
    msgs: list[dict[str, str]] = [{"role": "system", "content": t.system}] if t.system else []
    for s in _shots(t, shots, data_dir):
        msgs.append({"role": "user", "content": user_content(_question(s), t)})
        msgs.append({"role": "assistant", "content": worked_solution(s, t.answer_format)})
    msgs.append({"role": "user", "content": user_content(_question(problem), t)})
    return tuple(msgs)


def format_prompt(
    problem: Problem,
    template: str | PromptTemplate | None = None,
    *,
    shots: Sequence[Problem] | None = None,
    data_dir: str | Path | None = None,
    tokenizer: Any = None,
) -> str:
    """Plain-text prefix for `problem`: instruction, few-shot ``Question:/Answer:`` pairs, the question.

    The prefix ends with ``"Answer:"`` so a model continues with the solution; use `STOP` as stop
    strings with base models that would go on to invent the next question. Given a `tokenizer`
    with a chat template, the prefix is instead the chat-templated `format_messages` with the
    assistant turn opened (``add_generation_prompt=True``).
    """
    t = get_template(template, str(problem.meta.get("source", "")))
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        msgs = [dict(m) for m in format_messages(problem, t, shots=shots, data_dir=data_dir)]
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    head = f"{t.instruction} {ANSWER_INSTRUCTIONS[t.answer_format]}\n\n"
    body = "".join(
        f"Question: {_question(s).strip()}\nAnswer: {worked_solution(s, t.answer_format)}\n\n\n"
        for s in _shots(t, shots, data_dir)
    )
    return f"{head}{body}Question: {_question(problem).strip()}\nAnswer:"


def with_template(
    problem: Problem,
    template: str | PromptTemplate | None = None,
    *,
    shots: Sequence[Problem] | None = None,
    data_dir: str | Path | None = None,
) -> Problem:
    """A copy of `problem` whose ``prompt`` and ``messages`` are rendered with `template`."""
    t = get_template(template, str(problem.meta.get("source", "")))
    meta = {**problem.meta, "template": t.name, "answer_format": t.answer_format}
    return dataclasses.replace(
        problem,
        prompt=format_prompt(problem, t, shots=shots, data_dir=data_dir),
        messages=format_messages(problem, t, shots=shots, data_dir=data_dir),
        meta=meta,
    )


def _shots(t: PromptTemplate, shots: Sequence[Problem] | None, data_dir: str | Path | None) -> Sequence[Problem]:
    if t.n_shots == 0:
        return ()
    if shots is not None:
        return tuple(shots)[: t.n_shots]
    return gsm8k_shots(t.n_shots, data_dir=data_dir)


def gsm8k_shots(k: int, *, data_dir: str | Path | None = None) -> tuple[Problem, ...]:
    """The first `k` GSM8K train problems, as few-shot exemplars (fixed, so prompts are reproducible)."""
    from itslab import settings as config

    root = data_dir if data_dir is not None else config.data_dir()  # resolved now, so the cache key is the folder
    return _gsm8k_shots(k, None if root is None else str(root))


@lru_cache(maxsize=8)
def _gsm8k_shots(k: int, data_dir: str | None) -> tuple[Problem, ...]:
    from itslab.tasks.loaders import load_benchmark  # local: loaders import this module

    return tuple(load_benchmark("gsm8k", "train", data_dir=data_dir, limit=k))


_CALC = re.compile(r"<<[^<>]*>>")


def gsm8k_steps(rationale: str) -> str:
    """A GSM8K rationale without its calculator annotations (``<<2*3=6>>``) and final line,
    its lines (one step each) joined by `STEP_DELIMITER`."""
    lines = [_CALC.sub("", ln).strip() for ln in rationale.split("####", 1)[0].splitlines()]
    return STEP_DELIMITER.join(ln for ln in lines if ln)
