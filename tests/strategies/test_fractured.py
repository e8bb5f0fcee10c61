"""fractured_sampling: the known answer (H = m = 1 is best_of_n / majority_vote, sample for sample), the ledger
(every cut re-reads its prefix and its inserted answer prompt as prompt tokens), coverage against the
simulator's closed form, a budget that runs out between depths, and its input checks."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.generators.simulated.text import count_tokens
from itslab.rng import problem_rng
from itslab.scaling.fractured import belief_depths
from itslab.tasks.checking import check_answer
from itslab.verifiers import NoisyVerifier

fractured = strategies.get("fractured_sampling")
KW = dict(n_segments=8, mean_think_tokens=80.0, mean_answer_tokens=4.0, rederive=0.5)


@pytest.fixture(scope="module")
def anytime():
    return make_suite(24, seed=2, kind="anytime", **KW)


@pytest.mark.parametrize("kind", ["outcome", "anytime"])
def test_whole_depth_only_is_best_of_n(kind):
    problems, gen = make_suite(8, seed=0, kind=kind, **({} if kind == "outcome" else KW))
    ver = NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
    bon = strategies.get("best_of_n")
    for p in problems:
        for budget in (Budget(samples=6), Budget(generated_tokens=500)):
            a = bon(p, gen, ver, budget, problem_rng(1, p.id), max_tokens=300)
            b = fractured(p, gen, ver, budget, problem_rng(1, p.id), H=1, m=1, max_tokens=300, select="best")
            assert (a.answer, a.correct, a.usage) == (b.answer, b.correct, b.usage)
            assert [c.score for c in a.candidates] == [c.score for c in b.candidates]


def test_whole_depth_only_with_a_vote_is_majority_vote(anytime):
    problems, gen = anytime
    mv = strategies.get("majority_vote")
    for p in problems[:8]:
        a = mv(p, gen, None, Budget(samples=5), problem_rng(2, p.id), max_tokens=400)
        b = fractured(p, gen, None, Budget(samples=5), problem_rng(2, p.id), H=1, m=1, max_tokens=400)
        assert (a.answer, a.usage) == (b.answer, b.usage)


def test_cut_prompt_tokens_equal_the_prefixes_read(anytime):
    problems, gen = anytime
    p = problems[3]
    r = fractured(p, gen, None, Budget(samples=100), problem_rng(5, p.id), n=2, H=2, m=3, max_tokens=400)
    half = [c for c in r.candidates if c.meta["depth"] == 0.5]
    assert [s.info["depth"] for s in r.trace if s.kind == "truncate"] == [0.5, 1.0]
    # three answers per (trajectory, cut): the prefix (prompt, kept trace, inserted "\n</think>\n\n") is
    # read by the first, cached for the other two; the simulator has no cache across requests
    by_traj = {}
    for c in half:
        by_traj.setdefault(c.meta["trajectory"], c)
    prefix_tokens = sum(count_tokens(p.prompt + c.text[: c.text.index("</think>") + 10]) for c in by_traj.values())
    step = next(s for s in r.trace if s.kind == "truncate" and s.info["depth"] == 0.5)
    assert step.usage.prompt_tokens == prefix_tokens
    assert step.usage.cached_tokens == 2 * prefix_tokens


def test_coverage_matches_the_closed_form(anytime):
    problems, gen = anytime
    n, m, H = 2, 2, 4
    depths = belief_depths(H, gen.n_segments)
    hits, want = [], []
    for seed in range(6):
        for p in problems:
            r = fractured(
                p,
                gen,
                None,
                Budget(samples=100),
                problem_rng(seed, p.id),
                n=n,
                m=m,
                H=H,
                max_tokens=400,
                temperature=1.0,
            )
            hits.append(any(check_answer(p, c.answer) for c in r.candidates))
            want.append(1.0 - gen.p_no_correct(p, depths, m) ** n)
    want = np.asarray(want)
    se = np.sqrt((want * (1 - want)).sum()) / len(want)
    assert abs(np.mean(hits) - want.mean()) < 4 * se


def test_a_budget_that_runs_out_stops_between_depths(anytime):
    problems, gen = anytime
    p = problems[1]
    budget = Budget(samples=2 + 2 * 2)  # two trajectories and one depth of two answers each
    r = fractured(p, gen, None, budget, problem_rng(0, p.id), n=2, H=4, m=2, max_tokens=400)
    assert budget.allows(r.usage) and [s.info["depth"] for s in r.trace if s.kind == "truncate"] == [0.25]
    free = fractured(p, gen, None, Budget(generated_tokens=3000), problem_rng(0, p.id), H=4, m=2, max_tokens=400)
    assert free.hyper["n"] >= 1 and Budget(generated_tokens=3000).allows(free.usage)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"H": 0}, "H and m"),
        ({"m": 1.5}, "H and m"),
        ({"select": "best_of"}, "select"),
        ({"answer_tokens": 0}, "answer_tokens"),
    ],
)
def test_bad_hyper_parameters_are_named(anytime, kw, match):
    problems, gen = anytime
    with pytest.raises(ValueError, match=match):
        fractured(problems[0], gen, None, Budget(samples=4), problem_rng(0, "x"), **kw)
