"""Contract tests over every registered strategy (docs/architecture.md, "A strategy"), on the simulated generators:
the budget is never exceeded on any axis, `Usage` equals the sum over the trace, the same seed
gives an identical `Result`, and inputs are left unchanged."""

from __future__ import annotations

import copy

import pytest
from strategy_fixtures import STEP_STRATEGIES, setup_for

from itslab import Budget, BudgetTooSmall, strategies
from itslab.rng import problem_rng

BUDGETS = [
    Budget(samples=1),
    Budget(samples=6),
    Budget(generated_tokens=300),
    Budget(total_tokens=900),
    Budget(samples=12, verifier_calls=3),
    Budget(flops=2e12),
    Budget(generated_tokens=2000, verifier_tokens=800),
]


def _ids(b: Budget) -> str:
    return ",".join(f"{k}={v:g}" for k, v in b.limits.items())


@pytest.mark.parametrize("name", strategies.names())
@pytest.mark.parametrize("budget", BUDGETS, ids=_ids)
def test_budget_never_exceeded_and_usage_is_trace_sum(name, budget):
    problems, gen, ver, hyper = setup_for(name)
    fn = strategies.get(name)
    for p in problems[:3]:
        try:
            r = fn(p, gen, ver, budget, problem_rng(0, p.id), **hyper)
        except BudgetTooSmall as e:  # allowed only when the first step truly does not fit
            assert e.budget == budget and budget.exceeded_by(e.need), str(e)
            continue
        assert budget.allows(r.usage), f"{name} overspent {budget.exceeded_by(r.usage)}: {r.usage}"
        total = sum((s.usage for s in r.trace), start=type(r.usage)())
        assert total == r.usage
        assert r.problem_id == p.id and r.strategy == name
        assert all(s.step == i for i, s in enumerate(r.trace))


@pytest.mark.parametrize("name", strategies.names())
def test_same_seed_same_result_and_inputs_unchanged(name):
    problems, gen, ver, hyper = setup_for(name)
    fn = strategies.get(name)
    p = problems[1]
    budget = Budget(samples=16, generated_tokens=4000)
    before = (copy.deepcopy(p), repr(gen), copy.deepcopy(hyper), budget)
    r1 = fn(p, gen, ver, budget, problem_rng(3, p.id), **hyper)
    r2 = fn(p, gen, ver, budget, problem_rng(3, p.id), **hyper)
    assert r1 == r2
    assert (p, repr(gen), hyper, budget) == before
    r3 = fn(p, gen, ver, budget, problem_rng(4, p.id), **hyper)
    assert r3.trace != r1.trace or r3.candidates != r1.candidates  # the seed matters


@pytest.mark.parametrize("name", sorted(STEP_STRATEGIES & set(strategies.names())))
def test_step_strategies_record_cumulative_usage(name):
    problems, gen, ver, hyper = setup_for(name)
    r = strategies.get(name)(problems[0], gen, ver, Budget(samples=64), problem_rng(0, "x"), **hyper)
    df = r.to_frame()
    assert df["cum_samples"].is_monotonic_increasing and df["cum_samples"].iloc[-1] == r.usage.samples
