"""Package-level contracts for tasks and verifiers: light imports, protocol conformance, determinism."""

import subprocess
import sys

import pytest

from itslab.protocols import Verifier
from itslab.types import Problem
from itslab.verifiers import (
    CodeExecution,
    CombinedVerifier,
    CorrelatedNoisyVerifier,
    ExactAnswer,
    GenerativeVerifier,
    LengthBiasedPRM,
    MathEquivalence,
    MetaVerifier,
    NoisyProcessVerifier,
    NoisyVerifier,
    RuleStepVerifier,
    SelfEvaluation,
    SimulatedCritic,
)
from itslab.verifiers.partial import ConstraintScore, CountdownDistance, MeetingConstraints

# every verifier class the package ships, built cheaply (the per-module tests check their behaviour)
SHIPPED = [
    ExactAnswer(),
    MathEquivalence(),
    NoisyVerifier(tpr=0.9, fpr=0.1),
    NoisyVerifier(auc=0.7),
    NoisyProcessVerifier(lambda p, t: [True]),
    RuleStepVerifier(),
    LengthBiasedPRM(auc=0.8, seed=3),
    ConstraintScore(),
    CountdownDistance(),
    MeetingConstraints(),
    MetaVerifier(SimulatedCritic(accuracy=0.7, seed=1), k=4),
    CombinedVerifier(
        [CorrelatedNoisyVerifier("cot", tpr=0.8, fpr=0.3), CorrelatedNoisyVerifier("pot", tpr=0.7, fpr=0.1)]
    ),
]


def test_imports_stay_light():
    code = (
        "import sys, itslab.tasks, itslab.verifiers; "
        "print([m for m in ('torch', 'transformers', 'sympy', 'math_verify', 'datasets') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"import itslab.tasks / itslab.verifiers pulled in {out}"


class _Gen:
    n_params = 0.0

    def logprob_of(self, prefix, continuation):
        return -1.0

    def generate(self, requests):
        return [[] for _ in requests]


@pytest.mark.parametrize(
    "v", [*SHIPPED, SelfEvaluation(_Gen()), GenerativeVerifier(_Gen()), CodeExecution()], ids=lambda v: type(v).__name__
)
def test_satisfies_the_protocol(v):
    assert isinstance(v, Verifier) and isinstance(v.name, str)


@pytest.mark.parametrize(
    "v",
    [*SHIPPED, NoisyProcessVerifier(lambda p, t: [True] * len(t.split("\n\n")), seed=3)],
    ids=lambda v: type(v).__name__,
)
def test_scores_and_cost_are_deterministic(v):
    from itslab import tasks

    # the step-rule and partial-credit verifiers read a synthetic task's structure
    task = {
        "step_rules": "arithmetic",
        "step_rules_noisy": "arithmetic",
        "countdown_distance": "countdown",
        "meeting_constraints": "meeting",
    }
    p = (
        tasks.load(task[v.name.split("(")[0]], limit=1)[0]
        if v.name.split("(")[0] in task
        else Problem(id="toy/c", prompt="2 + 2?", answer="4")
    )
    texts = ["#### 4", "a\n\nb\n\n#### 5", ""]
    assert v.score(p, texts) == v.score(p, texts)
    assert len(v.score(p, texts)) == 3
    # one verifier call per text at least (a critique verifier makes k per text), none for no texts
    assert v.cost(p, texts) == v.cost(p, texts) and v.cost(p, texts).verifier_calls >= 3
    assert v.score(p, []) == [] and v.cost(p, []).verifier_calls == 0
