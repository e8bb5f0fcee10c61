"""Beam search, DVTS and REBASE (itslab.strategies.search) on the stepwise simulator, plus the step primitives."""

from __future__ import annotations

import numpy as np
import pytest
from step_helpers import Recorder, noisy_prm, stepwise_suite

from itslab import Budget
from itslab.protocols import STEP_DELIMITER
from itslab.rng import problem_rng
from itslab.strategies import search, steps
from itslab.strategies.base import step_finished
from itslab.trace import Candidate
from itslab.types import Completion

BIG = Budget(samples=10_000)


def _c(text: str, reason: str = "stop") -> Completion:
    return Completion(text=text, n_tokens=len(text.split()), finish_reason=reason)


# --- the step-end rule -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,finished",
    [
        ("Step 1: add 2 and 3 to get 5.\n\n", False),
        ("So the answer is \\boxed{5}.", True),
        ("Then \\boxed{5}\n\n", True),  # a final answer ends it even before the delimiter
        ("Hence\n#### 12\n\n", True),
        ("Step 2: the model stopped here", True),  # EOS before the delimiter
        ("", True),
        ("\n\n", True),  # an empty step
    ],
)
def test_step_finished(text, finished):
    assert step_finished(_c(text)) is finished


def test_a_step_cut_by_max_tokens_continues():
    assert not step_finished(_c("Step 2: a step cut by max_tok", "length"))
    assert step_finished(_c("Step 2: so \\boxed{4", "length")) is True  # a final answer was started


# --- REBASE's width allocation ---------------------------------------------------------------
def test_balanced_widths_known_values_and_sum():
    assert search.balanced_widths([0.9, 0.1, 0.5], 8, 0.5) == [5, 0, 3]  # ceil(8·0.606)=5, ceil(3·0.69)=3, 0
    assert search.balanced_widths([0.9, 0.1, 0.5], 4, 0.2) == [4, 0, 0]  # the sequential ceiling favours the top
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, width = int(rng.integers(1, 10)), int(rng.integers(1, 40))
        r, t = rng.random(k), float(rng.uniform(0.05, 2.0))
        w = search.balanced_widths(r, width, t)
        assert sum(w) == width and min(w) >= 0
        order = np.argsort(-r, kind="stable")
        assert all(w[order[i]] >= w[order[i + 1]] - 1 for i in range(k - 1))  # higher reward, no fewer (±1 ceil)


def test_balanced_widths_temperature_limits():
    assert search.balanced_widths([0.2, 0.9, 0.5], 6, 1e-3) == [0, 6, 0]  # T -> 0: all to the best
    assert search.balanced_widths([0.5, 0.5, 0.5], 6, 0.2) == [2, 2, 2]  # equal rewards: equal widths
    assert search.balanced_widths([0.2, 0.9, 0.5], 6, 1e3) == [1, 3, 2]  # T -> inf: near-even, ceil to the top


# --- answer selection ------------------------------------------------------------------------
def test_select_answer_rules_skip_unfinished():
    cands = [
        Candidate("a", "1", 0.9, meta={"finished": True}),
        Candidate("b", "2", 0.5, meta={"finished": True}),
        Candidate("c", "2", 0.45, meta={"finished": True}),
        Candidate("d", None, 0.99, meta={"finished": False}),
    ]
    assert steps.select_answer(cands, "best")[0] == "1"
    assert steps.select_answer(cands, "weighted")[0] == "2"  # 0.95 > 0.9
    assert steps.select_answer(cands, "majority")[0] == "2"
    assert steps.select_answer(cands[3:], "best")[0] is None


# --- the strategies --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,hyper",
    [("beam_search", {"n": 8, "beam_width": 2}), ("dvts", {"n": 8, "beam_width": 2}), ("rebase", {"n": 8})],
)
def test_perfect_prm_solves_almost_everything(name, hyper):
    """With a noiseless PRM the search steers clear of broken steps: accuracy ≥ 0.9 on 12 problems
    whose pass@1 averages 0.5 (best-of-8 sampling would need luck on the hard ones)."""
    problems, gen = stepwise_suite()
    prm = noisy_prm(0.0)
    fn = getattr(search, name)
    acc = np.mean([fn(p, gen, prm, BIG, problem_rng(0, p.id), **hyper).correct for p in problems])
    assert acc >= 0.9


def test_beam_search_one_batched_call_per_depth_with_prefixes():
    problems, gen = stepwise_suite()
    rec = Recorder(gen)
    r = search.beam_search(problems[0], rec, noisy_prm(0.5), BIG, problem_rng(0, "b"), n=8, beam_width=2)
    expands = [s for s in r.trace if s.kind == "expand"]
    assert len(rec.calls) == len(expands)  # one generate call per depth
    for call in rec.calls:
        assert sum(q.n for q in call) == 8  # n beams every depth (survivors copied)
        assert len(call) <= 8 // 2 or call is rec.calls[0]  # one request per survivor (n/M of them)
        assert all(q.prefix.startswith(problems[0].prompt) for q in call)
        assert all(q.stop == (STEP_DELIMITER,) for q in call)
    sel = [s.info for s in r.trace if s.kind == "select"]
    assert all(len(i["survivors"]) <= 4 for i in sel)
    assert all(c.meta["finished"] for c in r.candidates if c.answer is not None)


def test_lookahead_rolls_out_greedily_and_is_charged():
    problems, gen = stepwise_suite()
    rec = Recorder(gen)
    r = search.beam_search(problems[2], rec, noisy_prm(0.5), BIG, problem_rng(0, "la"), n=4, beam_width=2, lookahead=2)
    la = [s for s in r.trace if s.kind == "lookahead"]
    assert la and all(s.usage.samples > 0 for s in la)
    greedy = [q for call in rec.calls for q in call if q.temperature == 0.0]
    assert len(greedy) == sum(s.usage.samples for s in la)
    assert r.usage.samples == sum(s.usage.samples for s in r.trace if s.kind in ("expand", "lookahead"))


def test_dvts_keeps_subtrees_apart():
    problems, gen = stepwise_suite()
    r = search.dvts(problems[3], gen, noisy_prm(0.5), BIG, problem_rng(0, "d"), n=12, beam_width=3)
    assert len(r.candidates) == 12  # each of 4 subtrees' last 3 children
    assert sorted({c.meta["subtree"] for c in r.candidates}) == [0, 1, 2, 3]
    for s in r.trace:
        if s.kind == "expand":
            assert s.usage.samples % 3 == 0


def test_rebase_total_width_is_fixed():
    problems, gen = stepwise_suite()
    r = search.rebase(problems[4], gen, noisy_prm(0.5), BIG, problem_rng(0, "r"), n=8, softmax_temperature=0.2)
    for s in r.trace:
        if s.kind == "expand":
            assert sum(s.info["widths"]) <= 8 and s.usage.samples == sum(s.info["widths"])
    finished = [c for c in r.candidates if c.meta["finished"]]
    assert len(finished) == 8  # every unit of width ends in one leaf
    widths = [sum(s.info["widths"]) for s in r.trace if s.kind == "expand"]
    assert widths == sorted(widths, reverse=True)  # finished leaves use width up


@pytest.mark.parametrize("name", ["beam_search", "dvts", "rebase"])
def test_budget_stops_the_search_and_the_answer_comes_from_what_exists(name):
    problems, gen = stepwise_suite()
    fn = getattr(search, name)
    hyper = {"n": 4} if name == "rebase" else {"n": 4, "beam_width": 2}
    r = fn(problems[5], gen, noisy_prm(0.5), Budget(samples=10), problem_rng(0, "s"), **hyper)
    assert r.usage.samples <= 10 and r.trace[-1].info["stop"] == "budget"
    assert r.answer is None or r.answer in {c.answer for c in r.candidates}


def test_verifier_budget_is_respected():
    problems, gen = stepwise_suite()
    budget = Budget(samples=1000, verifier_calls=10)
    r = search.rebase(problems[0], gen, noisy_prm(0.5), budget, problem_rng(0, "v"), n=4)
    assert r.usage.verifier_calls <= 10 and r.trace[-1].info["stop"] == "budget"


def test_bad_input_raises_clear_errors():
    problems, gen = stepwise_suite()
    p, prm = problems[0], noisy_prm(0.5)
    with pytest.raises(ValueError, match="process verifier"):
        search.beam_search(p, gen, None, BIG, problem_rng(0, "e"))
    with pytest.raises(ValueError, match="beam_width"):
        search.beam_search(p, gen, prm, BIG, problem_rng(0, "e"), n=2, beam_width=4)
    with pytest.raises(ValueError, match="multiple of beam_width"):
        search.dvts(p, gen, prm, BIG, problem_rng(0, "e"), n=6, beam_width=4)
    with pytest.raises(ValueError, match="select"):
        search.rebase(p, gen, prm, BIG, problem_rng(0, "e"), select="mode")
    with pytest.raises(ValueError, match="agg"):
        search.rebase(p, gen, prm, BIG, problem_rng(0, "e"), agg="max")
    with pytest.raises(ValueError, match="softmax_temperature"):
        search.rebase(p, gen, prm, BIG, problem_rng(0, "e"), softmax_temperature=0.0)


def test_last_allowed_step_finishes_the_solution():
    """max_steps=2 on a 6-step problem: the second depth writes the rest, so answers exist."""
    problems, gen = stepwise_suite()
    p = next(q for q in problems if q.meta["n_steps"] >= 5)
    r = search.beam_search(
        p, gen, noisy_prm(0.5), BIG, problem_rng(0, "m"), n=4, beam_width=2, max_steps=2, max_tokens=4096
    )
    assert r.answer is not None and all(c.meta["finished"] for c in r.candidates)
    last = [s for s in r.trace if s.kind == "expand"][-1]
    assert last.info["last"] is True
