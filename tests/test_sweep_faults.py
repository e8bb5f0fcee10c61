"""Fault test of a store-backed sweep: SIGKILL it at random points while it generates and writes, many
times over; the run that finally completes gives the same frame as an uninterrupted one, the store
holds no sample twice and passes SQLite's integrity check. Three kills in `make test`, 20 under -m slow."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import numpy as np
import pandas as pd
import pytest

SWEEP = """
import sys, time
from itslab import experiments
from itslab.generators.simulated import make_suite
from itslab.generators.store import SampleStore
from itslab.verifiers import NoisyVerifier

class Slow:
    def __init__(self, inner, pause):
        self.inner, self.model_id, self.n_params, self.pause = inner, inner.model_id, 0, pause
    def generate(self, requests):
        time.sleep(self.pause)
        return self.inner.generate(requests)

problems, gen = make_suite(10, seed=0, kind="outcome", mean_tokens=30.0)
df = experiments.run(problems, ["majority_vote", "best_of_n"], [1, 2, 4], [0, 1], Slow(gen, float(sys.argv[3])),
                     NoisyVerifier(tpr=0.8, fpr=0.2, seed=0), store=SampleStore(sys.argv[1]), progress=False)
df.drop(columns=["wall_time"]).to_parquet(sys.argv[2])
"""


def _run(script, db, out, pause, env):
    return subprocess.Popen(
        [sys.executable, str(script), str(db), str(out), str(pause)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stored(db) -> int:
    """Samples in the store so far, read without touching the file (0 before it has its table)."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            return int(con.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    except sqlite3.Error:
        return 0


def _faults(tmp_path, kills: int) -> None:
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    ref = tmp_path / "ref.parquet"
    assert _run(script, tmp_path / "ref.db", ref, 0, env).wait() == 0
    db, out = tmp_path / "s.db", tmp_path / "out.parquet"
    from itslab.generators.store import SampleStore

    with SampleStore(tmp_path / "ref.db") as ref_store:
        full = ref_store.count()
    rng = np.random.default_rng(7)
    counts = []
    for i in range(kills):
        before = _stored(db)
        p = _run(script, db, out, 0.2, env)
        if i % 3 == 0:
            time.sleep(float(rng.uniform(0.5, 3.0)))  # import takes ~1 s: some kills land before any write
        else:
            # the others land after this run has written something, however slow the machine is today
            deadline = time.monotonic() + 120
            while _stored(db) <= before and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(float(rng.uniform(0.0, 0.5)))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if db.exists():
            with SampleStore(db) as store:
                counts.append(store.count())
    assert any(0 < c < full for c in counts), f"no kill landed mid-sweep: store counts {counts} of {full}"
    assert _run(script, db, out, 0, env).wait() == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(ref))
    with SampleStore(db) as store:
        assert store.integrity_check() == "ok"
        keys = store.connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT model_id || prefix_hash || params || seed || idx) FROM samples"
        ).fetchone()
        assert keys[0] == keys[1]


def test_sweep_survives_three_kills(tmp_path):
    _faults(tmp_path, 3)


@pytest.mark.slow
def test_sweep_survives_twenty_kills(tmp_path):
    _faults(tmp_path, 20)
