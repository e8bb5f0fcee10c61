"""Subprocess for test_store.py: writes simulated samples to a SampleStore batch by batch.

usage: store_writer.py DB N_BATCHES [--hang-in-batch B] [--sleep S]

With ``--hang-in-batch B`` it prints ``IN_TX <wal bytes>`` and sleeps inside batch B's write
transaction, after 30 of its 40 sample rows are inserted but before COMMIT (with a tiny page cache,
so those rows have spilled into the WAL file), so the parent can SIGKILL it mid-write.
Prints ``DONE b <wal bytes>`` after each committed batch and ``COUNTERS calls generated from_store``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from itslab.generators.simulated import make_suite
from itslab.generators.store import Cached, SampleStore
from itslab.types import Request

PER_BATCH, N_SAMPLES = 5, 8


def batch_requests(problems, b: int) -> list[Request]:
    """The requests of batch b (shared with the test, which regenerates them to compare)."""
    return [
        Request(p.prompt, n=N_SAMPLES, seed=b, max_tokens=400) for p in problems[b * PER_BATCH : (b + 1) * PER_BATCH]
    ]


def wal_size(db: str) -> int:
    """Bytes in the database's write-ahead log."""
    return os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("n_batches", type=int)
    ap.add_argument("--hang-in-batch", type=int, default=-1)
    ap.add_argument("--sleep", type=float, default=0.0)
    args = ap.parse_args()
    problems, sim = make_suite(args.n_batches * PER_BATCH, seed=0)
    store = SampleStore(args.db)
    gen = Cached(sim, store)
    for b in range(args.n_batches):
        if b == args.hang_in_batch:
            inserts = []

            def trace(sql: str) -> None:
                if sql.startswith("INSERT OR IGNORE INTO samples"):
                    inserts.append(sql)
                    if len(inserts) == 31:  # rows 1-30 are written, uncommitted
                        print(f"IN_TX {wal_size(args.db)}", flush=True)
                        time.sleep(60)

            store.connection.execute("PRAGMA cache_size=2")  # force dirty pages out to the WAL early
            store.connection.set_trace_callback(trace)
        gen.generate(batch_requests(problems, b))
        print(f"DONE {b} {wal_size(args.db)}", flush=True)
        if args.sleep:
            time.sleep(args.sleep)
    print(f"COUNTERS {gen.n_calls} {gen.n_generated} {gen.n_from_store}", flush=True)
    store.close()


if __name__ == "__main__":
    sys.exit(main())
