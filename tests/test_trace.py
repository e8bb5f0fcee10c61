import pytest

from itslab.trace import Candidate, Result, StepRecord
from itslab.types import Usage


def _result(**kw):
    trace = (
        StepRecord(0, "sample", Usage(samples=2, generated_tokens=10), {"ess": 1.5, "weights": [0.5, 0.5]}),
        StepRecord(1, "score", Usage(verifier_calls=2)),
    )
    base = dict(
        problem_id="p",
        strategy="s",
        answer="3",
        candidates=[Candidate("t", "3", 0.9)],
        trace=trace,
        usage=Usage(samples=2, generated_tokens=10, verifier_calls=2),
        hyper={"n": 2},
    )
    base.update(kw)
    return Result(**base)


def test_result_usage_must_equal_trace_sum():
    with pytest.raises(ValueError, match="differs from the trace's sum"):
        _result(usage=Usage(samples=3))


def test_result_is_deeply_frozen():
    r = _result()
    with pytest.raises(TypeError):
        r.trace[0].info["ess"] = 2.0  # type: ignore[index]
    assert r.trace[0].info["weights"] == (0.5, 0.5)


def test_to_frame_has_per_step_and_cumulative_usage():
    df = _result().to_frame()
    assert list(df["step"]) == [0, 1]
    assert list(df["cum_samples"]) == [2, 2] and list(df["cum_verifier_calls"]) == [0, 2]
    assert df.loc[0, "ess"] == 1.5 and "weights" not in df.columns
    assert _result().summary()["generated_tokens"] == 10
