"""A budget that cannot buy one unit of a strategy is an error naming the strategy, the budget and the
minimum, never a silent accuracy of 0 (before: beam search and particle filtering with their default
16 beams/particles scored 0.0 at budgets 1–32 samples, spending nothing, and the CLI exited 0)."""

from __future__ import annotations

import pytest
from strategy_fixtures import setup_for

from itslab import Budget, BudgetTooSmall, experiments, strategies
from itslab.rng import problem_rng


@pytest.mark.parametrize("name", ["beam_search", "dvts", "rebase", "particle_filter", "particle_gibbs"])
def test_step_search_with_default_size_on_a_small_sample_budget_raises(name):
    problems, gen, ver, _ = setup_for(name)
    with pytest.raises(BudgetTooSmall, match=rf"{name}: budget \{{'samples': 4\}} cannot buy .* samples=16") as e:
        strategies.get(name)(problems[0], gen, ver, Budget(samples=4), problem_rng(0, "x"))
    assert e.value.budget.exceeded_by(e.value.need) == ["samples"]


@pytest.mark.parametrize("name", ["majority_vote", "best_of_n", "weighted_best_of_n", "oracle_pass_at_n"])
def test_a_token_budget_below_max_tokens_raises(name):
    problems, gen, ver, _ = setup_for(name)
    with pytest.raises(BudgetTooSmall, match=rf"{name}: .*one sample of up to 512 tokens.*generated_tokens=512"):
        strategies.get(name)(problems[0], gen, ver, Budget(generated_tokens=100), problem_rng(0, "x"), max_tokens=512)


def test_a_sweep_with_a_too_small_budget_fails_loudly():
    problems, gen, ver, _ = setup_for("beam_search")
    with pytest.raises(BudgetTooSmall, match="beam_search"):
        experiments.run(problems[:2], ["beam_search"], [1, 2, 4], [0], gen, ver, progress=False)
    # on the rollouts axis the strategy is sized to the budget: no error, real spending
    df = experiments.run(
        problems[:2],
        [("beam_search", {"max_steps": 4})],
        [1, 2, 4],
        [0],
        gen,
        ver,
        budget_axis="rollouts",
        progress=False,
    )
    assert (df["samples"] > 0).all()
