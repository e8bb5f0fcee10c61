"""A durable cache of generations: `SampleStore` (SQLite, WAL) and the `Cached` generator wrapper.

A sample is keyed by (model id, exact prefix, sampling parameters, request seed, sample index).
Because sample j of a request depends only on that key (the `Generator` contract), a stored
sample is exactly what the backend would produce again, so a repeated experiment reads instead
of generating and an interrupted one resumes where it stopped. Each `Cached.generate` call
commits its new samples in one transaction; SQLite's write-ahead log makes that atomic, so
killing a run mid-write loses at most the in-flight batch and never corrupts the file.

>>> import tempfile, os
>>> from itslab.generators.simulated import make_suite
>>> problems, sim = make_suite(2, seed=0)
>>> with SampleStore(os.path.join(tempfile.mkdtemp(), "s.db")) as store:
...     gen = Cached(sim, store)
...     a = gen.generate([Request(problems[0].prompt, n=4, seed=1)])[0]
...     b = gen.generate([Request(problems[0].prompt, n=6, seed=1)])[0]   # 4 read, n=6 asked, 2 kept
...     (gen.n_from_store, gen.n_generated, store.count(), [x.text for x in a] == [x.text for x in b[:4]])
(4, 10, 6, True)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from itslab.protocols import Generator, GeneratorWrapper
from itslab.types import Completion, Request

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prefixes (hash TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    model_id TEXT NOT NULL, prefix_hash TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL,
    idx INTEGER NOT NULL, completion TEXT NOT NULL, created REAL NOT NULL,
    UNIQUE (model_id, prefix_hash, params, seed, idx));
"""


class MissingSample(LookupError):
    """A `ReplayGenerator` was asked for a sample the store does not hold."""


def prefix_hash(prefix: str) -> str:
    """BLAKE2b-256 of the exact prefix text (the store's prefix key)."""
    return hashlib.blake2b(prefix.encode("utf-8"), digest_size=32).hexdigest()


def params_key(request: Request) -> str:
    """Canonical JSON of the sampling parameters that change samples (everything but prefix, n, seed)."""
    return json.dumps(
        {
            "max_tokens": request.max_tokens,
            "stop": list(request.stop),
            "temperature": float(request.temperature),
            "top_p": float(request.top_p),
            "top_k": request.top_k,
            "logprobs": bool(request.logprobs),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def _json_default(x: Any) -> Any:
    if isinstance(x, Mapping):
        return dict(x)
    if isinstance(x, (np.generic,)):
        return x.item()
    if isinstance(x, (np.ndarray, tuple, set, frozenset)):
        return list(x.tolist() if isinstance(x, np.ndarray) else x)
    raise TypeError(f"cannot store a {type(x).__name__} in Completion.meta (value {x!r}); use JSON-able values")


def completion_to_json(c: Completion) -> str:
    """Serialise a `Completion` (floats round-trip exactly: JSON uses their shortest repr)."""
    return json.dumps(
        {
            "text": c.text,
            "n_tokens": c.n_tokens,
            "n_prompt_tokens": c.n_prompt_tokens,
            "n_cached_tokens": c.n_cached_tokens,
            "token_ids": c.token_ids,
            "logprobs": c.logprobs,
            "finish_reason": c.finish_reason,
            "seed": c.seed,
            "meta": dict(c.meta),
        },
        default=_json_default,
        separators=(",", ":"),
    )


def completion_from_json(s: str, **extra_meta: Any) -> Completion:
    """Inverse of `completion_to_json`; `extra_meta` is merged into ``meta`` (e.g. ``from_store=True``)."""
    d = json.loads(s)
    d["meta"] = {**d["meta"], **extra_meta}
    return Completion(**d)


class SampleStore:
    """SQLite (WAL) store of completions keyed by (model id, prefix, params, seed, sample index).

    Opens lazily and reopens after pickling (a worker process gets its own connection). Safe to
    share between threads of one process; several processes may write (SQLite serialises them).
    Writes are ``INSERT OR IGNORE``: a sample is never stored twice.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0) -> None:
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # --- lifecycle -----------------------------------------------------------------------------
    def open(self) -> "SampleStore":
        """Open (creating if needed) the database; idempotent."""
        with self._lock:
            if self._conn is None:
                d = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(d, exist_ok=True)
                if self.path != ":memory:" and not os.path.exists(self.path):
                    self._create_atomically()
                self._check_existing()
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
                # WAL: a crash leaves the last committed transaction intact; NORMAL sync is durable
                # against process kills (only an OS crash can drop the newest commits, never corrupt)
                if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                    raise RuntimeError(f"{self.path}: could not switch SQLite to WAL mode")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR IGNORE INTO info VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                v = conn.execute("SELECT value FROM info WHERE key='schema_version'").fetchone()[0]
                if int(v) != SCHEMA_VERSION:
                    conn.close()
                    raise RuntimeError(
                        f"{self.path}: sample store schema version {v}, this itslab reads {SCHEMA_VERSION}"
                    )
                self._conn = conn
        return self

    def _create_atomically(self) -> None:
        """Build a new store under a temporary name and link it into place, so that another process
        opening the same path never sees a half-made file (WAL header written, no tables yet: under
        load a Ray worker once refused its sibling's new store as "not an itslab sample store")."""
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".samples-", suffix=".db", dir=os.path.dirname(os.path.abspath(self.path)))
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp, timeout=self.timeout, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file's header
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR IGNORE INTO info VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            finally:
                conn.close()  # the last connection checkpoints and removes the WAL files
            try:
                os.link(tmp, self.path)  # fails if another process linked its store first: use that one
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: the store is made in place, as before
                pass
        finally:
            for f in (tmp, tmp + "-wal", tmp + "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f)

    def _check_existing(self) -> None:
        """Refuse, touching nothing, a file that is not an itslab sample store (garbage, truncated,
        another program's SQLite database) or one of another schema version."""
        if self.path == ":memory:" or not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return
        if os.path.isdir(self.path):
            raise ValueError(f"sample store {self.path}: is a directory, not a file")
        try:
            ro = sqlite3.connect(f"file:{os.path.abspath(self.path)}?mode=ro", uri=True, timeout=self.timeout)
            try:
                tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                version = (
                    ro.execute("SELECT value FROM info WHERE key='schema_version'").fetchone()
                    if "info" in tables
                    else None
                )
            finally:
                ro.close()
        except sqlite3.Error as e:
            raise ValueError(
                f"sample store {self.path}: not a readable SQLite file ({e}); nothing was changed"
            ) from None
        if not {"info", "prefixes", "samples"} <= tables or version is None:
            raise ValueError(
                f"sample store {self.path}: a SQLite file that is not an itslab sample store "
                f"(tables: {sorted(tables) or 'none'}); nothing was changed"
            )
        if int(version[0]) != SCHEMA_VERSION:
            raise ValueError(
                f"sample store {self.path}: schema version {version[0]}, this itslab reads "
                f"{SCHEMA_VERSION}; nothing was changed"
            )

    def close(self) -> None:
        """Close the connection (the store reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "SampleStore":
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        SampleStore.__init__(self, state["path"], timeout=state["timeout"])

    @property
    def connection(self) -> sqlite3.Connection:
        """The open `sqlite3.Connection` (opening it if needed)."""
        self.open()
        assert self._conn is not None
        return self._conn

    # --- reads ---------------------------------------------------------------------------------
    def get(self, model_id: str, request: Request, indices: Iterable[int] | None = None) -> dict[int, Completion]:
        """Stored samples of `request` (indices ``0..n-1`` by default) as ``{index: Completion}``.

        Returned completions carry ``meta["from_store"] = True`` and their original token counts.
        """
        want = set(range(request.n) if indices is None else indices)
        if not want:
            return {}
        key = (model_id, prefix_hash(request.prefix), params_key(request), _seed(request))
        with self._lock:
            rows = self.connection.execute(
                "SELECT idx, completion FROM samples WHERE model_id=? AND prefix_hash=? AND params=? AND seed=?"
                " AND idx <= ?",
                (*key, max(want)),
            ).fetchall()
        return {i: completion_from_json(s, from_store=True) for i, s in rows if i in want}

    def count(self, model_id: str | None = None) -> int:
        """Number of stored samples (of one model, or all)."""
        q, args = (
            ("SELECT COUNT(*) FROM samples", ())
            if model_id is None
            else ("SELECT COUNT(*) FROM samples WHERE model_id=?", (model_id,))
        )
        with self._lock:
            return int(self.connection.execute(q, args).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def model_ids(self) -> list[str]:
        """The model ids that have samples here."""
        with self._lock:
            return [r[0] for r in self.connection.execute("SELECT DISTINCT model_id FROM samples ORDER BY model_id")]

    def records(self, model_id: str | None = None) -> Iterator[tuple[str, str, dict, int, int, Completion]]:
        """Every stored sample as ``(model_id, prefix, params, seed, index, completion)``."""
        q = (
            "SELECT s.model_id, p.text, s.params, s.seed, s.idx, s.completion FROM samples s "
            "JOIN prefixes p ON p.hash = s.prefix_hash"
        )
        args: tuple = ()
        if model_id is not None:
            q, args = q + " WHERE s.model_id=?", (model_id,)
        with self._lock:
            rows = self.connection.execute(
                q + " ORDER BY s.model_id, s.prefix_hash, s.params, s.seed, s.idx", args
            ).fetchall()
        for m, prefix, params, seed, idx, comp in rows:
            yield m, prefix, json.loads(params), seed, idx, completion_from_json(comp, from_store=True)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when the file is sound)."""
        with self._lock:
            return "\n".join(r[0] for r in self.connection.execute("PRAGMA integrity_check"))

    # --- writes --------------------------------------------------------------------------------
    def put(self, model_id: str, request: Request, samples: Mapping[int, Completion]) -> int:
        """Store samples of one request in one transaction; returns how many were new."""
        return self.put_many([(model_id, request, samples)])

    def put_many(self, items: Iterable[tuple[str, Request, Mapping[int, Completion]]]) -> int:
        """Store samples of many requests in ONE transaction (all or nothing); returns how many were new."""
        now = time.time()
        prefixes, rows = {}, []
        for model_id, req, samples in items:
            h = prefix_hash(req.prefix)
            prefixes[h] = req.prefix
            key = (model_id, h, params_key(req), _seed(req))
            for i, c in samples.items():
                if not isinstance(i, (int, np.integer)) or i < 0:
                    raise ValueError(f"sample index must be a non-negative int, got {i!r} for model {model_id!r}")
                meta = {k: v for k, v in c.meta.items() if k != "from_store"}
                rows.append((*key, int(i), completion_to_json(replace(c, meta=meta)), now))
        if not rows:
            return 0
        with self._lock:
            conn = self.connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO prefixes VALUES (?, ?)", prefixes.items())
                before = conn.total_changes
                conn.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                new = conn.total_changes - before
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return new

    def __repr__(self) -> str:
        return f"SampleStore({self.path!r})"


def _seed(request: Request) -> int:
    s = int(request.seed)
    if not -(2**63) <= s < 2**63:
        raise ValueError(f"Request.seed must fit in 64 bits to be stored, got {s}")
    return s


class Cached(GeneratorWrapper):
    """Wrap any `Generator` so its samples are read from a `SampleStore` when present.

    For each request only missing sample indices are generated: the backend is asked for
    ``n = 1 + max(missing index)`` (by the prefix-stability contract its first samples equal the
    stored ones) and only the missing ones are kept. All new samples of one `generate` call are
    committed in one transaction. Counters: `n_calls` (backend calls), `n_generated` (samples the
    backend produced, kept or not), `n_from_store` (samples served from the store).
    """

    def __init__(self, generator: Generator, store: SampleStore) -> None:
        # the base forwards format_prompt, count_tokens, logprob_of, ...: without them a strategy
        # would silently fall back to the raw prompt (no chat template) and byte counts
        super().__init__(generator)
        self.store = store
        self.n_calls = self.n_generated = self.n_from_store = 0

    @property
    def generator(self) -> Generator:
        """The wrapped generator."""
        return self.inner

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Samples of each request, read from the store where present, generated (and stored) otherwise."""
        mid = self.model_id
        have = [self.store.get(mid, r) for r in requests]
        todo = [i for i, (r, h) in enumerate(zip(requests, have)) if len(h) < r.n]
        fresh: dict[int, dict[int, Completion]] = {}
        if todo:
            asks = []
            for i in todo:
                last = max(j for j in range(requests[i].n) if j not in have[i])
                asks.append(replace(requests[i], n=last + 1))
            out = self.generator.generate(asks)
            self.n_calls += 1
            for i, ask, comps in zip(todo, asks, out):
                if len(comps) != ask.n:
                    raise RuntimeError(f"{mid}: backend returned {len(comps)} samples for a request of n={ask.n}")
                self.n_generated += len(comps)
                fresh[i] = {j: c for j, c in enumerate(comps) if j not in have[i]}
            self.store.put_many((mid, requests[i], fresh[i]) for i in todo)
        result = []
        for i, r in enumerate(requests):
            self.n_from_store += len(have[i])
            result.append([have[i][j] if j in have[i] else fresh[i][j] for j in range(r.n)])
        return result

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> "Cached":
        self.store.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cached({self.generator!r}, {self.store!r})"
