"""The demo's parts: a bank replayed as an experiment frame (estimators checked by hand on a tiny
bank), a report per bank that leads with its sentence, the demo's summary with one sentence per part, and
the live part's pass@1 over every sample."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import banks
from itslab.experiments import bank_curves, demo

SPEC = {
    "name": "tiny",
    "task": {"name": "arithmetic", "limit": 6, "difficulty": 1},
    "model": {"backend": "simulated", "name": "outcome"},
    "sampling": {"n": 4, "temperature": 0.7, "max_tokens": 256},
    "chunk": 3,
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("banks")
    banks.record(banks.parse_spec(SPEC), root=r, progress=False)
    # a bank still being recorded: a spec and one part, no bank.parquet
    banks.record(banks.parse_spec({**SPEC, "name": "half"}), root=r, progress=False, limit_chunks=1)
    return r


def test_default_ks_are_powers_of_two_up_to_n():
    assert bank_curves.default_ks(32) == [1, 2, 4, 8, 16, 32] and bank_curves.default_ks(12) == [1, 2, 4, 8, 12]


def test_bank_frame_matches_the_estimators_by_hand(root):
    b = banks.load("tiny", root)
    df = bank_curves.bank_frame(b, rng=np.random.default_rng(0))
    assert set(df["strategy"]) == {"pass_at_k", "majority_vote", "best_of_n(logprob)"}  # no self-eval recorded
    assert len(df) == 3 * 6 * 3 and set(df["budget"]) == {1, 2, 4}

    def cell(strategy, k):
        return df[(df.strategy == strategy) & (df.budget == k)].set_index("problem_id").loc[list(b.problem_ids)]

    # at k = 1 every strategy is one random sample: the fraction correct; at k = n coverage is "any correct"
    for s in ("pass_at_k", "majority_vote", "best_of_n(logprob)"):
        assert cell(s, 1)["correct"].to_numpy() == pytest.approx(b.correct.mean(axis=1))
    assert cell("pass_at_k", 4)["correct"].to_numpy() == pytest.approx(b.correct.any(axis=1).astype(float))
    # best-of-4 takes the sample with the highest mean logprob
    best = b.correct[np.arange(6), np.argmax(b.logprob_mean, axis=1)]
    assert cell("best_of_n(logprob)", 4)["correct"].to_numpy() == pytest.approx(best.astype(float))
    assert cell("majority_vote", 2)["generated_tokens"].to_numpy() == pytest.approx(2 * b.tokens.mean(axis=1))
    with pytest.raises(ValueError, match="ks must lie in 1..4"):
        bank_curves.bank_frame(b, [8], rng=np.random.default_rng(0))


def test_bank_parts_write_a_report_per_finished_bank_and_name_the_rest(root, tmp_path):
    parts, pending = demo.bank_parts(tmp_path / "out", root=root)
    assert [p.run_dir.name for p in parts] == ["tiny"] and pending == ["half"]
    text = (parts[0].run_dir / "report.md").read_text().splitlines()
    assert text[2] == parts[0].summary.lead and text[2].startswith("Bank tiny (outcome on arithmetic")
    assert "coverage rises from pass@1" in text[2]
    sim = demo.simulator_part(tmp_path / "out" / "sim", n_problems=20, budgets=[1, 2, 4])
    path = demo.write_summary(tmp_path / "out", [*parts, sim], pending=pending)
    lines = path.read_text().splitlines()
    assert lines[2] == f"- {parts[0].summary.lead}" and lines[3] == f"- {sim.summary.lead}"
    assert lines[4] == "- Banks still being recorded (not shown): half."
    assert (tmp_path / "out" / "scaling.png").stat().st_size > 0


def test_sample_pass_at_1_averages_every_sample_of_the_largest_coverage_run(sim_suite):
    from itslab import experiments, tasks

    problems, gen = sim_suite
    problems = problems[:6]
    df = experiments.run(problems, ["oracle_pass_at_n", "majority_vote"], [1, 8], [0], gen, keep_results=True)
    results = list(df.attrs["results"])
    mean, se = demo.sample_pass_at_1(df, problems)
    assert "results" not in df.attrs  # popped: the frame can be saved as Parquet
    rates = []
    for p in problems:
        i = df.index[(df.problem_id == p.id) & (df.strategy == "oracle_pass_at_n") & (df.budget == 8)][0]
        flags = [tasks.check_answer(p, c.answer) for c in results[i].candidates]
        assert len(flags) == 8
        rates.append(np.mean(flags))
    assert mean == pytest.approx(np.mean(rates)) and se == pytest.approx(np.std(rates, ddof=1) / np.sqrt(6))
    assert 0 < mean < 1
