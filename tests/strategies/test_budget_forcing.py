"""Budget forcing and shortest-majority vote on the simulators: known answers, mechanics, the ledger."""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, BudgetTooSmall, strategies
from itslab.generators.simulated import THINK_END, WAIT, make_suite
from itslab.generators.simulated.text import count_tokens
from itslab.rng import problem_rng
from itslab.scaling.latency import WallClockModel
from itslab.strategies.length_vote import select, shortest_majority
from itslab.strategies.sampling import _vote

BIG = Budget(samples=10_000)


@pytest.fixture(scope="module")
def seq():
    return make_suite(40, seed=3, kind="sequential", a=1.5, b=1.5, p_fix=0.4, p_break=0.1, decay=0.7)


def _bf(p, gen, seed=0, budget=BIG, **hyper):
    return strategies.get("budget_forcing")(p, gen, None, budget, problem_rng(seed, p.id), **hyper)


def test_no_cap_no_wait_is_plain_sampling(seq):
    # the known answer: max = infinity and no "Wait" is majority voting over plain samples
    problems, gen = seq
    for p in problems[:5]:
        plain = strategies.get("majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=4, max_tokens=4000)
        bf = _bf(p, gen, n=4, max_tokens=4000)
        assert bf.answer == plain.answer and bf.candidates == plain.candidates and bf.usage == plain.usage


def test_forcing_loop_without_forcing_changes_nothing_but_the_reread(seq):
    # a cap no trace reaches runs the forcing loop (stop at </think>, then answer) and must give the
    # same texts and answers as plain sampling; it costs exactly the re-read prefixes more
    problems, gen = seq
    for p in problems[:5]:
        plain = strategies.get("majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=3, max_tokens=4000)
        bf = _bf(p, gen, n=3, max_thinking_tokens=10**6)
        assert [c.text for c in bf.candidates] == [c.text for c in plain.candidates]
        assert bf.answer == plain.answer and bf.usage.generated_tokens == plain.usage.generated_tokens
        thinking = [c.text[: c.text.index(THINK_END) + len(THINK_END)] for c in bf.candidates]
        reread = sum(count_tokens(p.prompt + t) for t in thinking)
        assert bf.usage.prompt_tokens == plain.usage.prompt_tokens + reread
        assert bf.usage.samples == 2 * 3 and not any(c.meta["forced_end"] for c in bf.candidates)


def test_waits_follow_the_fix_break_recursion(seq):
    problems, gen = seq
    k = 2
    rs = [_bf(p, gen, seed=s, n=4, n_waits=k, max_tokens=4000) for p in problems for s in range(2)]
    assert all(c.meta["n_waits"] == k and c.text.count(WAIT) == k for r in rs for c in r.candidates)
    acc = np.mean(
        [
            c.answer == str(r_p.answer)
            for r, r_p in zip(rs, [p for p in problems for _ in range(2)])
            for c in r.candidates
        ]
    )
    expect = np.mean([gen.p_correct(p, n_waits=k) for p in problems])
    # 320 traces: sd about 0.028; the forcing gain under test is about 0.2
    assert abs(acc - expect) < 0.085, (acc, expect)
    assert expect > np.mean([gen.p_correct(p) for p in problems]) + 0.1


def test_probes_read_the_answer_before_each_wait(seq):
    problems, gen = seq
    for p in problems[:6]:
        plain = strategies.get("majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=2, max_tokens=4000)
        r = _bf(p, gen, n=2, n_waits=3, probe_answers=True, max_tokens=4000)
        for c, q in zip(r.candidates, plain.candidates):
            assert len(c.meta["probe_answers"]) == 3
            assert c.meta["probe_answers"][0] == q.answer  # before any "Wait": the plain trace's answer
        probes = [s for s in r.trace if s.kind == "forcing" and s.info["n_probe"]]
        assert sum(s.info["n_probe"] for s in probes) == 2 * 3


def test_cap_and_minimum_on_thinking_tokens(seq):
    problems, gen = seq
    waited = []
    for p in problems[:8]:
        capped = _bf(p, gen, n=3, max_thinking_tokens=40)
        assert all(c.meta["thinking_tokens"] <= 40 for c in capped.candidates)
        assert all(c.meta["forced_end"] for c in capped.candidates if c.meta["thinking_tokens"] == 40)
        assert all(c.answer is not None for c in capped.candidates)  # an answer is always forced
        low = _bf(p, gen, n=3, min_thinking_tokens=400, max_thinking_tokens=500)
        assert all(400 <= c.meta["thinking_tokens"] <= 500 for c in low.candidates)
        waited += [c.meta["n_waits"] >= 1 for c in low.candidates]
    assert np.mean(waited) > 0.5  # most first passes end before 400 tokens and are made to go on


def test_every_inserted_token_is_counted_and_charged(seq):
    problems, gen = seq
    r = _bf(problems[0], gen, n=2, n_waits=2, max_thinking_tokens=300, answer_prompt="Final answer: ")
    steps = [s for s in r.trace if s.kind == "forcing"]
    inserted = sum(s.info["inserted_tokens"] for s in steps)
    assert inserted == sum(c.meta["inserted_tokens"] for c in r.candidates) > 0
    # the simulator re-reads each prefix in full, so what it read is the sum of the requests' prefixes
    assert r.usage.prompt_tokens + r.usage.cached_tokens >= sum(count_tokens(c.text) for c in r.candidates)
    assert all("Final answer: " in c.text for c in r.candidates)


def test_budget_respected_and_too_small(seq):
    problems, gen = seq
    p = problems[0]
    for b in (Budget(generated_tokens=600), Budget(total_tokens=3000), Budget(samples=5)):
        r = _bf(p, gen, n=4, n_waits=3, max_thinking_tokens=400, budget=b)
        assert b.allows(r.usage) and r.answer is not None
    with pytest.raises(BudgetTooSmall):
        _bf(p, gen, n=1, max_thinking_tokens=400, budget=Budget(generated_tokens=100))
    many = _bf(p, gen, n=None, max_thinking_tokens=100, budget=Budget(samples=12))
    assert len(many.candidates) == 6  # each trace needs a thinking call and an answer call


@pytest.mark.parametrize(
    "bad",
    [{"n": 0}, {"max_thinking_tokens": 0}, {"n_waits": -1}, {"max_answer_tokens": 0}, {"wait": ()}, {"vote": "best"}],
)
def test_bad_input_is_a_clear_error(seq, bad):
    problems, gen = seq
    with pytest.raises(ValueError):
        _bf(problems[0], gen, **{"n_waits": 1, **bad})


def test_shortest_majority_known_answers():
    # two votes each; "7" by shorter solutions wins: 2/log(110) > 2/log(850)
    assert shortest_majority(["7", "9", "9", "7"], [100, 900, 800, 120])[0] == "7"
    # three long votes beat one short one: 3/log(800) > 1/log(100)
    assert shortest_majority(["7", "9", "9", "9"], [100, 900, 800, 700])[0] == "9"
    assert shortest_majority([None, None], [5, 5]) == (None, {"n_classes": 0})
    # equal lengths: plain majority, ties to the first seen
    ans = ["3", "4", "4", "3", "5"]
    assert shortest_majority(ans, [50] * 5)[0] == _vote(ans, [1.0] * 5)[0] == "3"
    with pytest.raises(ValueError):
        shortest_majority(["1"], [1, 2])
    with pytest.raises(ValueError):
        select("plurality", ["1"], [1])


def test_shortest_majority_strategy_votes_on_the_plain_pool():
    problems, gen = make_suite(6, seed=1, kind="outcome", wrong_length_factor=1.5)
    for p in problems:
        mv = strategies.get("majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=8, max_tokens=500)
        smv = strategies.get("shortest_majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=8, max_tokens=500)
        assert smv.candidates == mv.candidates and smv.usage == mv.usage
        lengths = [c.meta["n_tokens"] for c in smv.candidates]
        assert smv.answer == shortest_majority([c.answer for c in smv.candidates], lengths)[0]


def test_latency_parallel_one_call_serial_many(seq):
    problems, gen = seq
    p = problems[0]
    wall = WallClockModel(call_s=1.0, prefill_token_s=0.0, decode_token_s=0.0)
    par = strategies.get("majority_vote")(p, gen, None, BIG, problem_rng(0, p.id), n=8, max_tokens=4000)
    ser = _bf(p, gen, n=1, n_waits=3, max_tokens=4000)
    assert wall.of(par) == 1.0 and wall.of(ser) == 5.0  # 4 thinking calls and an answer call
    decode = WallClockModel(call_s=0.0, prefill_token_s=0.0, decode_token_s=1.0)
    assert decode.of(par) == max(c.meta["n_tokens"] for c in par.candidates)
    with pytest.raises(ValueError):
        WallClockModel(decode_token_s=-1.0)
