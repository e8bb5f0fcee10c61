import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itslab.budget import Budget, BudgetExceeded, CostModel, Meter
from itslab.types import Completion, Usage

small = st.integers(min_value=0, max_value=50)
charges = st.lists(
    st.builds(
        Usage,
        samples=small,
        prompt_tokens=small,
        generated_tokens=small,
        verifier_calls=small,
        generator_flops=st.floats(0, 1e3),
    ),
    max_size=40,
)
budgets = st.builds(
    Budget,
    samples=st.one_of(st.none(), st.integers(0, 200)),
    generated_tokens=st.integers(0, 500),
    total_tokens=st.one_of(st.none(), st.integers(0, 800)),
    flops=st.one_of(st.none(), st.floats(0, 5e3)),
)


@given(budgets, charges)
@settings(max_examples=200)
def test_meter_never_lets_usage_exceed_budget(budget, seq):
    m = Meter(budget)
    for u in seq:
        before = m.used
        try:
            m.charge(u)
        except BudgetExceeded:
            assert m.used == before  # a refused charge changes nothing
        assert budget.allows(m.used)


@given(budgets, st.integers(0, 30), st.integers(0, 40))
@settings(max_examples=200)
def test_affordable_samples_is_exact_worst_case(budget, prompt, max_tokens):
    m = Meter(budget)
    try:
        k = m.affordable_samples(prompt, max_tokens)
    except ValueError:
        # unbounded: only possible when no limit involves samples or tokens of this shape
        assert max_tokens == 0 or budget.samples is None
        return

    def worst(j):
        return Usage(samples=j, prompt_tokens=prompt if j else 0, generated_tokens=j * max_tokens)

    assert m.can_afford(worst(k))
    assert not m.can_afford(worst(k + 1))


@given(budgets, st.integers(0, 30), st.integers(0, 40), st.integers(0, 300))
@settings(max_examples=200)
def test_affordable_samples_capped_is_the_min_of_cap_and_uncapped(budget, prompt, max_tokens, cap):
    m = Meter(budget)
    got = m.affordable_samples(prompt, max_tokens, at_most=cap)
    try:
        assert got == min(cap, m.affordable_samples(prompt, max_tokens))
    except ValueError:  # unbounded: the cap is the answer
        assert got == cap
    with pytest.raises(ValueError, match="at_most"):
        m.affordable_samples(prompt, max_tokens, at_most=-1)


def test_charge_error_names_axis_and_values():
    m = Meter(Budget(samples=2))
    m.charge(Usage(samples=2))
    with pytest.raises(BudgetExceeded, match=r"samples: 3 > 2"):
        m.charge(Usage(samples=1))
    assert m.exhausted and m.remaining("samples") == 0
    assert math.isinf(m.remaining("generated_tokens"))


def test_budget_validation_and_axes():
    with pytest.raises(ValueError, match="at least one limit"):
        Budget()
    with pytest.raises(ValueError, match="Budget.samples"):
        Budget(samples=-1)
    with pytest.raises(ValueError, match="unknown budget axis 'tokens'"):
        Budget.on("tokens", 3)
    b = Budget.on("flops", 10.0)
    assert b.allows(Usage(generator_flops=4, verifier_flops=6)) and not b.allows(Usage(generator_flops=11))


def test_cost_model_counts_flops_separately_and_prices():
    cm = CostModel(generator_params=100, verifier_params=10, price_per_mtok_prompt=1e6, price_per_mtok_generated=2e6)
    comps = [
        Completion("a", n_tokens=3, n_prompt_tokens=5, n_cached_tokens=0),
        Completion("b", n_tokens=4, n_prompt_tokens=5, n_cached_tokens=5),
    ]
    u = cm.generator_usage(comps)
    assert (u.samples, u.prompt_tokens, u.cached_tokens, u.generated_tokens) == (2, 5, 5, 7)
    assert u.generator_flops == 2 * 100 * (5 + 7)
    assert u.price == pytest.approx(5 * 1 + 7 * 2)
    v = cm.verifier_usage(2, 30)
    assert (v.verifier_calls, v.verifier_tokens, v.verifier_flops) == (2, 30, 2 * 10 * 30)


# -- the attention-context term (Kaplan et al. 2020, Table 1) ---------------------------------
# Hand count, N = 10 parameters, n_layer = 2, d_attn = 4; token at 0-based position i reads L = i + 1:
#   A: 3 prompt tokens, none cached, 2 generated -> positions 0..4, L = 1+2+3+4+5 = 15
#   B: 3 prompt tokens, all cached,  2 generated -> positions 3, 4,  L = 4+5       =  9
#   2N per computed token:          2·10·(3 + 2 + 0 + 2)  = 140
#   2·n_layer·L·d_attn summed:      2·2·4·(15 + 9)        = 384     total 524
_SHAPED = CostModel(generator_params=10, generator_layers=2, generator_d_attn=4)
_AB = [
    Completion("a", n_tokens=2, n_prompt_tokens=3, n_cached_tokens=0),
    Completion("b", n_tokens=2, n_prompt_tokens=3, n_cached_tokens=3),
]


def test_attention_term_matches_a_hand_count():
    u = _SHAPED.generator_usage(_AB)
    assert u.generator_flops == 524
    assert _SHAPED.attention_flops(0, 5) == 2 * 2 * 4 * 15 and _SHAPED.attention_flops(3, 3) == 0


def test_no_shape_keeps_two_n_per_token():
    plain = CostModel(generator_params=10)
    assert plain.generator_usage(_AB).generator_flops == 2 * 10 * 7
    assert plain.attention_flops(0, 100) == 0


def test_affordable_samples_counts_the_attention_term():
    # prompt once (positions 0..2, L sum 6) + per sample positions 3, 4 (L sum 9), same as _AB: 524 for two
    assert Meter(Budget(flops=524)).affordable_samples(3, 2, cost=_SHAPED) == 2
    assert Meter(Budget(flops=523)).affordable_samples(3, 2, cost=_SHAPED) == 1
    # a prompt read per sample: 2·10·5 + 2·2·4·15 = 340 per sample
    assert Meter(Budget(flops=680)).affordable_samples(3, 2, cost=_SHAPED, prompt_once=False) == 2
    assert Meter(Budget(flops=679)).affordable_samples(3, 2, cost=_SHAPED, prompt_once=False) == 1


@pytest.mark.parametrize(
    "shape",
    [{"generator_layers": 2}, {"generator_d_attn": 4}, {"generator_layers": 0, "generator_d_attn": 4}],
)
def test_cost_model_shape_is_both_or_neither_and_positive(shape):
    with pytest.raises(ValueError, match="CostModel"):
        CostModel(generator_params=10, **shape)


def test_registry_models_carry_their_shape():
    from itslab.models import REGISTRY

    shapes = {k: (m.n_layers, m.d_attn) for k, m in REGISTRY.items()}
    assert shapes["smollm2-135m"] == (30, 576) and shapes["qwen2.5-coder-1.5b"] == (28, 1536)
