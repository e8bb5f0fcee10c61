"""SampleStore, Cached and ReplayGenerator: exact round trips, resumption, crash safety."""

from __future__ import annotations

import importlib.util
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from itslab.generators.replay import ReplayGenerator
from itslab.generators.simulated import make_suite
from itslab.generators.store import Cached, MissingSample, SampleStore, completion_from_json, completion_to_json
from itslab.protocols import STEP_DELIMITER, Generator
from itslab.types import Completion, Request

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("store_writer", HERE / "store_writer.py")
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)


def _plain(c: Completion) -> Completion:
    """The completion without the store's provenance mark."""
    from dataclasses import replace

    return replace(c, meta={k: v for k, v in c.meta.items() if k != "from_store"})


class Counting:
    """A generator wrapper that records what it was asked."""

    def __init__(self, gen):
        self.gen, self.model_id, self.n_params, self.asked = gen, gen.model_id, gen.n_params, []

    def generate(self, requests):
        self.asked.append(list(requests))
        return self.gen.generate(requests)


@pytest.fixture
def store(tmp_path):
    with SampleStore(tmp_path / "bank.db") as s:
        yield s


def test_completion_json_round_trip_is_exact():
    c = Completion(
        text="a \\boxed{1}.",
        n_tokens=3,
        n_prompt_tokens=7,
        n_cached_tokens=7,
        token_ids=(1, 2, 3),
        logprobs=(-0.1, -1 / 3, -2e-17),
        finish_reason="length",
        seed=5,
        meta={"confidence": 0.123456789012345678, "answer": "1", "nested": {"a": [1, 2]}},
    )
    back = completion_from_json(completion_to_json(c))
    assert back == c and back.logprobs == c.logprobs
    with pytest.raises(TypeError, match="cannot store a object"):
        completion_to_json(Completion(text="", n_tokens=0, meta={"bad": object()}))


def test_cached_reads_what_it_has_and_generates_only_the_missing(store):
    problems, sim = make_suite(3, seed=1)
    inner = Counting(sim)
    gen = Cached(inner, store)
    assert isinstance(gen, Generator) and gen.model_id == sim.model_id
    reqs = [Request(p.prompt, n=4, seed=2, logprobs=True) for p in problems]
    first = gen.generate(reqs)
    assert first == sim.generate(reqs) and gen.n_calls == 1 and gen.n_generated == 12
    assert store.count(sim.model_id) == 12 and store.integrity_check() == "ok"
    again = gen.generate(reqs)  # all read: no backend call
    assert gen.n_calls == 1 and gen.n_from_store == 12
    assert [[_plain(c) for c in cs] for cs in again] == first
    assert all(c.meta["from_store"] and c.n_tokens > 0 for cs in again for c in cs)
    assert [c.n_cached_tokens for c in again[0]] == [0] + [again[0][0].n_prompt_tokens] * 3
    # 4 of 8 stored: the backend is asked for n=8 once, the 4 new ones are kept and stored
    more = gen.generate([Request(problems[0].prompt, n=8, seed=2, logprobs=True)])[0]
    assert inner.asked[-1][0].n == 8 and gen.n_calls == 2 and store.count() == 16
    assert [_plain(c) for c in more] == sim.generate([Request(problems[0].prompt, n=8, seed=2, logprobs=True)])[0]
    assert [bool(c.meta.get("from_store")) for c in more] == [True] * 4 + [False] * 4


@pytest.mark.parametrize(
    "change",
    [
        dict(seed=3),
        dict(temperature=0.7),
        dict(max_tokens=100),
        dict(top_p=0.9),
        dict(stop=(STEP_DELIMITER,)),
        dict(logprobs=True),
        dict(prefix_suffix=" "),
    ],
)
def test_any_key_change_is_a_miss(store, change):
    problems, sim = make_suite(1, seed=2)
    gen = Cached(sim, store)
    base = dict(prefix=problems[0].prompt, n=2, seed=2)
    gen.generate([Request(**base)])
    if "prefix_suffix" in change:
        base["prefix"] += change.pop("prefix_suffix")
    assert store.get(sim.model_id, Request(**{**base, **change})) == {}
    assert len(store.get(sim.model_id, Request(problems[0].prompt, n=2, seed=2))) == 2
    assert store.get("other-model", Request(problems[0].prompt, n=2, seed=2)) == {}


def test_replay_serves_recorded_samples_and_names_what_is_missing(store):
    problems, sim = make_suite(2, seed=3, kind="stepwise")
    req = Request(problems[0].prompt, n=3, seed=1, stop=(STEP_DELIMITER,))
    recorded = Cached(sim, store).generate([req])[0]
    rep = ReplayGenerator(store, sim.model_id)
    assert isinstance(rep, Generator)
    assert [_plain(c) for c in rep.generate([req])[0]] == recorded
    assert [
        _plain(c) for c in rep.generate([Request(problems[0].prompt, n=2, seed=1, stop=(STEP_DELIMITER,))])[0]
    ] == recorded[:2]
    with pytest.raises(MissingSample, match=r"no recorded sample 3 \(2 of n=5 missing, 3 present\).*seed 1"):
        rep.generate([Request(problems[0].prompt, n=5, seed=1, stop=(STEP_DELIMITER,))])
    with pytest.raises(MissingSample, match="has no samples of this model"):
        ReplayGenerator(store, "nope").generate([req])
    with pytest.raises(MissingSample, match=r"Problem sim3-00001.*seed 9"):
        rep.generate([Request(problems[1].prompt, n=1, seed=9)])


def test_store_pickles_and_reopens_and_lists_records(tmp_path):
    problems, sim = make_suite(2, seed=4)
    s = SampleStore(tmp_path / "x" / "bank.db")  # parent folder is created
    Cached(sim, s).generate([Request(p.prompt, n=2, seed=0) for p in problems])
    s2 = pickle.loads(pickle.dumps(s))
    assert len(s2) == 4 and s2.model_ids() == [sim.model_id]
    recs = list(s2.records(sim.model_id))
    assert [r[4] for r in recs if r[1] == problems[0].prompt] == [0, 1]
    assert recs[0][2]["temperature"] == 1.0 and recs[0][5].meta["from_store"]
    s.close()
    s2.close()
    with Cached(sim, SampleStore(tmp_path / "x" / "bank.db")) as g:
        g.generate([Request(problems[0].prompt, n=2, seed=0)])
        assert g.n_calls == 0


def _expected_rows(n_batches):
    problems, sim = make_suite(n_batches * writer.PER_BATCH, seed=0)
    out = {}
    for b in range(n_batches):
        for req, cs in zip(writer.batch_requests(problems, b), sim.generate(writer.batch_requests(problems, b))):
            for j, c in enumerate(cs):
                out[(req.prefix, b, j)] = c
    return sim.model_id, out


def _run_writer(db, n_batches, *extra):
    return subprocess.Popen(
        [sys.executable, str(HERE / "store_writer.py"), str(db), str(n_batches), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parents[1])},
    )


def _check_store(db, n_batches_done, expected):
    with SampleStore(db) as s:
        assert s.integrity_check() == "ok"
        rows = {(prefix, seed, idx): c for _, prefix, _, seed, idx, c in s.records()}
        n = s.count()
        dup = s.connection.execute(
            "SELECT COUNT(*) - COUNT(DISTINCT model_id || prefix_hash || params || seed || '/' || idx) FROM samples"
        ).fetchone()[0]
    assert dup == 0 and n == len(rows)
    want = {k: c for k, c in expected.items() if k[1] < n_batches_done}
    assert set(rows) == set(want)  # nothing lost, nothing from the killed batch half-written
    assert all(_plain(rows[k]) == want[k] for k in want)  # and every stored sample is intact


def test_sigkill_mid_write_loses_only_the_inflight_batch_and_resume_completes(tmp_path):
    db, n_batches, hang = tmp_path / "run.db", 6, 3
    model_id, expected = _expected_rows(n_batches)
    proc = _run_writer(db, n_batches, "--hang-in-batch", str(hang))
    lines = []
    for line in proc.stdout:  # the writer sleeps inside the transaction once it prints IN_TX
        lines.append(line.split())
        if lines[-1][0] == "IN_TX":
            os.kill(proc.pid, signal.SIGKILL)
            break
    _, err = proc.communicate(timeout=30)  # also closes the pipes
    assert lines[-1][0] == "IN_TX" and proc.returncode == -signal.SIGKILL, (lines, err)
    assert [x[:2] for x in lines[:-1]] == [["DONE", str(b)] for b in range(hang)]
    assert int(lines[-1][1]) > int(lines[-2][2])  # uncommitted rows had reached the WAL file
    _check_store(db, hang, expected)  # batches 0..2 committed, the 30 rows of batch 3 rolled back
    # resume: the finished batches are read, only the rest is generated
    proc = _run_writer(db, n_batches)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    calls, generated, from_store = map(int, out.split("COUNTERS")[1].split())
    per_batch = writer.PER_BATCH * writer.N_SAMPLES
    assert (calls, generated, from_store) == (n_batches - hang, (n_batches - hang) * per_batch, hang * per_batch)
    _check_store(db, n_batches, expected)


def test_sigkill_at_an_arbitrary_moment_never_corrupts(tmp_path):
    db, n_batches = tmp_path / "run.db", 6
    model_id, expected = _expected_rows(n_batches)
    proc = _run_writer(db, n_batches, "--sleep", "0.002")
    first = proc.stdout.readline().split()  # the writer is up and has committed a batch
    time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert first[:2] == ["DONE", "0"]
    with SampleStore(db) as s:
        assert s.integrity_check() == "ok"
        done = s.count() // (writer.PER_BATCH * writer.N_SAMPLES)
        assert s.count() == done * writer.PER_BATCH * writer.N_SAMPLES  # whole batches only
    _check_store(db, done, expected)
    proc = _run_writer(db, n_batches)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    _check_store(db, n_batches, expected)


def test_a_store_opened_while_another_is_being_created_is_never_half_made(tmp_path, monkeypatch):
    # Under load a Ray worker refused its sibling's brand-new store as "not an itslab sample store
    # (tables: none)": it looked between the WAL switch and the CREATE TABLEs. Here a second store
    # opens the same path at exactly that moment (old code: ValueError; now the file appears whole).
    import sqlite3 as real_sqlite3

    from itslab.generators import store as store_mod

    path = tmp_path / "shared.db"
    seen: list[object] = []

    class Conn:
        def __init__(self, conn):
            self._conn = conn

        def executescript(self, script):
            if not seen:
                seen.append(None)  # only the first creation is interrupted
                try:
                    seen[0] = store_mod.SampleStore(path).open()
                except ValueError as e:
                    seen[0] = e
            return self._conn.executescript(script)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    class Shim:
        Connection, Error = real_sqlite3.Connection, real_sqlite3.Error

        @staticmethod
        def connect(*args, **kwargs):
            return Conn(real_sqlite3.connect(*args, **kwargs))

    monkeypatch.setattr(store_mod, "sqlite3", Shim)
    first = store_mod.SampleStore(path).open()
    assert len(seen) == 1 and isinstance(seen[0], store_mod.SampleStore), seen
    assert len(first) == len(seen[0]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("shared.db")) == []
