"""Multi-step arithmetic word problems with exact answers; difficulty = number of operations.

In the spirit of GSM8K (Cobbe et al. 2021) but generated, so that difficulty is a knob and every
test runs offline. Difficulty 1 is one addition or subtraction ("Tom has 3 apples and buys 4
more. How many apples does Tom have now?"), easy enough for a 135M model to solve sometimes;
from difficulty 2 on, doubling/tripling and fair sharing appear. Each problem's worked solution
has one step per operation, joined with `STEP_DELIMITER`, and ``meta["values"]`` holds the
running total after each step (what a step-level oracle checks).

>>> from itslab.rng import as_rng
>>> p = arithmetic(1, difficulty=1, rng=as_rng(0))[0]
>>> p.meta["steps"], p.answer == str(p.meta["values"][-1])
(1, True)
"""

from __future__ import annotations

import numpy as np

from itslab.protocols import STEP_DELIMITER
from itslab.tasks.synthetic._common import check_difficulty, check_n, make_problem
from itslab.types import Problem

NAMES = ("Tom", "Ann", "Maya", "Leo", "Sara", "Ben", "Lily", "Omar", "Nina", "Sam")
ITEMS = ("apples", "marbles", "stickers", "pencils", "coins", "books", "cookies", "cards")


def _op(
    x: int, difficulty: int, name: str, friend: str, items: str, rng: np.random.Generator
) -> tuple[int, str, str, str]:
    """One operation on the running total `x`: (new total, sentence, worked step, op name)."""
    choices = ["add", "sub"] if difficulty == 1 else ["add", "sub", "mul", "div"]
    for _ in range(20):
        op = choices[int(rng.integers(len(choices)))]
        if op == "add":
            k = int(rng.integers(2, 10))
            return (
                x + k,
                f"{name} buys {k} more {items}.",
                f"{name} buys {k} more, so {x} + {k} = {x + k} {items}.",
                op,
            )
        if op == "sub" and x > 2:
            k = int(rng.integers(1, x))
            return (
                x - k,
                f"{name} gives {k} {items} to {friend}.",
                f"{name} gives away {k}, so {x} - {k} = {x - k} {items}.",
                op,
            )
        if op == "mul" and x <= 50:
            k = int(rng.integers(2, 4))
            word = {2: "doubles", 3: "triples"}[k]
            return (
                x * k,
                f"Then the number of {items} {name} has {word}.",
                f"The number {word}, so {x} * {k} = {x * k} {items}.",
                op,
            )
        if op == "div":
            ks = [k for k in (2, 3, 4) if x % k == 0 and x // k >= 1]
            if ks:
                k = ks[int(rng.integers(len(ks)))]
                return (
                    x // k,
                    f"{name} splits the {items} equally into {k} bags and keeps only one bag.",
                    f"One of {k} equal bags holds {x} / {k} = {x // k} {items}.",
                    op,
                )
    k = int(rng.integers(2, 10))  # fallback that always applies
    return x + k, f"{name} buys {k} more {items}.", f"{name} buys {k} more, so {x} + {k} = {x + k} {items}.", "add"


def arithmetic(n: int, *, difficulty: int = 1, rng: np.random.Generator, template: str | None = None) -> list[Problem]:
    """`n` multi-step arithmetic word problems with `difficulty` operations each (1-10)."""
    check_n(n)
    check_difficulty(difficulty)
    out = []
    for i in range(n):
        name, friend = (NAMES[j] for j in rng.choice(len(NAMES), size=2, replace=False))
        items = ITEMS[int(rng.integers(len(ITEMS)))]
        x = int(rng.integers(2, 10))
        sentences, steps, values, ops = [f"{name} has {x} {items}."], [], [], []
        for _ in range(difficulty):
            x, sentence, step, op = _op(x, difficulty, name, friend, items, rng)
            sentences.append(sentence)
            steps.append(step)
            values.append(x)
            ops.append(op)
        question = " ".join(sentences) + f" How many {items} does {name} have now?"
        out.append(
            make_problem(
                "arithmetic",
                i,
                difficulty,
                question,
                str(x),
                STEP_DELIMITER.join(steps),
                {"steps": difficulty, "values": tuple(values), "ops": tuple(ops), "checker": "exact"},
                template,
            )
        )
    return out
