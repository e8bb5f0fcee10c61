"""Synthetic tasks with exact answers and a difficulty knob, generated from a seed.

They keep every test and smoke run offline and make difficulty controllable:

- `arithmetic`: multi-step arithmetic word problems, difficulty = number of operations;
- `countdown` / `game24`: reach a target with + - * /, certified solvable by an exact solver;
- `graph_navigation`: shortest route on a small road map, difficulty = roads on the route;
- `meeting_scheduling`: the one-hour slot every calendar and preference allows (partial credit:
  constraints violated), difficulty = attendees - 1.

Every generator takes ``(n, *, difficulty, rng)``; `make` builds from a name and an int seed.

>>> a, b = make("arithmetic", 2, difficulty=1, seed=0), make("arithmetic", 2, difficulty=1, seed=0)
>>> [p.prompt for p in a] == [p.prompt for p in b]
True
"""

from __future__ import annotations

from typing import Any, Callable

from itslab.rng import problem_rng
from itslab.tasks.synthetic.countdown import check_expression, count_solutions, countdown, game24, solve
from itslab.tasks.synthetic.graphs import graph_navigation, shortest_distance
from itslab.tasks.synthetic.scheduling import meeting_scheduling
from itslab.tasks.synthetic.word_problems import arithmetic
from itslab.types import Problem

GENERATORS: dict[str, Callable[..., list[Problem]]] = {
    "arithmetic": arithmetic,
    "countdown": countdown,
    "game24": game24,
    "graph": graph_navigation,
    "meeting": meeting_scheduling,
}


def make(name: str, n: int, *, difficulty: int = 1, seed: int = 0, **options: Any) -> list[Problem]:
    """`n` problems of synthetic task `name` at `difficulty`, from integer `seed` (stable across runs)."""
    try:
        gen = GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown synthetic task {name!r}; valid: {sorted(GENERATORS)}") from None
    # one stream per (seed, task, difficulty): changing n only appends problems
    rng = problem_rng(seed, f"synthetic/{name}", f"d{difficulty}")
    return gen(n, difficulty=difficulty, rng=rng, **options)


__all__ = [
    "GENERATORS",
    "arithmetic",
    "check_expression",
    "count_solutions",
    "countdown",
    "game24",
    "graph_navigation",
    "make",
    "meeting_scheduling",
    "shortest_distance",
    "solve",
]
