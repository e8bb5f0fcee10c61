"""MathEquivalence agrees with MATH-500 gold on the reference solutions' own boxed answers."""

import os
from pathlib import Path

import pytest

from itslab.tasks import load
from itslab.verifiers import MathEquivalence

DATA = os.environ.get("ITSLAB_DATA_DIR")


@pytest.mark.skipif(not DATA or not Path(DATA, "math500").is_dir(), reason="no ITSLAB_DATA_DIR")
def test_reference_solutions_agree_with_gold():
    problems = load("math500")
    v = MathEquivalence()
    failures = [p.id for p in problems if v.score(p, [p.meta["solution"]])[0] != (1.0,)]
    rate = 1 - len(failures) / len(problems)
    print(f"MATH-500 agreement: {rate:.4f} ({len(problems) - len(failures)}/{len(problems)}); failures: {failures}")
    assert rate >= 0.98, failures


@pytest.mark.slow
@pytest.mark.skipif(not DATA or not Path(DATA, "math500").is_dir(), reason="no ITSLAB_DATA_DIR")
def test_math_verify_path_alone_agrees_with_gold():
    """The same check with string normalisation bypassed: math-verify must carry it on its own (~5 s)."""
    from itslab.tasks.answers import _clean_latex, _symbolic_equal, last_boxed

    problems = load("math500")
    failures = [
        p.id
        for p in problems
        if not _symbolic_equal(_clean_latex(last_boxed(p.meta["solution"]) or ""), _clean_latex(p.answer))
    ]
    rate = 1 - len(failures) / len(problems)
    print(f"MATH-500 math-verify-only agreement: {rate:.4f}; failures: {failures}")
    assert rate >= 0.98, failures
