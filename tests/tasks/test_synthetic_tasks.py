"""Synthetic tasks: seeded, exact, certified, with a working difficulty knob."""

import itertools

import numpy as np
import pytest

from itslab.protocols import STEP_DELIMITER
from itslab.tasks import is_correct, synthetic
from itslab.tasks.synthetic import (
    check_expression,
    count_solutions,
    countdown,
    game24,
    graph_navigation,
    make,
    shortest_distance,
    solve,
)
from itslab.tasks.synthetic.word_problems import arithmetic


@pytest.mark.parametrize("name", sorted(synthetic.GENERATORS))
def test_same_seed_same_problems_and_prefix_stable(name):
    a = make(name, 4, difficulty=2, seed=7)
    b = make(name, 4, difficulty=2, seed=7)
    c = make(name, 6, difficulty=2, seed=7)
    assert [(p.id, p.prompt, p.answer) for p in a] == [(p.id, p.prompt, p.answer) for p in b]
    assert [p.id for p in c[:4]] == [p.id for p in a]  # more problems only appends
    assert [p.id for p in make(name, 4, difficulty=2, seed=8)] != [p.id for p in a]


@pytest.mark.parametrize("name", sorted(synthetic.GENERATORS))
@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_reference_solutions_are_correct(name, difficulty):
    for p in make(name, 5, difficulty=difficulty, seed=difficulty):
        assert p.meta["difficulty"] == difficulty and p.meta["source"] == name
        text = p.meta["solution"] + STEP_DELIMITER + f"The answer is \\boxed{{{p.answer}}}."
        assert is_correct(p, text), (p.id, text)
        assert not is_correct(p, "The answer is \\boxed{123456}.")


def test_arithmetic_steps_equal_difficulty():
    rng = np.random.default_rng(0)
    for d in (1, 2, 5):
        for p in arithmetic(10, difficulty=d, rng=rng):
            assert len(p.meta["values"]) == d == p.meta["solution"].count(STEP_DELIMITER) + 1
            assert p.answer == str(p.meta["values"][-1]) and all(v >= 1 for v in p.meta["values"])
    easy = arithmetic(20, difficulty=1, rng=np.random.default_rng(1))
    assert all(set(p.meta["ops"]) <= {"add", "sub"} for p in easy)
    assert all(len(p.meta["question"].split(".")) <= 4 for p in easy)  # two short sentences and a question


def test_difficulty_is_validated():
    with pytest.raises(ValueError, match="difficulty must be an integer in \\[1, 4\\], got 9"):
        countdown(1, difficulty=9, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown synthetic task 'sudoku'"):
        make("sudoku", 1)


def test_solver_certifies_and_refutes():
    assert solve([1, 1, 1, 1], 24) is None  # the classic unsolvable quadruple
    e = solve([3, 3, 8, 8], 24)  # the classic hard one: 8 / (3 - 8/3)
    assert e is not None and check_expression(e, [3, 3, 8, 8], 24)
    for nums in itertools.combinations_with_replacement(range(1, 8), 3):
        e = solve(list(nums), 10)
        assert (e is not None) == (count_solutions(nums, 10) > 0)
        if e:
            assert check_expression(e, list(nums), 10)


@pytest.mark.parametrize(
    "expr,ok",
    [
        ("(8 - 4) * 6", True),
        ("6*(8-4) = 24", True),
        ("24 = 6 \\times (8 - 4)", True),
        ("8*6/2", False),
        ("(8-4)*6*1", False),
        ("4*6", False),
        ("__import__('os')", False),
        ("(8-4)**6", False),
        ("6/(8-8)", False),
        ("", False),
        ("(" * 500, False),
    ],
)
def test_check_expression(expr, ok):
    assert check_expression(expr, [4, 6, 8], 24) is ok


def test_countdown_numbers_and_game24_bands():
    rng = np.random.default_rng(0)
    for d in (1, 2, 3):
        for p in countdown(5, difficulty=d, rng=rng):
            assert len(p.meta["numbers"]) == d + 1 and check_expression(p.answer, p.meta["numbers"], p.meta["target"])
    easy = game24(3, difficulty=1, rng=rng)
    hard = game24(3, difficulty=5, rng=rng)
    assert min(p.meta["n_derivations"] for p in easy) > max(p.meta["n_derivations"] for p in hard)
    assert all(p.meta["target"] == 24 and all(1 <= x <= 13 for x in p.meta["numbers"]) for p in easy + hard)


def test_countdown_text_check_without_box():
    p = countdown(1, difficulty=2, rng=np.random.default_rng(3))[0]
    assert is_correct(p, f"Let me try.\n{p.answer} = {p.meta['target']}")
    assert is_correct(p, f"The answer is {p.answer} = {p.meta['target']}.")
    assert not is_correct(p, f"{p.meta['target']}")


def test_graph_answer_is_shortest_and_hops_equal_difficulty():
    rng = np.random.default_rng(0)
    for d in (1, 2, 4, 8):
        for p in graph_navigation(5, difficulty=d, rng=rng):
            edges = p.meta["edges"]
            assert int(p.answer) == shortest_distance(edges, p.meta["start"], p.meta["goal"])
            assert len(p.meta["path"]) == d + 1
            # removing any road of the planted route makes the trip strictly longer: it is the unique optimum
            path = p.meta["path"]
            for u, v in zip(path, path[1:]):
                rest = [e for e in edges if {e[0], e[1]} != {u, v}]
                assert shortest_distance(rest, p.meta["start"], p.meta["goal"]) > int(p.answer)


def test_meeting_scheduling_has_exactly_the_planted_slot():
    from itslab.tasks.synthetic.scheduling import DAYS, HOURS, parse_slot, valid_slots, violations

    for d in (1, 3, 6):
        for p in make("meeting", 20, difficulty=d, seed=d):
            meta = p.meta
            assert len(meta["attendees"]) == d + 1 and len(meta["prefs"]) == d
            assert meta["n_constraints"] == 2 * d + 1
            gold = parse_slot(p.answer)
            assert valid_slots(meta) == [gold]
            # every other slot of the week breaks at least one constraint; none breaks more than all
            for day in range(len(DAYS)):
                for h in HOURS:
                    n_bad = len(violations(meta, (day, h)))
                    assert (n_bad == 0) == ((day, h) == gold) and n_bad <= meta["n_constraints"]


@pytest.mark.parametrize(
    "text, slot",
    [
        ("Tuesday 14:00", (1, 14)),
        ("tue at 2pm", (1, 14)),
        ("Let's meet on Thursday, 9:00 am.", (3, 9)),
        ("Monday 10 is bad; Friday 3 p.m. works", (4, 15)),
        ("Wednesday at 16:30", None),  # not on the hour
        ("Saturday 10:00", None),
        ("Friday 17:00", None),  # ends after 17:00
        ("some month at 10:00", None),  # "month" is not Monday
        (None, None),
    ],
)
def test_meeting_slots_are_read_from_free_text(text, slot):
    from itslab.tasks.synthetic.scheduling import parse_slot

    assert parse_slot(text) == slot


def test_meeting_answers_are_graded_by_the_constraints():
    from itslab.tasks import answer_of, same_answer
    from itslab.tasks.synthetic.scheduling import DAYS, HOURS, slot_text, violations
    from itslab.verifiers.partial import MeetingConstraints

    [p] = make("meeting", 1, difficulty=3, seed=0)
    day, hour = p.answer.split()[0], int(p.answer.split()[1].split(":")[0])
    pm = f"{hour - 12} pm" if hour > 12 else f"{hour} am"
    assert is_correct(p, f"Checked every calendar.\nSo: {day[:3]} at {pm}")
    assert answer_of(p, f"\\boxed{{{day.lower()} {pm}}}") == p.answer
    assert same_answer(p, p.answer, f"{day[:3]} {pm}") and not same_answer(p, p.answer, "Monday 9:00 x")
    v = MeetingConstraints()
    n = p.meta["n_constraints"]
    for d in range(len(DAYS)):
        for h in HOURS:
            text = f"\\boxed{{{slot_text((d, h))}}}"
            k = len(violations(p.meta, (d, h)))
            assert v.score(p, [text]) == [(1.0 - k / n,)]
            assert is_correct(p, text) == (k == 0)
            if k:
                assert f"breaks {k} of {n} constraints" in v.feedback(p, text)
    assert v.score(p, ["no idea"]) == [(0.0,)] and "No slot found" in v.feedback(p, "no idea")


def test_vote_key_is_the_first_stage_of_the_one_answer_equivalence():
    """`vote_key`: a Countdown expression votes by its value and numbers (spacing, order, LaTeX and a
    trailing "= target" do not split a vote; another expression with the same value does), a meeting
    slot by the slot, a math answer by its normalised form; keys agree with `same_answer`."""
    from itslab.tasks import normalize_answer, same_answer, vote_key

    [c] = make("countdown", 1, difficulty=1, seed=0)
    a, b = c.meta["numbers"]
    same = [f"{a} + {b}", f"   {b}+{a} ", f"{a} + {b} = {a + b}"]
    assert len({vote_key(c, x) for x in same}) == 1
    assert vote_key(c, f"{a} * {b}") != vote_key(c, same[0]) or a * b == a + b
    assert all(same_answer(c, same[0], x) for x in same)
    assert vote_key(c, "no idea") == normalize_answer("no idea")  # not an expression: its normalised text
    [m] = make("meeting", 1, difficulty=3, seed=0)
    day, hour = m.answer.split()[0], int(m.answer.split()[1].split(":")[0])
    pm = f"{hour - 12} pm" if hour > 12 else f"{hour} am"
    assert vote_key(m, f"{day[:3]} {pm}") == vote_key(m, m.answer) == m.answer
    assert vote_key(None, "2 marbles") == vote_key(None, "2") == "2"
