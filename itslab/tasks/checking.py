"""Task-aware correctness: the one grading rule every part of itslab uses.

Most tasks compare the extracted final answer with the gold one (`answers_equal`); tasks graded by
a rule (Countdown and the Game of 24: many valid expressions; meeting scheduling: a slot read
from free text and checked against every constraint) name a checker in ``meta["checker"]``. Three
functions, defined through each other so they cannot disagree:

- `answer_of(problem, text)`: the answer a text gives for `problem` (task-aware extraction);
- `check_answer(problem, answer)`: whether that answer is correct (the task's checker, else the
  gold comparison);
- `is_correct(problem, text)` = ``check_answer(problem, answer_of(problem, text))``.

Strategies (`Result.correct`, the oracle), pools, verifiers and banks all grade through them.
`same_answer` is the one answer equivalence (majority vote and pools), `vote_key` its cheap first
stage. For Countdown and the Game of 24 two expressions are the same answer when they combine the
same numbers to the same value (`countdown.expression_key`: ``10 + 3`` and ``3+10``, or any two
solutions, which are valid or invalid together; the key is read off the expressions, not the gold),
not when math-verify calls them equal: it would call the bare target ``13`` equal to the expression
``3+10``. Other checker answers are the same when their normalised texts are.
"""

from __future__ import annotations

from itslab.tasks.answers import answers_equal, extract_answer, normalize_answer
from itslab.types import Problem


def _has_checker(problem: Problem) -> bool:
    return problem.meta.get("checker") in ("countdown", "meeting")


def _meeting_answer(text: str) -> str | None:
    """The canonical slot ("Tuesday 14:00") of a meeting answer: the extracted answer, else the last line."""
    from itslab.tasks.synthetic.scheduling import parse_slot, slot_text

    first = extract_answer(text)
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    for cand in (first, lines[-1] if lines else None):
        slot = parse_slot(cand)
        if slot is not None:
            return slot_text(slot)
    return first


def answer_of(problem: Problem, text: str) -> str | None:
    """The final answer `text` gives for `problem`; for Countdown, the expression that reaches the target
    (the extracted one, or the left side of ``= target`` on the last line that has one); for meeting
    scheduling, the slot written canonically."""
    if problem.meta.get("checker") == "meeting":
        return _meeting_answer(text)
    if _has_checker(problem):
        from itslab.tasks.synthetic.countdown import candidate_expressions, check_expression

        cands = candidate_expressions(problem, text)
        numbers, target = problem.meta["numbers"], problem.meta["target"]
        hit = next((c for c in cands if c is not None and check_expression(c, numbers, target)), None)
        return hit if hit is not None else cands[0]
    return extract_answer(text)


def check_answer(problem: Problem, answer: str | None, *, symbolic: bool = True) -> bool:
    """Whether an extracted `answer` is correct for `problem` (task checker, else gold comparison). Never raises."""
    if answer is None:
        return False
    if problem.meta.get("checker") == "meeting":
        from itslab.tasks.synthetic.scheduling import parse_slot, violations

        slot = parse_slot(answer)
        return slot is not None and not violations(problem.meta, slot)
    if _has_checker(problem):
        from itslab.tasks.synthetic.countdown import check_expression

        return check_expression(answer, problem.meta["numbers"], problem.meta["target"])
    if problem.answer is None:
        raise ValueError(f"problem {problem.id!r} has no gold answer to check against")
    return answers_equal(answer, problem.answer, symbolic=symbolic)


def is_correct(problem: Problem, text: str, *, symbolic: bool = True) -> bool:
    """Whether a model's full `text` solves `problem`: its `answer_of`, graded by `check_answer`.

    `symbolic=False` skips math-verify (normalised exact match only), which is faster.
    """
    return check_answer(problem, answer_of(problem, text), symbolic=symbolic)


def gradable(problem: Problem) -> bool:
    """Whether `problem` can be graded (it has a gold answer or a checker)."""
    return problem.answer is not None or _has_checker(problem)


def vote_key(problem: Problem | None, answer: str) -> str:
    """The cheap canonical form of an answer under which votes are counted first (`same_answer` may
    then merge distinct keys): for Countdown and the Game of 24 the expression's value and the numbers
    it uses (``countdown.expression_key``: ``3 + 10``, ``10+3`` and ``3+10 = 13`` are one answer); for
    meeting scheduling the slot; otherwise the normalised answer (``2`` and ``2 marbles`` are one)."""
    if problem is not None and problem.meta.get("checker") == "meeting":
        from itslab.tasks.synthetic.scheduling import parse_slot, slot_text

        slot = parse_slot(answer)
        return slot_text(slot) if slot is not None else normalize_answer(answer)
    if problem is not None and _has_checker(problem):
        from itslab.tasks.synthetic.countdown import expression_key

        key = expression_key(answer)
        if key is not None:
            return f"{key[0]} from {', '.join(map(str, key[1]))}"
    return normalize_answer(answer)


def same_answer(problem: Problem | None, a: str, b: str) -> bool:
    """Whether answers `a` and `b` count as one answer when voting on `problem` (None: a math task)."""
    if problem is not None and problem.meta.get("checker") == "meeting":
        from itslab.tasks.synthetic.scheduling import parse_slot

        sa, sb = parse_slot(a), parse_slot(b)
        return sa == sb if sa is not None and sb is not None else normalize_answer(a) == normalize_answer(b)
    if problem is not None and _has_checker(problem):
        from itslab.tasks.synthetic.countdown import expression_key

        ka, kb = expression_key(a), expression_key(b)
        return ka == kb if ka is not None and kb is not None else normalize_answer(a) == normalize_answer(b)
    return answers_equal(a, b)
