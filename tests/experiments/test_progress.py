"""The sweep's progress bar: shown when ITSLAB_PROGRESS=1 even off a terminal (make demo), hidden with 0,
and its tokens/s counts what the engine generated, not the rows' (shared, nested) usage."""

from __future__ import annotations

import re

from itslab import experiments


def test_the_bar_shows_off_a_terminal_with_engine_tokens(monkeypatch, capsys, sim_suite):
    problems, gen = sim_suite
    monkeypatch.setenv("ITSLAB_PROGRESS", "1")
    df = experiments.run(problems[:4], ["majority_vote", "oracle_pass_at_n"], [1, 2, 4], [0], gen)
    err = capsys.readouterr().err
    assert "itslab" in err and "24/24" in err and "tok_s=" in err
    # both strategies share one pool per problem: the engine generated the budget-4 samples once,
    # while the rows report what each (strategy, budget) run would have spent alone
    generated = int(df[(df.budget == 4) & (df.strategy == "majority_vote")]["generated_tokens"].sum())
    assert int(re.findall(r"tokens=(\d+)", err)[-1]) == generated < df["generated_tokens"].sum() / 2


def test_the_bar_is_hidden_with_itslab_progress_0(monkeypatch, capsys, sim_suite):
    problems, gen = sim_suite
    monkeypatch.setenv("ITSLAB_PROGRESS", "0")
    experiments.run(problems[:2], ["majority_vote"], [1, 2], [0], gen)
    assert "itslab" not in capsys.readouterr().err
