"""Automatic prefix caching over llama.cpp's sequence slots (for `LlamaCppGenerator`).

llama.cpp keeps one KV cache whose cells are tagged with sequence ids; with a *unified* cache
(``kv_unified``) a cell may belong to several sequences at once, so ``llama_memory_seq_cp``
shares a prefix between sequences without copying or recomputing it. `SeqSlots` turns that into
vLLM-style automatic prefix caching (Kwon et al. 2023; RadixAttention, Zheng et al. 2024): every
sequence the engine finishes (a prompt, or a prompt plus one sample) stays in its slot as a cache
entry; a new prefix is matched against the entries, the longest shared token prefix is copied
into a fresh slot, and only the rest is read. Entries are evicted least-recently-used when slots
or KV cells run out, or when they hold more than `cache_tokens` tokens; an entry that is a prefix
of a newer one is dropped at once (the newer one serves every match it could).

Why bound the cache: with a unified cache every decode step attends over (flash attention: scans
the mask of) every cell in use, cached or not, so a cache grown to ``n_ctx`` slows each step of
every later batch (docs/methods.md, "llama.cpp KV cache").

With per-sequence KV streams (``kv_unified=False``; `LlamaCppGenerator(kv_streams=True)`) a row
attends over its own cells only, but llama.cpp can copy a sequence into another stream only whole,
and batches a decode step in one piece only when its sequence ids are consecutive. So there
`SeqSlots(rows=R)` keeps ids ``0 .. R-1`` for the rows being decoded (the engine keeps the live ones
packed at the bottom, `move`), the cache lives in the ids above, and `copy` copies the whole stream
and cuts it back to the shared prefix. `SeqSlots(band=B)` sets ids ``R .. R+B-1`` apart for finished
rows waiting to read a follow-up prompt: the engine reads the band's waiting follow-ups together, and
their ids, handed out lowest first and freed together, run consecutively, so that read is one ubatch.

Why not state save/restore (``llama_state_seq_get_data``)? It copies the KV bytes out and back
in for every reuse; sequence copies in a unified cache are free and keep all reuse on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass
class Entry:
    """A cached sequence: the slot holding its KV and the tokens it holds (positions 0..len-1)."""

    slot: int
    tokens: np.ndarray  # int32
    tick: int


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the longest common prefix of two token arrays."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


class SeqSlots:
    """Sequence slots of one llama.cpp context: free, busy (being decoded) or cached (an `Entry`).

    `lib` is the ``llama_cpp`` module and `mem` the context's ``llama_memory_t``; they are passed
    in so this bookkeeping can be tested without a model.
    """

    def __init__(
        self, lib: Any, mem: Any, n_slots: int, cache_tokens: int | None = None, *, rows: int = 0, band: int = 0
    ) -> None:
        if cache_tokens is not None and cache_tokens < 0:
            raise ValueError(f"SeqSlots.cache_tokens must be >= 0 or None, got {cache_tokens}")
        if not 0 <= rows < n_slots:
            raise ValueError(f"SeqSlots.rows must lie in [0, n_slots={n_slots}), got {rows}")
        if not 0 <= band < n_slots - rows or (band and not rows):
            raise ValueError(
                f"SeqSlots.band must lie in [0, n_slots - rows = {n_slots - rows}) and needs rows > 0, got {band}"
            )
        self.lib, self.mem, self.cache_tokens = lib, mem, cache_tokens
        self.rows = rows  # ids below it are decode rows (per-sequence streams); 0: one pool for all
        self.band = band  # ids rows .. rows+band-1: finished rows waiting to read a follow-up together
        self.free: list[int] = list(range(n_slots - 1, rows + band - 1, -1))  # pop() hands out the lowest first
        self.free_rows: set[int] = set(range(rows))
        self.free_band: set[int] = set(range(rows, rows + band))
        self.entries: dict[int, Entry] = {}
        self.busy: set[int] = set()
        self._tick = 0
        self._held = 0  # tokens held by entries (a shared prefix counted once per entry)
        self.hits = 0
        self.served = 0  # prefix tokens served from cache entries (not read again)
        self.evictions = 0

    # -- matching ------------------------------------------------------------------------
    def match(self, ids: np.ndarray, limit: int) -> tuple[int | None, int]:
        """The cached slot sharing the longest prefix with `ids` (at most `limit` tokens) and its length."""
        best, m = None, 0
        for e in self.entries.values():
            k = min(common_prefix(e.tokens, ids), limit)
            if k > m:
                best, m = e.slot, k
        if best is not None:
            self._tick += 1
            self.entries[best].tick = self._tick
            self.hits += 1
            self.served += m
        return best, m

    # -- slots ---------------------------------------------------------------------------
    def acquire(self) -> int:
        """A free slot (evicting the least recently used entry if none is free), marked busy."""
        if not self.free and not self.evict_one():
            raise RuntimeError(
                f"llama.cpp: all {len(self.busy)} sequence slots are busy; lower max_batch or raise n_seq_max"
            )
        slot = self.free.pop()
        self.busy.add(slot)
        return slot

    def acquire_row(self) -> int:
        """The lowest free decode-row id (per-sequence streams; `acquire` when ``rows == 0``), marked busy."""
        if not self.rows:
            return self.acquire()
        if not self.free_rows:
            raise RuntimeError(f"llama.cpp: all {self.rows} decode rows are busy")
        slot = min(self.free_rows)
        self.free_rows.discard(slot)
        self.busy.add(slot)
        return slot

    def acquire_band(self) -> int | None:
        """The lowest free band id, marked busy; None when the band is full (read its follow-ups first)."""
        if not self.free_band:
            return None
        slot = min(self.free_band)
        self.free_band.discard(slot)
        self.busy.add(slot)
        return slot

    def copy(self, src: int, dst: int, n: int) -> None:
        """Give slot `dst` positions [0, n) of slot `src`: shared cells in a unified cache (nothing is
        copied or recomputed), a whole-stream copy cut back to `n` with per-sequence streams."""
        if n <= 0:
            return
        if self.rows:
            self.lib.llama_memory_seq_cp(self.mem, src, dst, -1, -1)
            self.lib.llama_memory_seq_rm(self.mem, dst, n, -1)
        else:
            self.lib.llama_memory_seq_cp(self.mem, src, dst, 0, n)

    def move(self, src: int, dst: int) -> None:
        """Move busy decode row `src` into the free row or band id `dst` (per-sequence streams: keeps rows
        packed, or sets a finished row aside to read its follow-up)."""
        self.lib.llama_memory_seq_cp(self.mem, src, dst, -1, -1)
        self.free_rows.discard(dst)
        self.free_band.discard(dst)
        self.busy.add(dst)
        self.release(src)

    def release(self, slot: int) -> None:
        """Drop a busy slot's sequence from the KV cache and free the slot."""
        self.busy.discard(slot)
        self.lib.llama_memory_seq_rm(self.mem, slot, -1, -1)
        if slot < self.rows:
            self.free_rows.add(slot)
        elif slot < self.rows + self.band:
            self.free_band.add(slot)
        else:
            self.free.append(slot)

    def keep(self, slot: int, tokens: Sequence[int] | np.ndarray) -> None:
        """Turn a busy slot into a cache entry holding `tokens`, dropping entries it makes redundant."""
        self.busy.discard(slot)
        toks = np.asarray(tokens, dtype=np.int32)
        for e in list(self.entries.values()):
            k = common_prefix(e.tokens, toks)
            if k == len(e.tokens):  # the old entry is a prefix of the new one
                self._drop(e.slot)
            elif k == len(toks):  # the new one is a prefix of an old entry
                self._tick += 1
                e.tick = self._tick
                self.lib.llama_memory_seq_rm(self.mem, slot, -1, -1)
                self.free.append(slot)
                return
        self._tick += 1
        self.entries[slot] = Entry(slot, toks, self._tick)
        self._held += len(toks)
        if self.cache_tokens is not None:
            self.make_room(self.cache_tokens)

    def make_room(self, max_held: int) -> int:
        """Evict least recently used entries until they hold at most `max_held` tokens; how many went."""
        n = 0
        while self._held > max_held and self.evict_one():
            n += 1
        return n

    def evict_one(self) -> bool:
        """Evict the least recently used entry; False when there is none."""
        if not self.entries:
            return False
        victim = min(self.entries.values(), key=lambda e: e.tick)
        self._drop(victim.slot)
        self.evictions += 1
        return True

    def clear(self) -> None:
        """Evict every entry (busy slots are left alone)."""
        for slot in list(self.entries):
            self._drop(slot)

    def _drop(self, slot: int) -> None:
        self._held -= len(self.entries.pop(slot).tokens)
        self.lib.llama_memory_seq_rm(self.mem, slot, -1, -1)
        self.free.append(slot)

    @property
    def n_cached_tokens(self) -> int:
        """Tokens held by cache entries, counting shared prefixes once per entry (an upper bound on cells)."""
        return self._held
