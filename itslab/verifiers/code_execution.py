"""`CodeExecution`: an outcome verifier that runs model-written Python against a problem's tests.

Execution feedback as a verifier, as in code-generation evaluation with unit tests (Chen et
al. 2021, HumanEval; Li et al. 2022, AlphaCode's filtering by example tests). The solution is the
last fenced code block of the text (or the whole text), run in `itslab.verifiers.sandbox`
against ``problem.meta["tests"]`` (a string of asserts, or a list of them). Score 1.0 if every
test passes, else 0.0; `check` gives the reason.

>>> from itslab.types import Problem
>>> p = Problem(id="sq", prompt="Write sq(x).", meta={"tests": ["assert sq(3) == 9"]})
>>> CodeExecution().score(p, ["```python\\ndef sq(x):\\n    return x * x\\n```"])
[(1.0,)]
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

from itslab.protocols import Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, rule_cost
from itslab.verifiers.sandbox import ExecutionResult, run_python

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> str:
    """The last fenced code block in `text` (```python ... ```), or the whole text when there is none."""
    blocks = _FENCE.findall(text or "")
    return blocks[-1] if blocks else (text or "")


@dataclass(frozen=True)
class CodeExecution:
    """Outcome verifier: run the solution's code against ``problem.meta[tests_key]`` in a sandbox."""

    timeout: float = 5.0
    memory_mb: int = 1024
    tests_key: str = "tests"
    workers: int = 1
    name: str = "code_execution"

    def _tests(self, problem: Problem) -> list[str]:
        tests = problem.meta.get(self.tests_key)
        if tests is None:
            raise ValueError(f"problem {problem.id!r} has no meta[{self.tests_key!r}] with tests to run")
        return [tests] if isinstance(tests, str) else [str(t) for t in tests]

    def check(self, problem: Problem, text: str) -> ExecutionResult:
        """Run one solution; the result says pass/fail and why."""
        return run_python(extract_code(text), self._tests(problem), timeout=self.timeout, memory_mb=self.memory_mb)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """``(1.0,)`` when all tests pass, else ``(0.0,)``; runs `workers` sandboxes at a time."""
        texts = as_texts(texts, f"{self.name}.score")
        self._tests(problem)  # fail early, before any subprocess
        if self.workers > 1 and len(texts) > 1:
            with ThreadPoolExecutor(self.workers) as pool:
                results = list(pool.map(lambda t: self.check(problem, t), texts))
        else:
            results = [self.check(problem, t) for t in texts]
        return [(1.0 if r.passed else 0.0,) for r in results]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One verifier call per text; no model tokens or FLOPs."""
        return rule_cost(as_texts(texts, f"{self.name}.cost"))
