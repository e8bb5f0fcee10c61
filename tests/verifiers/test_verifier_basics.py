"""Rule-based verifiers, aggregation, step splitting; every verifier's cost equals what score spends."""

import pytest

from itslab.budget import CostModel
from itslab.protocols import STEP_DELIMITER, Verifier
from itslab.types import Problem, Usage
from itslab.verifiers import Aggregated, ExactAnswer, MathEquivalence, NoisyProcessVerifier, aggregate, split_steps

P = Problem(id="toy/1", prompt="What is 1/2 + 0?", answer="\\frac{1}{2}")


def test_exact_and_math_equivalence():
    texts = ["so \\boxed{\\frac{1}{2}}", "#### 0.5", "The answer is 1/3.", "\\boxed{\\frac{\\sqrt{4}}{4}}", ""]
    assert ExactAnswer().score(P, texts) == [(1.0,), (1.0,), (0.0,), (0.0,), (0.0,)]
    assert MathEquivalence().score(P, texts) == [(1.0,), (1.0,), (0.0,), (1.0,), (0.0,)]
    assert ExactAnswer().cost(P, texts) == Usage(verifier_calls=5)
    assert isinstance(ExactAnswer(), Verifier) and isinstance(MathEquivalence(), Verifier)


def test_texts_must_be_a_sequence_of_str():
    with pytest.raises(TypeError, match="single str"):
        ExactAnswer().score(P, "\\boxed{1}")
    with pytest.raises(TypeError, match=r"texts\[1\] must be str"):
        ExactAnswer().score(P, ["a", 3])


@pytest.mark.parametrize("how,expected", [("last", 0.8), ("min", 0.5), ("prod", 0.9 * 0.5 * 0.8), ("mean", 2.2 / 3)])
def test_aggregate(how, expected):
    assert aggregate([0.9, 0.5, 0.8], how) == pytest.approx(expected)


def test_aggregate_errors():
    with pytest.raises(ValueError, match="at least one step score"):
        aggregate([], "min")
    with pytest.raises(ValueError, match="unknown aggregation 'max'"):
        aggregate([1.0], "max")


def test_split_steps():
    d = STEP_DELIMITER
    assert split_steps(f"a{d}b{d}") == ["a", "b"]
    assert split_steps(f"a{d}{d}  {d}b") == ["a", "b"]
    assert split_steps("") == [""]


def test_aggregated_wraps_a_process_verifier():
    prm = NoisyProcessVerifier(
        lambda p, t: [True, False], noise=0.0, separation=4.0, cost_model=CostModel(verifier_params=10)
    )
    orm = Aggregated(prm, how="min")
    ((s,),) = orm.score(P, ["x\n\ny"])
    assert s == pytest.approx(min(prm.score(P, ["x\n\ny"])[0]))
    assert orm.cost(P, ["x\n\ny"]) == prm.cost(P, ["x\n\ny"]) and orm.name.endswith("[min]")
    with pytest.raises(ValueError):
        Aggregated(prm, how="median")
