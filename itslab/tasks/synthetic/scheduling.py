"""Meeting scheduling: find the one-hour slot in a work week that every constraint allows.

A natural-language planning task with partial credit, in the spirit of the meeting-planning part
of NATURAL PLAN (Zheng et al. 2024, arXiv:2406.04520) that Mind Evolution (Lee et al. 2025,
arXiv:2501.09891) searches with an evaluator's feedback: each attendee's calendar is one
constraint, each stated preference ("Cai does not meet before 11:00", "... not on Friday") another.
A proposed slot violates some number of them, so an evaluator can say how close it is and why
(`itslab.verifiers.MeetingConstraints`). Difficulty d (1-6) = d + 1 attendees and d preferences.

The answer is planted: a slot is drawn, calendars and preferences are drawn around it, and every
other slot the constraints still allow is then blocked in some attendee's calendar, so exactly one
slot is right (checked by enumerating all 40). Answers are read as a weekday and an hour ("Tue
2pm", "Tuesday, 14:00") and written canonically ("Tuesday 14:00").

>>> from itslab.rng import as_rng
>>> [p] = meeting_scheduling(1, difficulty=2, rng=as_rng(0))
>>> violations(p.meta, parse_slot(p.answer)), len(valid_slots(p.meta))
([], 1)
>>> parse_slot("I propose Wed at 9 am."), parse_slot("no slot")
((2, 9), None)
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np

from itslab.tasks.synthetic._common import check_difficulty, check_n, make_problem
from itslab.types import Problem

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
HOURS = tuple(range(9, 17))  # start hours of a one-hour meeting: 9:00 ... 16:00 (ends by 17:00)
NAMES = ("Ann", "Bo", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal")
Slot = tuple[int, int]  # (day index, start hour)

_DAY = re.compile(r"\b(monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri)\b", re.IGNORECASE)
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?![\d:])", re.IGNORECASE)


def slot_text(slot: Slot) -> str:
    """The canonical answer for a slot: ``"Tuesday 14:00"``."""
    return f"{DAYS[slot[0]]} {slot[1]}:00"


def parse_slot(text: str | None) -> Slot | None:
    """The (day, hour) a text names: the last weekday mentioned and the first time after it (None if either
    is missing or the time is not a whole working hour)."""
    if not text:
        return None
    days = list(_DAY.finditer(text))
    if not days:
        return None
    day = days[-1]
    m = _TIME.search(text, day.end()) or _TIME.search(text[: day.start()])
    if m is None:
        return None
    hour, minutes, ampm = int(m.group(1)), m.group(2), (m.group(3) or "").lower().replace(".", "")
    if minutes not in (None, "00") or not 0 <= hour <= 23:
        return None
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    elif not ampm and 1 <= hour <= 5:  # "at 2" in a work week means 14:00
        hour += 12
    return (_day_index(day.group(1)), hour) if hour in HOURS else None


def _day_index(word: str) -> int:
    return ("mon", "tue", "wed", "thu", "fri").index(word[:3].lower())


def constraint_texts(meta: Mapping[str, Any]) -> list[str]:
    """Every constraint of an instance in words, in the order `violations` indexes them."""
    out = []
    for name in meta["attendees"]:
        busy = sorted((d, h) for who, d, h in meta["busy"] if who == name)
        out.append(f"{name} is {_calendar(busy)}")
    for name, kind, value in meta["prefs"]:
        out.append(_preference(name, kind, value))
    return out


def violations(meta: Mapping[str, Any], slot: Slot | None) -> list[int]:
    """Indices (into `constraint_texts`) of the constraints `slot` violates; all of them when it is None
    or outside the work week."""
    n = len(meta["attendees"]) + len(meta["prefs"])
    if slot is None or not (0 <= slot[0] < len(DAYS) and slot[1] in HOURS):
        return list(range(n))
    day, hour = slot
    busy = set(meta["busy"])
    bad = [i for i, name in enumerate(meta["attendees"]) if (name, day, hour) in busy]
    for j, (_, kind, value) in enumerate(meta["prefs"]):
        if (kind == "not_day" and day == value) or (kind == "not_before" and hour < value):
            bad.append(len(meta["attendees"]) + j)
        elif kind == "not_after" and hour + 1 > value:
            bad.append(len(meta["attendees"]) + j)
    return bad


def valid_slots(meta: Mapping[str, Any]) -> list[Slot]:
    """Every slot of the week that violates nothing."""
    return [(d, h) for d in range(len(DAYS)) for h in HOURS if not violations(meta, (d, h))]


def _calendar(busy: Sequence[Slot]) -> str:
    if not busy:
        return "free all week"
    parts = []
    for d in range(len(DAYS)):
        hours = [h for dd, h in busy if dd == d]
        runs: list[list[int]] = []
        for h in hours:
            if runs and runs[-1][1] == h:
                runs[-1][1] = h + 1
            else:
                runs.append([h, h + 1])
        if runs:
            parts.append(f"{DAYS[d]} " + ", ".join(f"{a}:00-{b}:00" for a, b in runs))
    return "busy " + "; ".join(parts)


def _preference(name: str, kind: str, value: int) -> str:
    if kind == "not_day":
        return f"{name} does not meet on {DAYS[value]}"
    if kind == "not_before":
        return f"{name} does not meet before {value}:00"
    return f"{name} must be done by {value}:00"


def _instance(difficulty: int, rng: np.random.Generator) -> tuple[dict[str, Any], Slot]:
    names = [NAMES[i] for i in sorted(rng.choice(len(NAMES), size=difficulty + 1, replace=False))]
    gold: Slot = (int(rng.integers(len(DAYS))), int(rng.choice(HOURS)))
    prefs: list[tuple[str, str, int]] = []
    kinds = ("not_day", "not_before", "not_after")
    while len(prefs) < difficulty:  # preferences the gold slot keeps
        who, kind = names[int(rng.integers(len(names)))], kinds[int(rng.integers(3))]
        if kind == "not_day":
            value = int(rng.choice([d for d in range(len(DAYS)) if d != gold[0]]))
        elif kind == "not_before":
            value = int(rng.integers(HOURS[0] + 1, gold[1] + 1)) if gold[1] > HOURS[0] else 0
        else:
            value = int(rng.integers(gold[1] + 1, HOURS[-1] + 1)) if gold[1] < HOURS[-1] else 0
        if value and (who, kind, value) not in prefs:
            prefs.append((who, kind, value))
    busy: set[tuple[str, int, int]] = set()
    for who in names:  # a calendar about a third full, never at the gold slot
        for d in range(len(DAYS)):
            for h in HOURS:
                if (d, h) != gold and rng.random() < 1 / 3:
                    busy.add((who, d, h))
    meta: dict[str, Any] = {"attendees": tuple(names), "prefs": tuple(prefs), "busy": tuple(sorted(busy))}
    for d, h in valid_slots(meta):  # block every other allowed slot in someone's calendar
        if (d, h) != gold:
            busy.add((names[int(rng.integers(len(names)))], d, h))
    meta["busy"] = tuple(sorted(busy))
    return meta, gold


def meeting_scheduling(
    n: int, *, difficulty: int = 2, rng: np.random.Generator, template: str | None = None
) -> list[Problem]:
    """`n` meeting-scheduling instances with ``difficulty + 1`` attendees and `difficulty` preferences (1-6)."""
    check_n(n)
    check_difficulty(difficulty, 1, 6)
    out = []
    for i in range(n):
        meta, gold = _instance(difficulty, rng)
        if valid_slots(meta) != [gold]:  # the certificate
            raise AssertionError(f"meeting instance {meta} does not have {gold} as its only slot")
        rules = constraint_texts(meta)
        question = (
            f"Schedule a one-hour meeting for {', '.join(meta['attendees'])} between 9:00 and 17:00, "
            f"Monday to Friday. {'. '.join(rules)}. Which day and start time work for everyone? "
            "Answer with the day and the start time, e.g. Monday 9:00."
        )
        solution = f"The only slot every constraint allows is {slot_text(gold)}."
        meta = {**meta, "checker": "meeting", "n_constraints": len(rules)}
        out.append(make_problem("meeting", i, difficulty, question, slot_text(gold), solution, meta, template))
    return out


__all__ = [
    "DAYS",
    "HOURS",
    "constraint_texts",
    "meeting_scheduling",
    "parse_slot",
    "slot_text",
    "valid_slots",
    "violations",
]
