import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itslab.types import USAGE_AXES, Completion, Problem, Request, Usage, total_usage

ints = st.integers(min_value=0, max_value=10**9)
floats = st.floats(min_value=0, max_value=1e18, allow_nan=False)
usages = st.builds(
    Usage,
    samples=ints,
    prompt_tokens=ints,
    cached_tokens=ints,
    generated_tokens=ints,
    verifier_calls=ints,
    verifier_tokens=ints,
    generator_flops=floats,
    verifier_flops=floats,
    wall_time=floats,
    price=floats,
)


@given(usages, usages)
def test_usage_addition_is_fieldwise_and_commutative(a, b):
    s = a + b
    for ax in USAGE_AXES:
        assert getattr(s, ax) == getattr(a, ax) + getattr(b, ax)
    assert s == b + a


@given(usages, usages, usages)
def test_usage_addition_is_associative_on_integer_axes(a, b, c):
    left, right = (a + b) + c, a + (b + c)
    for ax in ("samples", "prompt_tokens", "generated_tokens", "verifier_calls"):
        assert getattr(left, ax) == getattr(right, ax)


@given(usages)
def test_usage_zero_is_identity_and_sum_works(a):
    assert a + Usage() == a
    assert sum([a, Usage()]) == a
    assert total_usage([a, a]) == a + a
    assert (a + a) - a == a or all(
        abs(getattr((a + a) - a, x) - getattr(a, x)) <= 1e-6 * max(1, getattr(a, x)) for x in USAGE_AXES
    )


def test_usage_derived_axes():
    u = Usage(prompt_tokens=10, generated_tokens=5, generator_flops=2.0, verifier_flops=3.0)
    assert u.total_tokens == 15 and u.flops == 5.0
    assert u.get("total_tokens") == 15
    with pytest.raises(ValueError, match="unknown usage axis 'tokens'"):
        u.get("tokens")


def test_records_are_frozen():
    p = Problem(id="a", prompt="q", answer="1", meta={"difficulty": 2})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.answer = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.meta["difficulty"] = 3  # type: ignore[index]
    c = Completion(text="x", n_tokens=1, logprobs=[-0.5, -0.25])
    assert c.logprob == -0.75 and isinstance(c.logprobs, tuple)


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"n": -1}, "Request.n"),
        ({"max_tokens": -3}, "Request.max_tokens"),
        ({"temperature": -1.0}, "Request.temperature"),
        ({"top_p": 0.0}, "Request.top_p"),
    ],
)
def test_request_rejects_bad_values(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Request(prefix="p", **kw)


def test_problem_needs_an_id():
    with pytest.raises(ValueError, match="Problem.id"):
        Problem(id="", prompt="q")
