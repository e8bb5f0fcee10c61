"""Answer extraction on degenerate model output (issue: quadratic `last_boxed`), against a baseline.

Times `extract_answer` on 210k-character texts full of unclosed ``\\boxed{`` and stray braces, and
prints each time beside the baseline measured in the same run: one `re.findall` pass over the same
text (the least any extraction must do). Target: < 0.1 s per text (the old code took > 60 s).

    .venv/bin/python benchmarks/bench_answers.py
"""

from __future__ import annotations

import re
import time

from itslab.tasks.answers import extract_answer

TEXTS = {
    "unclosed boxes": "\\boxed{" * 30_000,
    "boxes with stray braces": ("\\boxed{1 " + "{" * 5) * 20_000,
    "braces only": "{" * 210_000,
    "boxes without braces": "\\boxed" * 35_000,
    "junk": "x " * 105_000,
}


def best_of(fn, text: str, reps: int = 5) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    print(f"{'text (210k chars)':<26} {'extract_answer s':>17} {'one regex pass s':>17} {'ratio':>7}")
    for name, text in TEXTS.items():
        text = text[:210_000]
        ours = best_of(extract_answer, text)
        base = best_of(lambda t: re.findall(r"\\boxed|[{}]", t), text)
        print(f"{name:<26} {ours:>17.4f} {base:>17.4f} {ours / base:>7.1f}x {'ok' if ours < 0.1 else 'OVER 0.1 s'}")


if __name__ == "__main__":
    main()
