"""Notebook 13's real-model recording (`experiments.refine_real`) on the embedded SmolLM2-135M:
every strategy spends at most its calls, the file resumes problem by problem, and a file recorded
with other settings is refused."""

from __future__ import annotations

import pytest

from itslab.experiments import refine_real

pytestmark = pytest.mark.slow


def test_records_resumes_and_refuses_other_settings(llama_gen, tmp_path):
    path = tmp_path / "r.json"
    kw = dict(model="smollm2-135m", n=2, max_tokens=12, generator=llama_gen)
    one = refine_real.record(path, n_problems=1, **kw)
    assert sorted(one["strategy"]) == sorted(refine_real.strategies_at(2))
    assert (one["samples"] <= 2).all() and (one["samples"] >= 1).all()
    assert ((one["best_score"] >= 0) & (one["best_score"] <= 1)).all()
    text = path.read_text()
    with pytest.raises(ValueError, match="recorded with"):
        refine_real.record(path, n_problems=2, **{**kw, "max_tokens": 13})
    assert path.read_text() == text  # a refused call leaves the file as it was
    two = refine_real.record(path, n_problems=2, **kw)  # one problem more: resumes after the first
    assert two.iloc[: len(one)].equals(one) and two["problem_id"].nunique() == 2
    # numbers and ids only: no question or completion text is written
    assert list(two.columns) == ["problem_id", "strategy", "correct", "best_score", "samples", "generated_tokens",
                                 "fresh_share", "wall_s"]  # fmt: skip
