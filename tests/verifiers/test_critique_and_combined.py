"""MetaVerifier (sampled critiques + meta RM) and CombinedVerifier: contracts, charges, known answers."""

import numpy as np
import pytest

from itslab.generators.simulated import make_suite
from itslab.protocols import Verifier
from itslab.types import Completion, Problem
from itslab.verifiers import CombinedVerifier, CorrelatedNoisyVerifier, MetaVerifier, NoisyVerifier, SimulatedCritic
from itslab.verifiers.combined import error_correlation, part_errors
from itslab.verifiers.critique import GenerativeCritic, critique_is_right

P = Problem(id="toy/c", prompt="2 + 2?", answer="4")
TEXTS = ["#### 4", "a\n\nb\n\n#### 5", ""]


def _verifiers():
    critic = SimulatedCritic(accuracy=0.7, error_correlation=0.3, seed=1)
    return [
        MetaVerifier(critic, k=4),
        MetaVerifier(critic, k=8, m=3, meta=NoisyVerifier(critique_is_right, auc=0.8, seed=2)),
        CombinedVerifier(
            [CorrelatedNoisyVerifier("cot", tpr=0.8, fpr=0.3), CorrelatedNoisyVerifier("pot", tpr=0.7, fpr=0.1)]
        ),
    ]


@pytest.mark.parametrize("v", _verifiers(), ids=lambda v: v.name)
def test_contract(v):
    assert isinstance(v, Verifier) and isinstance(v.name, str)
    assert v.score(P, TEXTS) == v.score(P, TEXTS) and v.cost(P, TEXTS) == v.cost(P, TEXTS)
    assert v.score(P, []) == [] and v.cost(P, []).verifier_calls == 0
    assert all(0.0 <= s[0] <= 1.0 for s in v.score(P, TEXTS))
    with pytest.raises(TypeError):
        v.score(P, "#### 4")


def test_every_critique_and_meta_score_is_charged():
    critic = SimulatedCritic(accuracy=0.7, seed=1)
    assert MetaVerifier(critic, k=8).cost(P, TEXTS).verifier_calls == 8 * 3
    meta = NoisyVerifier(critique_is_right, auc=0.8, seed=2)
    assert MetaVerifier(critic, k=8, m=2, meta=meta).cost(P, TEXTS).verifier_calls == 2 * 8 * 3
    assert MetaVerifier(critic, k=8, m=8, meta=meta).cost(P, TEXTS).verifier_calls == 8 * 3  # m = k: no meta call


def test_known_answers_m_equals_k_is_plain_voting_and_k1_is_one_judge():
    critic = SimulatedCritic(accuracy=0.6, error_correlation=0.2, seed=4)
    meta = NoisyVerifier(critique_is_right, tpr=1.0, fpr=0.0)
    for t in TEXTS:
        verdicts = [c.verdict for c in critic.critiques(P, t, 6)]
        ((vote,),) = MetaVerifier(critic, k=6).score(P, [t])
        assert vote == pytest.approx(np.mean(verdicts))
        assert MetaVerifier(critic, k=6, m=6, meta=meta).score(P, [t]) == [(vote,)]
        assert MetaVerifier(critic, k=1).score(P, [t]) == [(float(verdicts[0]),)]


def test_known_answer_perfect_meta_keeps_a_right_critique_whenever_there_is_one():
    problems, gen = make_suite(20, seed=0)
    from itslab.pools import draw_pool

    pool = draw_pool(gen, problems, 4, seed=0, keep_texts=True)
    critic = SimulatedCritic(accuracy=0.55, seed=3)
    perfect = MetaVerifier(critic, k=5, m=1, meta=NoisyVerifier(critique_is_right, tpr=1.0, fpr=0.0))
    for p, texts, ok in zip(problems, pool.texts, pool.correct):
        for t, c in zip(texts, ok):
            any_right = any(critique_is_right(p, x.text) for x in critic.critiques(p, t, 5))
            ((s,),) = perfect.score(p, [t])
            assert (s == float(c)) == any_right


def test_meta_needs_a_model_to_drop_critiques():
    with pytest.raises(ValueError, match="meta"):
        MetaVerifier(SimulatedCritic(), k=4, m=2)
    with pytest.raises(ValueError):
        MetaVerifier(SimulatedCritic(), k=2, m=3)


def test_critic_accuracy_matches_its_setting():
    problems, gen = make_suite(60, seed=1)
    critic = SimulatedCritic(accuracy=0.7, seed=5)
    right = [critique_is_right(p, c.text) for p in problems for c in critic.critiques(p, "#### 3", 20)]
    assert np.mean(right) == pytest.approx(0.7, abs=0.03)  # 1200 critiques: SE 0.013, 2.3 SE


class _Sampler:
    n_params = 10.0

    def generate(self, requests):
        return [
            [Completion(f"ok\nVerdict: {'Yes' if j % 2 else 'No'}", 5, 20, 20 if j else 0) for j in range(r.n)]
            for r in requests
        ]


def test_generative_critic_charges_each_critique():
    v = MetaVerifier(GenerativeCritic(_Sampler()), k=4)
    assert v.score(P, ["#### 4"]) == [(0.5,)]
    u = v.cost(P, ["#### 4"])
    assert (u.verifier_calls, u.verifier_tokens) == (4, 20 + 4 * 5)


def test_combined_is_the_mean_and_charges_both_parts():
    a, b = CorrelatedNoisyVerifier("cot", tpr=0.8, fpr=0.3), CorrelatedNoisyVerifier("pot", tpr=0.7, fpr=0.1)
    c = CombinedVerifier([a, b])
    assert [s[0] for s in c.score(P, TEXTS)] == [
        (x[0] + y[0]) / 2 for x, y in zip(a.score(P, TEXTS), b.score(P, TEXTS))
    ]
    assert c.cost(P, TEXTS) == a.cost(P, TEXTS) + b.cost(P, TEXTS)


def test_shared_latent_error_raises_the_measured_error_correlation():
    problems, gen = make_suite(150, seed=2)
    from itslab.pools import draw_pool

    pool = draw_pool(gen, problems, 8, seed=0, keep_texts=True)

    def rho_of(shared):
        parts = [CorrelatedNoisyVerifier(n, tpr=0.8, fpr=0.2, shared=shared, seed=0) for n in ("cot", "pot")]
        errs = np.concatenate(
            [part_errors(CombinedVerifier(parts), p, t, c) for p, t, c in zip(problems, pool.texts, pool.correct)]
        )
        return error_correlation(errs[:, 0], errs[:, 1])

    r0, r9 = rho_of(0.0), rho_of(0.9)
    assert abs(r0) < 0.06 and r9 > 0.4  # 1200 texts: SE of phi about 0.03
    assert np.isnan(error_correlation(np.zeros(4, bool), np.ones(4, bool)))
