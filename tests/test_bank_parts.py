"""A bank still being recorded reads as a `Bank` from its committed parts (finished banks are not listed);
replay serves whole samples only."""

import pytest

from itslab import banks

SPEC = {
    "name": "landing",
    "task": {"name": "arithmetic", "limit": 6, "difficulty": 1},
    "model": {"backend": "simulated", "name": "outcome"},
    "sampling": {"n": 3, "temperature": 0.7, "max_tokens": 256},
    "chunk": 2,
}


def test_parts_of_a_landing_bank_load_in_order(tmp_path):
    spec = banks.parse_spec(SPEC)
    banks.record(spec, root=tmp_path, progress=False, limit_chunks=2)
    assert banks.in_progress(tmp_path) == ["landing"]
    b = banks.load_parts("landing", tmp_path)
    assert b.correct.shape == (4, 3) and b.manifest["partial"] and b.manifest["parts"] == 2
    assert [p.id for p in banks.problems(b)] == list(b.problem_ids)
    banks.record(spec, root=tmp_path, progress=False)
    assert banks.in_progress(tmp_path) == []
    full = banks.load("landing", tmp_path)
    assert full.frame["text"].tolist()[:12] == b.frame["text"].tolist()
    with pytest.raises(banks.BankError, match="is not being recorded"):
        banks.load_parts("landing", tmp_path)


def test_replay_refuses_a_stop_string(tmp_path):
    from itslab.generators.store import MissingSample
    from itslab.types import Request

    banks.record(banks.parse_spec(SPEC), root=tmp_path, progress=False)
    gen = banks.replay("landing", tmp_path)
    p = banks.problems("landing", tmp_path)[0]
    ok = gen.generate([Request(gen.format_prompt(p), n=2, max_tokens=256, temperature=0.7)])[0]
    assert len(ok) == 2
    with pytest.raises(MissingSample, match="holds whole samples; the request stops at"):
        gen.generate([Request(gen.format_prompt(p), n=2, max_tokens=256, temperature=0.7, stop=("\n\n",))])
