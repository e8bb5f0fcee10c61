"""Replaying probe-based early exit on recorded probes: exits by hand, the interval multiple, token deprivation."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.scaling.probe_exit import ProbeRecord, exit_index, forced_answer, replay


@pytest.mark.parametrize(
    "ids, window, expect",
    [
        ([0, 1, 1, 1], 3, 3),
        ([0, 1, 1, 1], 2, 2),
        ([1, 1, -1, 1, 1], 3, None),  # a probe with no answer (or a hesitant one) breaks the run
        ([-1, -1, -1], 1, None),
        ([2, 3, 2, 3], 2, None),
        ([4], 1, 0),
    ],
)
def test_exit_index_by_hand(ids, window, expect):
    assert exit_index(np.array(ids), window) == expect


# two traces of 100 tokens probed every 10: the first settles on class 5 at 40, the second never agrees
REC = ProbeRecord.from_lists(
    [100, 100],
    [True, False],
    [list(range(10, 100, 10))] * 2,
    [[1, 2, 3, 5, 5, 5, 5, 5, 5], [1, 2, 1, 2, 1, 2, 1, 2, 1]],
    [[3] * 9, [4] * 9],
    [[False] * 3 + [True] * 6, [False] * 9],
)


def test_replay_every_probe():
    r = replay(REC, every=1, window=3)
    assert r.think.tolist() == [60, 100] and r.probe.tolist() == [18, 36]
    assert r.correct.tolist() == [True, False] and r.exited.tolist() == [True, False]
    assert r.tokens.tolist() == [78, 136]


def test_replay_every_second_probe_is_the_rule_with_twice_the_interval():
    # probes at 20, 40, 60, 80: classes 2, 5, 5, 5 for the first trace; 2, 2, 2, 2 for the second
    r = replay(REC, every=2, window=3)
    assert r.think.tolist() == [80, 60] and r.probe.tolist() == [12, 12] and r.exited.all()
    assert r.correct.tolist() == [True, False]


def test_forced_answer_at_a_budget():
    r = forced_answer(REC, 30)
    assert r.think.tolist() == [30, 30] and r.probe.tolist() == [3, 4] and r.correct.tolist() == [False, False]
    r = forced_answer(REC, 200)  # past the traces: they answer themselves
    assert r.think.tolist() == [100, 100] and r.correct.tolist() == [True, False] and not r.exited.any()
    with pytest.raises(ValueError, match="no probe at 35"):
        forced_answer(REC, 35)


def test_record_checks_its_lists():
    with pytest.raises(ValueError, match="2 traces but"):
        ProbeRecord.from_lists([1, 2], [True], [[]], [[]], [[]], [[]])
    with pytest.raises(ValueError, match="trace 0 has probe lists of lengths"):
        ProbeRecord.from_lists([1], [True], [[1, 2]], [[0]], [[1]], [[True]])
