"""AnytimeSimGenerator: its closed forms (whole-trace pass@1, the anytime curve, no-correct-answer probability
over cuts and answers) against simulation, prefix stability, and its input checks. Statistical tests use
fixed seeds and a 4-SE tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.generators.simulated import AnytimeSimGenerator, make_suite
from itslab.generators.simulated.anytime import THINK_END, commit_pmf, p_no_correct, read_trace, statement
from itslab.generators.simulated.text import sim_tokenize
from itslab.types import Request

KW = dict(n_segments=8, mean_think_tokens=120.0, mean_answer_tokens=3.0, rederive=0.4, slip=0.1)


@pytest.fixture(scope="module")
def suite():
    return make_suite(3, seed=1, kind="anytime", a=3.0, b=3.0, **KW)


def _cut(text: str, segments: int, K: int) -> str:
    """The thinking of `text` up to the end of its `segments`-th statement."""
    thinking = text.split(THINK_END)[0]
    toks, out, seen = sim_tokenize(thinking), [], 0
    for t in toks:
        if seen == segments:
            break
        out.append(t)
        seen = read_trace("".join(out))[0]
    return "".join(out)


def test_commit_pmf_sums_to_one_and_its_mean_follows_commit_mean():
    pmf = commit_pmf(16, 0.6, 4.0)
    k = np.arange(1, 17)
    assert pmf.sum() == pytest.approx(1.0) and (pmf >= 0).all()
    assert 0.55 < (k @ pmf) / 16 < 0.66  # ceil(16 τ)/16 with E τ = 0.6


def test_whole_trace_pass1_is_p(suite):
    problems, gen = suite
    pr = problems[0]
    [out] = gen.generate([Request(pr.prompt, n=2000, max_tokens=10**4, seed=0)])
    hit = np.mean([c.meta["sim_correct"] for c in out])
    p = gen.p_correct(pr)
    assert abs(hit - p) < 4 * np.sqrt(p * (1 - p) / 2000)
    assert all(c.text.count(THINK_END) == 1 and read_trace(c.text.split(THINK_END)[0])[0] == 8 for c in out[:20])


@pytest.mark.parametrize("depth", [0, 3, 6, 8])
def test_anytime_curve_matches_forced_answers(suite, depth):
    problems, gen = suite
    pr = problems[1]
    [traces] = gen.generate([Request(pr.prompt, n=600, max_tokens=10**4, seed=1)])
    reqs = [
        Request(pr.prompt + _cut(c.text, depth, 8) + f"\n{THINK_END}\n\n", n=1, seed=j) for j, c in enumerate(traces)
    ]
    hit = np.mean([o[0].meta["sim_correct"] for o in gen.generate(reqs)])
    want = gen.anytime(pr, depth)
    assert abs(hit - want) < 4 * np.sqrt(want * (1 - want) / 600) + 1e-9


def test_no_correct_over_cuts_and_answers_matches_simulation(suite):
    problems, gen = suite
    pr, depths, m, n = problems[2], [2, 4, 8], 2, 500
    [traces] = gen.generate([Request(pr.prompt, n=n, max_tokens=10**4, seed=2)])
    miss = 0
    for j, c in enumerate(traces):
        forced = [
            Request(pr.prompt + _cut(c.text, d, 8) + f"\n{THINK_END}\n\n", n=m, seed=100 * j + d) for d in depths[:-1]
        ]
        forced.append(Request(pr.prompt + c.text.split(THINK_END)[0] + f"\n{THINK_END}\n\n", n=m - 1, seed=100 * j))
        right = c.meta["sim_correct"] or any(o.meta["sim_correct"] for out in gen.generate(forced) for o in out)
        miss += not right
    want = gen.p_no_correct(pr, depths, m)
    assert abs(miss / n - want) < 4 * np.sqrt(want * (1 - want) / n) + 1e-9


def test_closed_form_edges():
    pmf = commit_pmf(4, 0.5, 4.0)
    assert p_no_correct(1.0, 0.0, 0.0, pmf, [4]) == pytest.approx(0.0)  # an always-right trace
    assert p_no_correct(0.0, 0.0, 0.0, pmf, [1, 2, 4], m=3) == pytest.approx(1.0)  # nothing can be right
    # more answers can only help
    assert p_no_correct(0.3, 0.2, 0.1, pmf, [1, 2, 3, 4], m=2) < p_no_correct(0.3, 0.2, 0.1, pmf, [4])
    with pytest.raises(ValueError, match="depth 5 outside"):
        p_no_correct(0.3, 0.2, 0.1, pmf, [5])


def test_first_k_of_n_samples_do_not_depend_on_n(suite):
    problems, gen = suite
    pr = problems[0]
    a = gen.generate([Request(pr.prompt, n=3, seed=9, max_tokens=10**4)])[0]
    b = gen.generate([Request(pr.prompt, n=6, seed=9, max_tokens=10**4)])[0][:3]
    assert [c.text for c in a] == [c.text for c in b]


def test_statement_and_read_trace_round_trip():
    text = "x" + statement(None) + " y" + statement("42") + " z" + statement("42")
    assert read_trace(text) == (3, "42")
    assert read_trace(" so far it is 4") == (0, None)  # an unfinished statement does not count


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"n_segments": 0}, "n_segments"),
        ({"commit_mean": 1.0}, "commit_mean"),
        ({"rederive": 1.5}, "rederive"),
        ({"slip": -0.1}, "slip"),
        ({"mean_think_tokens": 10.0}, "length model"),
    ],
)
def test_bad_parameters_are_named(bad, match):
    problems, _ = make_suite(1, seed=0)
    with pytest.raises(ValueError, match=match):
        AnytimeSimGenerator(problems, **bad)
