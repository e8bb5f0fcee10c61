"""Notebook 07's helpers: the shifted step-wise suite, the calibration bisection, the specs."""

import pytest

from itslab.experiments import step_search


def test_shifted_suite_moves_every_p_and_the_generator_follows():
    base, _ = step_search.shifted_suite(20, seed=0, a=1.0, b=1.0)
    weak, gen = step_search.shifted_suite(20, seed=0, shift=-2.0, a=1.0, b=1.0)
    assert [p.id for p in base] == [p.id for p in weak]
    assert all(w.meta["p_correct"] < b.meta["p_correct"] for w, b in zip(weak, base))
    assert all(gen.success_p(w) == pytest.approx(w.meta["p_correct"]) for w in weak)


def test_calibrate_shift_finds_a_monotone_root_and_rejects_unbracketed_targets():
    shift, value = step_search.calibrate_shift(lambda s: s / 10, 0.123, lo=-4.0, hi=4.0, n_iter=20)
    assert shift == pytest.approx(1.23, abs=1e-4) and value == pytest.approx(0.123, abs=1e-5)
    with pytest.raises(ValueError, match="not bracketed"):
        step_search.calibrate_shift(lambda s: s, 10.0, lo=-1.0, hi=1.0)


def test_specs_labels_and_unknown_names():
    specs = step_search.search_specs(["best_of_n", "lookahead"], beam_width=2)
    assert [s.key for s in specs] == ["best_of_n", "lookahead"]
    assert specs[1].name == "beam_search" and specs[1].hyper["lookahead"] == 2 and specs[1].hyper["beam_width"] == 2
    assert [s.name for s in step_search.equal_token_specs()] == ["phi_decoding", "beam_search"]
    with pytest.raises(ValueError, match="unknown"):
        step_search.search_specs(["mcts"])


def test_run_by_level_labels_quintiles_easiest_first():
    problems, gen = step_search.shifted_suite(10, seed=0, a=1.0, b=1.0)
    prm = step_search.simulated_prm(0.8, 0.0, seed=0)
    df = step_search.run_by_level(problems, step_search.search_specs(["best_of_n"]), [2], gen, prm)
    p = df.groupby("level")["p_correct"].mean()
    assert sorted(df["level"].unique()) == [1, 2, 3, 4, 5] and p.is_monotonic_decreasing
    groups = {"all": problems[:3]}
    acc = step_search.compare_groups(groups, step_search.search_specs(["best_of_n"]), [2], gen, prm)
    assert acc["group"].tolist() == ["all"] and acc["n_problems"].tolist() == [3]


def test_fragments_as_wrong_keeps_numbers_and_drops_sentence_fragments():
    import pandas as pd

    assert step_search.final_answer_form("2 stickers") and step_search.final_answer_form("10")
    assert not step_search.final_answer_form("3. The remaining stickers are split equally into 2 bags:")
    assert not step_search.final_answer_form(None)
    df = pd.DataFrame(
        {"correct": [True, True, False], "answer": ["5", "1. Ann starts with 3 marbles and splits them", "8"]}
    )
    assert step_search.fragments_as_wrong(df)["correct"].tolist() == [True, False, False]
    assert df["correct"].tolist() == [True, True, False]  # the input is not changed
