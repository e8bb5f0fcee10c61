"""FLOPs frontier over banks of different model sizes (Wu et al. 2024; Snell et al. 2024 §7)."""

import numpy as np
import pandas as pd
import pytest

from itslab.banks import Bank
from itslab.budget import CostModel
from itslab.scaling.model_frontier import (
    bank_problem_table,
    cost_model_for,
    flops_frontier,
    flops_matched_samples,
    parse_params,
    sample_flops,
)


def make_bank(name, model, correct, *, scores=None, tokens=50, prompt=20, self_eval=None):
    """A small in-memory `Bank` (what `banks.load` returns) from a correctness matrix."""
    correct = np.asarray(correct, dtype=bool)
    p, n = correct.shape
    answers = np.where(correct, "42", "7").astype(object)
    scores = correct.astype(float) if scores is None else scores
    frame = pd.DataFrame(
        {
            "problem_index": np.repeat(np.arange(p), n),
            "sample_index": np.tile(np.arange(n), p),
            "prompt_tokens": np.full(p * n, prompt),
        }
    )
    return Bank(
        name=name,
        frame=frame,
        manifest={"spec": {"model": {"name": model}}},
        problem_ids=tuple(f"{name}/{i}" for i in range(p)),
        correct=correct,
        answers=answers,
        tokens=np.full((p, n), tokens, dtype=np.int64),
        logprob_mean=np.asarray(scores, dtype=float),
        self_eval=np.full((p, n), np.nan) if self_eval is None else self_eval,
    )


def mixed_correct(p=12, n=8, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.random((p, n)) < 0.4
    c[:, 0], c[:, 1] = True, False  # every problem 0 < pass@1 < 1: coverage rises strictly with k
    return c


def test_parse_params_and_registered_cost_models():
    assert parse_params("135M") == 1.35e8 and parse_params("1.5B") == 1.5e9
    with pytest.raises(ValueError):
        parse_params("big")
    c = cost_model_for("qwen2.5-coder-0.5b")
    assert c.generator_params == 5e8 and c.generator_layers == 24 and c.generator_d_attn == 896


def test_sample_flops_known_answer():
    cost = CostModel(generator_params=1.0, generator_layers=1, generator_d_attn=1)
    fixed, per = sample_flops(np.array([[2]]), np.array([[3]]), cost)
    # prompt: 2·1·2 + Σ_{i=0}^{1} 2(i+1) = 4 + 6; sample: 2·3 + Σ_{i=2}^{4} 2(i+1) = 6 + 24
    assert fixed.tolist() == [10.0] and per.tolist() == [[30.0]]
    f2, p2 = sample_flops(np.array([[2]]), np.array([[3]]), cost, prompt_once=False)
    assert f2.tolist() == [0.0] and p2.tolist() == [[40.0]]  # one sample costs the same either way


def test_flops_are_prompt_once_plus_k_samples():
    b = make_bank("a", "smollm2-135m", mixed_correct())
    t = bank_problem_table(b, [1, 2, 4], rng=np.random.default_rng(0))
    cost = cost_model_for("smollm2-135m")
    one = 2 * cost.generator_params * 50 + cost.attention_flops(20, 70)
    head = 2 * cost.generator_params * 20 + cost.attention_flops(0, 20)
    got = t[t["strategy"] == "majority_vote"].groupby("k")["flops"].mean()
    np.testing.assert_allclose(got.to_numpy(), head + np.array([1, 2, 4]) * one)


def test_self_evaluation_scores_are_charged_to_the_score_based_strategies():
    c = mixed_correct()
    b = make_bank("a", "smollm2-135m", c, self_eval=c.astype(float))
    t = bank_problem_table(b, [2], strategies=("majority_vote", "best_of_n"), score="self_eval", rng=None)
    f = t.groupby("strategy")["flops"].mean()
    extra = 2 * 2 * cost_model_for("smollm2-135m").generator_params * (20 + 50)
    assert f["best_of_n"] - f["majority_vote"] == pytest.approx(extra)


def test_a_dominated_model_leaves_the_other_models_curve_as_the_frontier():
    c = mixed_correct()
    small = make_bank("small", "smollm2-135m", c)
    big = make_bank("big", "qwen2.5-coder-1.5b", c)  # the same samples at ~10x the FLOPs
    ks = [1, 2, 4, 8]
    out = flops_frontier([small, big], ks, strategies=("best_of_n",), rng=np.random.default_rng(0))
    front = out[out["on_frontier"]]
    assert front["bank"].unique().tolist() == ["small"] and front["k"].tolist() == ks
    curve = out[out["bank"] == "small"].sort_values("k")["accuracy"].to_numpy()
    assert np.all(np.diff(curve) > 0)
    # a worse big model is dominated whatever its cost
    worse = make_bank("worse", "qwen2.5-coder-1.5b", np.zeros_like(c))
    out2 = flops_frontier([worse, small], ks, strategies=("best_of_n",), rng=np.random.default_rng(0))
    assert set(out2.loc[out2["on_frontier"], "bank"]) == {"small"}


def test_coverage_has_a_frontier_of_its_own():
    b = make_bank("a", "smollm2-135m", mixed_correct(), scores=np.zeros((12, 8)))
    out = flops_frontier([b], [1, 2, 4, 8], rng=np.random.default_rng(0))
    assert set(out["frontier"]) == {"oracle", "deployable"}
    oracle = out[out["frontier"] == "oracle"]
    assert (oracle["strategy"] == "pass_at_k").all() and oracle["on_frontier"].all()


def test_recorded_bank_alone_and_with_synthetic_banks():
    from itslab import banks

    real = banks.load("arith-qwen05-t0.7")
    out = flops_frontier([real], rng=np.random.default_rng(0))
    assert sorted(out["k"].unique()) == [1, 2, 4, 8, 16, 32]
    acc = out.set_index(["strategy", "k"])["accuracy"]
    assert (acc["pass_at_k"] >= acc["majority_vote"] - 1e-12).all()
    assert out["flops"].gt(0).all() and out["on_frontier"].any()
    syn = make_bank("syn", "qwen2.5-coder-1.5b", mixed_correct(p=10, n=32))
    both = flops_frontier([real, syn], [1, 4, 32], rng=np.random.default_rng(0))
    assert set(both["bank"]) == {"arith-qwen05-t0.7", "syn"} and len(both) == 2 * 3 * 3
    with pytest.raises(ValueError, match="distinct"):
        flops_frontier([syn, syn], [1], rng=np.random.default_rng(0))


def test_flops_matched_samples_balances_pretraining_and_inference_flops():
    # small model N, D pretraining tokens, d inference tokens; the m-times larger one, same D and d
    n, d_pre, m = 1.0, 100.0, 14.0
    for r in (0.25, 1.0, 16.0):
        x = flops_matched_samples(m, r)
        small = 6 * n * d_pre + 2 * n * (x * r * d_pre)
        large = 6 * m * n * d_pre + 2 * m * n * (r * d_pre)
        assert small == pytest.approx(large)
    assert flops_matched_samples(m, float("inf")) == m and flops_matched_samples(1.0, 0.5) == 1.0
    with pytest.raises(ValueError):
        flops_matched_samples(14, 0.0)
