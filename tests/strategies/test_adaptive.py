"""Known-answer tests for adaptive sampling: adaptive self-consistency and early-stopping best-of-N.

Hand-derived cases: with an infinite threshold both are their fixed-N parents (the same samples, the
same answer); with a threshold no posterior can miss they stop after the first sample; the stopping
rule agrees with its replay on a pool (`itslab.scaling.stopping`) within 4 SE (seeded); early-stopping
best-of-N run on a recorded pool (`ReplayGenerator`) stops at the very sample, and is right exactly when,
the replay read in the recorded order says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.pools import draw_pool
from itslab.rng import problem_rng
from itslab.scaling import adaptive_vote, majority_posterior
from itslab.verifiers import NoisyVerifier

INF = math.inf


@pytest.fixture(scope="module")
def suite():
    return make_suite(40, seed=3, kind="outcome", mean_tokens=20.0, n_distractors=3, distractor_concentration=0.5)


def _call(name, p, gen, ver, n, seed=0, **kw):
    return strategies.get(name)(p, gen, ver, Budget(samples=n), problem_rng(seed, p.id), n=n, max_tokens=200, **kw)


def test_posterior_hand_values():
    # P(x > 1/2), x ~ Beta(v1 + 1, v2 + 1): no votes 1/2; k agreeing votes 1 - 2^-(k+1); a tie 1/2
    assert majority_posterior(0, 0) == pytest.approx(0.5)
    for k in range(1, 6):
        assert majority_posterior(k, 0) == pytest.approx(1 - 2.0 ** -(k + 1))
    assert majority_posterior(3, 3) == pytest.approx(0.5)
    assert majority_posterior(2, 1) == pytest.approx(11 / 16)  # ∫_{1/2}^1 12 x^2 (1 - x) dx


def test_infinite_threshold_is_majority_vote(suite):
    problems, gen = suite
    for p in problems[:10]:
        mv = _call("majority_vote", p, gen, None, 8)
        asc = _call("adaptive_self_consistency", p, gen, None, 8, threshold=INF, batch=8)
        assert asc.answer == mv.answer and asc.candidates == mv.candidates and asc.usage == mv.usage
        one_by_one = _call("adaptive_self_consistency", p, gen, None, 8, threshold=INF)
        assert one_by_one.usage.samples == 8 and len(one_by_one.trace) == 9  # 8 draws + the vote


def test_sequential_draws_are_charged_one_by_one(suite):
    problems, gen = suite
    r = _call("adaptive_self_consistency", problems[0], gen, None, 12, threshold=0.9)
    draws = [s for s in r.trace if s.kind == "sample"]
    assert all(s.usage.samples == 1 for s in draws) and r.usage.samples == len(draws) == len(r.candidates)
    post = r.trace[-1].info["posteriors"]
    assert len(post) == len(draws) and (post[-1] >= 0.9 or len(draws) == 12)
    assert all(x < 0.9 for x in post[:-1])  # it stops at the first posterior over the threshold


def test_zero_threshold_stops_after_min_samples(suite):
    problems, gen = suite
    for p in problems[:5]:
        assert _call("adaptive_self_consistency", p, gen, None, 16, threshold=0.0).usage.samples == 1
        assert _call("adaptive_self_consistency", p, gen, None, 16, threshold=0.0, min_samples=3).usage.samples == 3


def test_four_agreeing_samples_stop_at_095():
    # one answer with probability 1: the posterior after k votes is 1 - 2^-(k+1), first >= 0.95 at k = 4
    problems, gen = make_suite(3, seed=0, kind="outcome", a=1e4, b=1e-3, mean_tokens=10.0)
    for p in problems:
        r = _call("adaptive_self_consistency", p, gen, None, 40, threshold=0.95, temperature=1.0)
        assert r.usage.samples == 4 and r.correct


def test_replay_matches_the_strategy(suite):
    problems, gen = make_suite(300, seed=4, kind="outcome", a=1.5, b=1.0, n_distractors=3, mean_tokens=10.0)
    runs = [
        _call("adaptive_self_consistency", p, gen, None, 16, seed=1, threshold=0.9, temperature=1.0) for p in problems
    ]
    used = np.array([r.usage.samples for r in runs], float)
    ok = np.array([r.correct for r in runs], float)
    pool = draw_pool(gen, problems, 16, seed=2, temperature=1.0, max_tokens=200)
    rep = adaptive_vote(pool.answers, pool.correct, rng=np.random.default_rng(0), n_orders=4).at(0.9)
    se_n = np.sqrt(used.var() / len(used) + rep.samples.var() / len(used))
    se_ok = np.sqrt(ok.var() / len(ok) + rep.correct.var() / len(ok))
    assert abs(used.mean() - rep.samples.mean()) < 4 * se_n, (used.mean(), rep.samples.mean())
    assert abs(ok.mean() - rep.correct.mean()) < 4 * se_ok, (ok.mean(), rep.correct.mean())


def test_early_stop_infinite_threshold_is_best_of_n(suite):
    problems, gen = suite
    ver = NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
    for p in problems[:10]:
        bon = strategies.get("best_of_n")(p, gen, ver, Budget(samples=8), problem_rng(0, p.id), n=8, max_tokens=200)
        es = _call("early_stop_bon", p, gen, ver, 8, threshold=INF, batch=8)
        assert es.answer == bon.answer and es.candidates == bon.candidates and es.usage == bon.usage


def test_early_stop_low_threshold_takes_the_first_sample(suite):
    problems, gen = suite
    ver = NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
    for p in problems[:5]:
        r = _call("early_stop_bon", p, gen, ver, 16, threshold=-INF)
        assert r.usage.samples == 1 and r.usage.verifier_calls == 1
        assert r.answer == r.candidates[0].answer


def test_early_stop_charges_every_score_and_stops_on_a_confident_one(suite):
    problems, gen = suite
    ver = NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
    for p in problems[:10]:
        r = _call("early_stop_bon", p, gen, ver, 16, threshold=0.7)
        scores = [c.score for c in r.candidates]
        assert r.usage.verifier_calls == len(scores) == r.usage.samples
        assert all(s < 0.7 for s in scores[:-1]) and (scores[-1] >= 0.7 or len(scores) == 16)
        assert r.answer == r.candidates[int(np.argmax(scores))].answer


def test_early_stop_stops_when_the_verifier_budget_ends(suite):
    problems, gen = suite
    ver = NoisyVerifier(tpr=0.8, fpr=0.2, seed=0)
    budget = Budget(samples=16, verifier_calls=2)
    r = strategies.get("early_stop_bon")(
        problems[0], gen, ver, budget, problem_rng(0, "x"), threshold=INF, max_tokens=200
    )
    assert r.usage.verifier_calls == 2 and budget.allows(r.usage)


def test_early_stop_on_a_replayed_pool_stops_where_the_replay_says(suite, tmp_path):
    # Record each problem's 12 scored samples (threshold inf: early_stop_bon draws them all, one request
    # each) into a sample store; rerun the strategy at finite thresholds on a ReplayGenerator of that
    # store, which fails on any sample that was not recorded. The replay `scaling.early_stop` read in
    # the recorded order must stop at the same sample and be right exactly when the strategy is.
    from itslab.generators.replay import ReplayGenerator
    from itslab.generators.store import Cached, SampleStore
    from itslab.scaling import early_stop
    from itslab.tasks.checking import check_answer

    problems, gen = suite
    ver = NoisyVerifier(auc=0.75, seed=0)  # continuous scores: each threshold stops somewhere else
    n = 12
    store = SampleStore(tmp_path / "pool.db")
    full = [_call("early_stop_bon", p, Cached(gen, store), ver, n, threshold=INF) for p in problems]
    scores = np.array([[c.score for c in r.candidates] for r in full])
    texts = [[c.text for c in r.candidates] for r in full]
    correct = np.array([[check_answer(p, c.answer) for c in r.candidates] for p, r in zip(problems, full)])
    replay = early_stop(scores, correct, rng=np.random.default_rng(0), shuffle=False)
    replayed = ReplayGenerator(store, gen.model_id)
    for threshold in (0.3, 0.6, 0.8, INF):
        want = replay.at(threshold)
        assert threshold == INF or 1 <= want.samples.min() < want.samples.max()  # rows stop at different samples
        for i, p in enumerate(problems):
            r = _call("early_stop_bon", p, replayed, ver, n, threshold=threshold)
            k = int(want.samples[i])
            assert r.usage.samples == r.usage.verifier_calls == k, (threshold, p.id)
            assert [c.text for c in r.candidates] == texts[i][:k]
            assert [c.score for c in r.candidates] == list(scores[i, :k])
            best = int(np.argmax(scores[i, :k]))  # the first maximum
            assert r.answer == full[i].candidates[best].answer and float(r.correct) == want.correct[i]
    store.close()
