"""Task-aware correctness: does a model's text solve a problem?

Most tasks compare the extracted final answer with the gold one (`answers_equal`); tasks with
many valid answers (Countdown, Game of 24) name a checker in ``meta["checker"]``. This is the
ground truth that oracle and noisy verifiers, and a Result's ``correct`` flag, are built on.
"""
from __future__ import annotations

from itslab.tasks.answers import answers_equal, extract_answer
from itslab.types import Problem


def check_answer(problem: Problem, answer: str | None, *, symbolic: bool = True) -> bool:
    """Whether an extracted `answer` is correct for `problem` (task checker, else gold comparison). Never raises."""
    if answer is None:
        return False
    if problem.meta.get("checker") == "countdown":
        from itslab.tasks.synthetic.countdown import check_expression

        return check_expression(answer, problem.meta["numbers"], problem.meta["target"])
    if problem.answer is None:
        raise ValueError(f"problem {problem.id!r} has no gold answer to check against")
    return answers_equal(answer, problem.answer, symbolic=symbolic)


def is_correct(problem: Problem, text: str, *, symbolic: bool = True) -> bool:
    """Whether a model's full `text` solves `problem`: extract its final answer and check it.

    `symbolic=False` skips math-verify (normalised exact match only), which is faster.
    """
    if problem.meta.get("checker") == "countdown":
        from itslab.tasks.synthetic.countdown import check_text

        return check_text(problem, text)
    return check_answer(problem, extract_answer(text), symbolic=symbolic)
