"""What a report leads with: paired comparisons and the one sentence, computed from a constructed result;
accuracy cells printed with Wilson intervals (never "se 0" for 0 of 5)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from itslab.experiments import findings, report


def _frame(acc: dict[tuple[str, int], list[bool]], name_of: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for (strategy, budget), flags in acc.items():
        for i, ok in enumerate(flags):
            rows.append(
                {
                    "problem_id": f"p{i}",
                    "strategy": strategy,
                    "strategy_name": (name_of or {}).get(strategy, strategy),
                    "budget_axis": "samples",
                    "budget": budget,
                    "seed": 0,
                    "correct": ok,
                }
            )
    return pd.DataFrame(rows)


# 20 problems: one sample is right on problems 0-5 (pass@1 0.30); at 16 samples coverage finds 0-17,
# majority vote 0-11 (0.60), best-of-N 0-5 plus 12-13 (0.40)
P = 20
ONE = [i < 6 for i in range(P)]
RESULT = {
    ("oracle_pass_at_n", 1): ONE,
    ("majority_vote", 1): ONE,
    ("best_of_n", 1): ONE,
    ("oracle_pass_at_n", 16): [i < 18 for i in range(P)],
    ("majority_vote", 16): [i < 12 for i in range(P)],
    ("best_of_n", 16): [i < 6 or i in (12, 13) for i in range(P)],
}


def test_comparisons_are_paired_differences_by_hand():
    comp = findings.comparisons(_frame(RESULT)).set_index("comparison")
    cov = comp.loc["coverage @ 16 − pass@1"]
    d = np.array([0.0] * 6 + [1.0] * 12 + [0.0] * 2)
    assert cov["difference"] == pytest.approx(0.6)
    assert cov["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(P))
    assert cov["resolved"]
    mv = comp.loc["majority_vote − best_of_n @ 16"]
    d = np.array([0.0] * 6 + [1.0] * 6 + [-1.0] * 2 + [0.0] * 6)
    assert mv["difference"] == pytest.approx(0.2) and mv["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(P))
    assert not mv["resolved"]  # z = 1.45
    assert comp.loc["majority_vote @ 16 − pass@1", "resolved"]  # +0.30, every problem gains or stays: z = 2.9


def test_the_lead_sentence_says_who_wins_where_and_whether_it_is_resolved():
    s = findings.lead_sentence(_frame(RESULT), title="Toy")
    assert s.startswith("Toy: coverage rises from pass@1 0.30 to 0.90 at 16 samples, +0.60 ± 0.11")
    assert "tie at 1, majority_vote leads at 16" in s
    assert "at 16 it beats best_of_n by +0.20 ± 0.14 (|z| = 1.5, not resolved)" in s
    assert "and pass@1 by +0.30 ± 0.11 (|z| = 2.9, resolved)" in s
    assert "oracle" not in s.split("coverage")[1]  # the oracle is reported as coverage, never as a winner


def test_the_lead_sentence_reports_the_fitted_law_and_an_oracle_known_by_name_only():
    df = _frame(RESULT, name_of={"oracle_pass_at_n": "pass_at_k"})
    df["strategy"] = df["strategy"].replace({"oracle_pass_at_n": "coverage"})
    assert findings.oracle_strategies(df) == ["coverage"]

    class Fit:
        def as_dict(self):
            return {"a": 0.3, "b": 0.5, "c": 0.62}

    ok = {"majority_vote": {"fit": Fit(), "ceiling_ci": (0.55, 0.7), "note": ""}}
    assert "fitted law for majority_vote: identified, ceiling 0.62 (95% CI [0.55, 0.70])" in findings.lead_sentence(
        df, title="T", laws=ok
    )
    flat = {"majority_vote": {"fit": Fit(), "note": "not identified (infinite SE)"}}
    assert findings.lead_sentence(df, title="T", laws=flat).endswith(
        "fitted law for majority_vote: not identified (infinite SE)."
    )


def test_leaders_say_tie_when_the_best_is_shared():
    assert findings.leaders(_frame(RESULT)) == [(1.0, "tie"), (16.0, "majority_vote")]


def test_a_zero_of_five_cell_prints_its_wilson_interval_not_se_zero():
    df = _frame({("majority_vote", 1): [False] * 5, ("majority_vote", 4): [True] * 5})
    wide = report.wide_table(df)
    assert wide.iloc[0].tolist() == ["majority_vote", "0.00 [0.00, 0.43]", "1.00 [0.57, 1.00]"]
    long = report.long_table(df)
    assert "se" not in long.columns and long["accuracy [95% Wilson]"].tolist()[0] == "0.00 [0.00, 0.43]"


def test_the_report_leads_with_the_sentence_and_shows_intervals(tmp_path):
    from itslab.experiments import rundir as runs

    df = _frame(RESULT)
    d = runs.save(df, tmp_path / "run", runs.manifest(model="toy", config={"title": "Toy run"}, seeds=[0], started=0.0))
    summary = report.summarise(df, name="Toy", n_boot=10)
    text = report.write_report(d, summary=summary).read_text().splitlines()
    assert text[0] == "# Toy run" and text[2] == summary.lead and text[2].startswith("Toy: coverage rises")
    body = "\n".join(text)
    assert "0.300 [" not in body and "0.30 [0.15, 0.52]" in body  # Wilson interval of 6 / 20
    assert "| majority_vote − best_of_n @ 16 |" in body
    assert (tmp_path / "run" / "scaling.png").stat().st_size > 0
