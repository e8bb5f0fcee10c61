"""Rule-based exact step verifiers (arithmetic chains, Countdown) and their noisy, length-biased copies."""

from fractions import Fraction

import numpy as np
import pytest

from itslab import verifiers
from itslab.protocols import STEP_DELIMITER, Verifier
from itslab.tasks.prompts import worked_solution
from itslab.tasks.synthetic import make
from itslab.types import Problem
from itslab.verifiers.step_rules import (
    LengthBiasedPRM,
    RuleStepVerifier,
    can_make,
    judge_steps,
    parse_equations,
    step_flags,
)

D = STEP_DELIMITER
CD = Problem("cd/4-6-8", "", "(8-4)*6", {"checker": "countdown", "numbers": (4, 6, 8), "target": 24})


def _arith() -> Problem:
    # "Ann has 3 apples. Ann buys 4 more. Then it doubles." -> chain 3, 7, 14
    q = "Ann has 3 apples. Ann buys 4 more apples. Then the number of apples Ann has doubles. How many?"
    return Problem("ar/1", "", "14", {"question": q, "values": (7, 14), "ops": ("add", "mul"), "checker": "exact"})


def _reasons(problem, text):
    return [(j.valid, j.reachable, j.ok) for j in judge_steps(problem, text)]


def test_parse_equations_reads_claims_exactly_and_evaluates_nothing_else():
    eqs = parse_equations("so 3 + 4 = 7 apples, (6 - 4) * 3 = 6.5, 1.5 * 2 = 3, 5/0 = 1")
    assert [(e.text, e.lhs == e.rhs) for e in eqs] == [
        ("3 + 4 = 7", True),
        ("(6 - 4) * 3 = 6.5", False),
        ("1.5 * 2 = 3", True),
        ("5/0 = 1", False),
    ]
    assert eqs[1].leaves == (Fraction(6), Fraction(4), Fraction(3))
    # not claims (no operator on the left, or not plain arithmetic): skipped, never evaluated
    assert parse_equations("x = 5, 7 = 7, 2**99999 = 1, __import__('os').system('true') = 0") == []


def test_can_make_is_an_exact_search():
    f = lambda *xs: tuple(Fraction(x) for x in xs)  # noqa: E731
    assert can_make(f(4, 6), Fraction(24)) and not can_make(f(4, 5), Fraction(24))
    assert can_make(f(1, 5, 5, 5), Fraction(24))  # needs a fraction: 5 * (5 - 1/5)
    assert not can_make(f(1, 1, 1, 1), Fraction(24))
    with pytest.raises(ValueError, match="at most 6"):
        can_make(f(*range(1, 8)), Fraction(24))


def test_arithmetic_known_answers():
    p = _arith()
    ok = f"Ann buys 4 more, so 3 + 4 = 7 apples.{D}It doubles, so 7 * 2 = 14 apples.\n#### 14"
    assert _reasons(p, ok) == [(True, True, True), (True, True, True)]
    # a false equation fails its step and every later one
    assert _reasons(p, f"3 + 4 = 8.{D}8 * 2 = 16") == [(False, False, False), (True, False, False)]
    # true arithmetic off the chain: valid but the running total is lost
    j = judge_steps(p, f"3 * 4 = 12.{D}12 * 2 = 24")
    assert (j[0].valid, j[0].ok) == (True, False) and "leaves the chain" in j[0].reason
    # a right chain with a wrong final answer; a step without a claim keeps the state
    assert step_flags(p, f"3 + 4 = 7{D}7 * 2 = 14\n#### 15") == [True, False]
    assert step_flags(p, f"Let me think.{D}3 + 4 = 7{D}So far 7 apples; 3 + 4 = 7 again.") == [True] * 3


def test_arithmetic_worked_solutions_are_all_on_track():
    for p in make("arithmetic", 30, difficulty=4, seed=1):
        sol = worked_solution(p, "hash")
        assert step_flags(p, sol) == [True] * 4, sol
        first = sol.split(" = ", 1)  # corrupt the first result
        bad = first[0] + " = 999" + first[1][first[1].index(" ") :]
        assert step_flags(p, bad) == [False] * 4, bad


def test_countdown_known_answers():
    assert step_flags(CD, f"8 - 4 = 4{D}4 * 6 = 24{D}The answer is \\boxed{{(8-4)*6}}.") == [True] * 3
    dead = judge_steps(CD, f"8 + 4 = 12{D}12 * 6 = 72")  # 12 and 6 cannot make 24
    assert (dead[0].valid, dead[0].reachable) == (True, False) and dead[0].reason.startswith("dead end")
    assert step_flags(CD, "4 * 6 = 24") == [False]  # 24 made, but 8 is still unused
    missing = judge_steps(CD, "8 - 5 = 3")[0]
    assert not missing.valid and "uses 5" in missing.reason
    assert _reasons(CD, "8 / 0 = 4")[0] == (False, False, False)
    assert step_flags(CD, "\\boxed{24}") == [False]  # the target is not an expression of the numbers
    # a recap of the whole expression after its parts keeps the state
    assert step_flags(CD, f"8 - 4 = 4{D}4 * 6 = 24{D}So (8 - 4) * 6 = 24.") == [True] * 3


def test_countdown_worked_solutions_are_all_on_track():
    for p in make("countdown", 20, difficulty=3, seed=2):
        assert step_flags(p, worked_solution(p, "boxed")) == [True, True], p.meta


def test_rule_verifier_contract_and_bad_input():
    v = verifiers.get("step_rules")(None)
    assert isinstance(v, RuleStepVerifier) and isinstance(v, Verifier)
    texts = [f"8 - 4 = 4{D}4 * 6 = 24", "8 + 4 = 12"]
    assert v.score(CD, texts) == [(1.0, 1.0), (0.0,)]
    assert (v.cost(CD, texts).verifier_calls, v.cost(CD, texts).verifier_flops) == (2, 0)
    with pytest.raises(ValueError, match="not a synthetic arithmetic or countdown problem") as e:
        v.score(Problem("gsm/1", "q", "3"), ["1 + 2 = 3"])
    assert "\n" not in str(e.value) and "gsm/1" in str(e.value)
    with pytest.raises(TypeError, match="single str"):
        v.score(CD, "8 - 4 = 4")


def _auc(pos, neg) -> float:
    """Mann-Whitney estimate of P(score(positive) > score(negative))."""
    pos, neg = np.asarray(pos), np.asarray(neg)
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _step_scores(v, problems, pad: str = ""):
    """Per-step scores of each problem's worked solution (on track) and of a copy whose first
    result is wrong (every step off track, each incorrect step padded with `pad`)."""
    pos, neg = [], []
    for p in problems:
        sol = worked_solution(p, "hash")
        head, tail = sol.split(" = ", 1)
        bad = D.join(s + pad for s in (head + " = 999" + tail[tail.index(" ") :]).split(D))
        (good_s,), (bad_s,) = v.score(p, [sol]), v.score(p, [bad])
        assert step_flags(p, sol) == [True] * 3 and step_flags(p, bad) == [False] * 3
        pos += good_s
        neg += bad_s
    return pos, neg


PROBLEMS = make("arithmetic", 300, difficulty=3, seed=3)


def test_noisy_copy_has_the_set_auc():
    # 900 positive and 900 negative steps, independent noise per prefix: sd of the AUC estimate ≈ 0.012
    for auc in (0.7, 0.9):
        pos, neg = _step_scores(LengthBiasedPRM(auc=auc, seed=2), PROBLEMS)
        assert _auc(pos, neg) == pytest.approx(auc, abs=0.04)


def test_length_bias_is_an_exact_logit_offset_and_lowers_auc_when_errors_are_long():
    text = f"3 + 4 = 7{D}7 * 2 = 14 and some long words to pad the step out to many more tokens"
    s0, s1 = LengthBiasedPRM(auc=0.8).score(_arith(), [text])[0], LengthBiasedPRM(auc=0.8, length_bias=1.5)
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    for step, a, b in zip(text.split(D), s0, s1.score(_arith(), [text])[0]):
        assert logit(b) - logit(a) == pytest.approx(s1.offset(step), abs=1e-9)
    assert s1.offset("x" * 4 * 32) == pytest.approx(1.5)  # 32 tokens = 2 × ref_tokens: +length_bias
    # wrong steps made ~4x longer: a PRM that likes long steps ranks them up (CoLD, arXiv:2507.15698)
    pad = " Let us double-check this carefully, restating every quantity we know so far in full."
    fair = _auc(*_step_scores(LengthBiasedPRM(auc=0.8, seed=1), PROBLEMS, pad))
    biased = _auc(*_step_scores(LengthBiasedPRM(auc=0.8, seed=1, length_bias=1.0), PROBLEMS, pad))
    assert fair == pytest.approx(0.8, abs=0.04) and biased < fair - 0.15


def test_noisy_copy_is_deterministic_per_seed_problem_and_text():
    p, texts = _arith(), [f"3 + 4 = 7{D}7 * 2 = 14", "3 + 4 = 8", f"3 + 4 = 7{D}7 * 2 = 15"]
    a = LengthBiasedPRM(auc=0.75, length_bias=0.5, seed=3).score(p, texts)
    b = LengthBiasedPRM(auc=0.75, length_bias=0.5, seed=3).score(p, texts[::-1])[::-1]
    assert a == b and a[0][0] == a[2][0]  # same prefix, same score; order of texts irrelevant
    assert a != LengthBiasedPRM(auc=0.75, length_bias=0.5, seed=4).score(p, texts)
    v = verifiers.get("step_rules_noisy")(None, auc=0.75)
    assert isinstance(v, Verifier) and v.cost(p, texts).verifier_calls == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"auc": 1.5}, "auc"),
        ({"length_bias": "long"}, "length_bias"),
        ({"length_bias": float("nan")}, "length_bias"),
        ({"ref_tokens": 0}, "ref_tokens"),
    ],
)
def test_noisy_copy_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LengthBiasedPRM(**kwargs)
