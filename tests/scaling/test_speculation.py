"""The latency model of non-SI, SI and DSI (Timor et al. 2024, arXiv:2405.14105) and SEED's shared
verifier (Wang et al. 2024, arXiv:2406.18200): the discrete-event simulation against the closed
forms (statistical checks state their seed and tolerance), exact round-by-round identities, and the
cases derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from itslab.scaling.speculation import (
    METHODS,
    LatencyModel,
    _dsi_round,
    per_token,
    seed_speedup,
    seed_tree,
    simulate,
    speedup,
)


@pytest.mark.parametrize("c, a, k", [(0.1, 0.9, 5), (0.5, 0.5, 5), (0.05, 0.8, 3), (0.3, 0.2, 1)])
@pytest.mark.parametrize("method", METHODS)
def test_simulation_matches_closed_form(c, a, k, method):
    # seed 0, 20k tokens: the renewal-reward estimate within 4 delta-method SEs (exact for non-SI)
    m = LatencyModel(c, a, k)
    s = simulate(m, method, 20_000, np.random.default_rng(0))
    want = per_token(m, method)
    if method == "non_si":
        assert s.per_token == want
    else:
        assert abs(s.per_token - want) <= 4 * s.se, (s.per_token, want, s.se)


def test_dsi_rounds_are_the_minimum_of_speculation_and_the_target_alone():
    # with enough servers every round ends at min(ceil(J/k)*k*c + 1, J), J the first rejection
    m = LatencyModel(0.2, 0.8, 3)
    s = simulate(m, "dsi", 5_000, np.random.default_rng(1))
    j = s.first_rejection
    assert np.allclose(s.latency, np.minimum(np.ceil(j / 3) * 3 * 0.2 + 1, j)) and s.waited == 0


def test_closed_forms_by_hand():
    m = LatencyModel(0.5, 0.5, 5)
    assert per_token(m, "si") == pytest.approx(3.5 * 0.5 / (1 - 0.5**6))  # SI slower than non-SI here
    assert per_token(m, "si") > 1 > per_token(m, "dsi")
    # acceptance 0: every draft rejected; DSI falls back to the target alone, SI pays the drafts too
    m0 = LatencyModel(0.1, 0.0, 4)
    assert per_token(m0, "dsi") == pytest.approx(1.0) and per_token(m0, "si") == pytest.approx(1.4)
    # lookahead 1, c = 0.25, a = 0.6: a round ends at min(0.25 J + 1, J), i.e. 1 when J = 1 and
    # 0.25 J + 1 otherwise; E = 0.4 + 0.25 (E[J] - 0.4) + 0.6 = 1.525 with E[J] = 2.5, so 1.525 / 2.5
    m1 = LatencyModel(0.25, 0.6, 1)
    assert per_token(m1, "dsi") == pytest.approx(0.61)
    assert speedup(m1, "dsi") == pytest.approx(1 / per_token(m1, "dsi"))


def test_dsi_is_never_slower_than_si_or_the_target_alone():
    for c in (0.05, 0.2, 0.5, 1.0):
        for a in (0.0, 0.3, 0.6, 0.9, 0.99):
            for k in (1, 3, 5):
                m = LatencyModel(c, a, k)
                assert per_token(m, "dsi") <= min(per_token(m, "si"), 1.0) + 1e-12, (c, a, k)


def test_too_few_servers_make_verifications_wait():
    # c = 0.1, k = 1: a chunk every 0.1, each verified for 1.0, so 10 servers keep up and 2 do not
    assert LatencyModel(0.1, 0.9, 1).servers_needed == 10
    t, w = _dsi_round(LatencyModel(0.1, 0.9, 1, n_servers=2), 30)
    # chunk i is ready at 0.1 i; with 2 servers chunk i starts at max(0.1 i, (i - 1) // 2 + ...)
    starts, free = [], [0.0, 0.0]
    for i in range(1, 31):
        s = max(0.1 * i, min(free))
        free[free.index(min(free))] = s + 1
        starts.append(s)
    assert t == pytest.approx(min(starts[-1] + 1, 30)) and w > 0
    slow = simulate(LatencyModel(0.1, 0.9, 1, n_servers=2), "dsi", 5_000, np.random.default_rng(0)).per_token
    fast = simulate(LatencyModel(0.1, 0.9, 1), "dsi", 5_000, np.random.default_rng(0)).per_token
    assert slow > fast


def test_seed_shared_verifier_against_its_closed_form():
    # long branches: the ratio to serial SI approaches min(b, 1 + k c) (seed 0, within 3%)
    for b, c in [(3, 0.1), (2, 0.5), (4, 0.3)]:
        m = LatencyModel(c, 0.8, 5)
        seed_t, serial = seed_tree(m, b, 3_000, np.random.default_rng(0))
        assert serial / seed_t == pytest.approx(seed_speedup(m, b), rel=0.03)
    one, serial = seed_tree(LatencyModel(0.2, 0.7, 4), 1, 500, np.random.default_rng(0))
    assert one == pytest.approx(serial)  # one branch: SEED is SI


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(drafter=0.0, acceptance=0.5), "drafter and target"),
        (dict(drafter=0.1, acceptance=1.0), "acceptance"),
        (dict(drafter=0.1, acceptance=0.5, lookahead=0), "lookahead"),
        (dict(drafter=0.1, acceptance=0.5, n_servers=0), "n_servers"),
    ],
)
def test_bad_parameters_raise_naming_them(kw, match):
    with pytest.raises(ValueError, match=match):
        LatencyModel(**kw)


def test_bad_method_and_sizes_raise():
    m = LatencyModel(0.1, 0.5)
    with pytest.raises(ValueError, match="method"):
        per_token(m, "tree")
    with pytest.raises(ValueError, match="n_tokens"):
        simulate(m, "si", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_branches"):
        seed_tree(m, 0, 10, np.random.default_rng(0))
    assert math.isnan(simulate(m, "non_si", 1, np.random.default_rng(0)).se)
