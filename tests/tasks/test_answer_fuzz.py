"""Fuzzing extraction and equivalence on model-like output (nested braces, huge exponents, unicode
minus, long junk): they never raise, and no call hangs (a loose per-call bound, far above the
milliseconds they take, that only a hang or a quadratic blow-up would cross). A few hundred examples
run in `make test`; ``-m slow`` runs 10^4."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itslab.tasks.answers import answers_equal, extract_answer, normalize_answer

PIECES = st.sampled_from(
    [
        "\\boxed{",
        "}",
        "{",
        "\\frac{1}{2}",
        "9^{9^{9}}",
        "10^{1000}",
        "1.5e3",
        "−3",
        "-",
        "####",
        "The answer is ",
        "$",
        "\\\\",
        "\\begin{pmatrix}",
        "\\end{pmatrix}",
        " ",
        "\n",
        "x",
        "0.5",
        "\\sqrt{2}",
        "2**9999",
        "1e999",
        "ﬁ",
        "\\text{ cm}",
        ",",
        ".",
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=60).map("".join),
    st.text(max_size=200),
    st.integers(1, 30_000).map(lambda n: "\\boxed{" * n),
    st.integers(1, 50_000).map(lambda n: "9" * n),
)


def _bounded(fn, *args, limit=20.0):
    t = time.perf_counter()
    out = fn(*args)
    assert time.perf_counter() - t < limit, f"{fn.__name__} took too long on {[a[:60] for a in args]}"
    return out


def _check(text: str, other: str) -> None:
    a = _bounded(extract_answer, text)
    assert a is None or isinstance(a, str)
    assert isinstance(_bounded(normalize_answer, text[:5000]), str)
    if a is not None:
        assert isinstance(_bounded(answers_equal, a[:5000], other[:200], limit=60.0), bool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(TEXTS, TEXTS)
def test_extraction_and_equivalence_never_raise_and_stay_bounded(text, other):
    _check(text, other)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(TEXTS, TEXTS)
def test_fuzz_ten_thousand(text, other):
    _check(text, other)
