"""Automatic prefix caching for the transformers engine: a radix tree of token ids -> KV tensors.

This is the RadixAttention idea of SGLang (Zheng et al. 2024, "SGLang: Efficient Execution of
Structured Language Model Programs") and vLLM's automatic prefix caching: every sequence the
engine has read (a prompt, or a prompt plus a generated step) is kept as a path of token ids in a
radix tree whose edges own the key/value tensors of those tokens. A new request walks the tree
to find the longest cached token prefix and prefills only the rest. Shared prefixes (one prompt,
many particles) are stored once. Memory is capped in bytes; least-recently-used leaves go first.

KV tensors are stored per edge as one tensor of shape ``[2, n_layers, n_kv_heads, n_tokens,
head_dim]`` (keys then values), on the model's device and in its dtype.

>>> import torch
>>> c = RadixKVCache(max_bytes=1 << 20)
>>> kv = torch.zeros(2, 1, 1, 4, 2)
>>> c.insert([1, 2, 3, 4], lambda a, b: kv[..., a:b, :])
>>> m, pieces = c.match([1, 2, 9])
>>> (m, sum(p.shape[3] for p in pieces))
(2, 2)
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import torch

KVSlicer = Callable[[int, int], torch.Tensor]
"""``slicer(a, b)`` returns the KV of tokens ``a..b-1`` as ``[2, n_layers, heads, b-a, head_dim]``."""


@dataclass(eq=False)
class _Node:
    edge: tuple[int, ...]
    kv: torch.Tensor | None
    parent: "_Node | None"
    children: dict[int, "_Node"] = field(default_factory=dict)
    last_use: int = 0

    @property
    def nbytes(self) -> int:
        return 0 if self.kv is None else self.kv.numel() * self.kv.element_size()


@dataclass(frozen=True)
class CacheStats:
    """Counters of a `RadixKVCache` since creation (or the last `clear`)."""

    n_tokens: int
    nbytes: int
    max_bytes: int
    n_nodes: int
    lookups: int
    hit_tokens: int
    inserted_tokens: int
    evicted_tokens: int


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class RadixKVCache:
    """Prefix cache keyed by token ids with a byte cap and LRU eviction of leaves (RadixAttention).

    `match(ids)` returns how many leading tokens of `ids` are cached and their KV pieces (edge
    tensors or slices of them, in order). `insert(ids, slicer)` adds a sequence, asking `slicer`
    only for the KV of the tokens not yet stored. ``max_bytes=0`` disables caching.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"RadixKVCache.max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.clear()

    def clear(self) -> None:
        """Drop every cached sequence and reset the counters."""
        self._root = _Node(edge=(), kv=None, parent=None)
        self._clock = itertools.count(1)
        self._nbytes = 0
        self._n_tokens = 0
        self._lookups = self._hit_tokens = self._inserted = self._evicted = 0

    # -- queries -------------------------------------------------------------------------------
    def match(self, ids: Sequence[int], limit: int | None = None) -> tuple[int, list[torch.Tensor]]:
        """Longest cached prefix of `ids` (at most `limit` tokens): ``(length, kv_pieces)``.

        Pieces are views into the tree; copy them before the next `insert` (which may split or
        evict the edges they view). Every node on the matched path becomes most recently used.
        """
        self._lookups += 1
        limit = len(ids) if limit is None else min(limit, len(ids))
        node, pos, now = self._root, 0, next(self._clock)
        pieces: list[torch.Tensor] = []
        while pos < limit:
            child = node.children.get(ids[pos])
            if child is None:
                break
            c = _common_length(child.edge, ids[pos:limit])
            child.last_use = now
            kv = child.kv
            assert kv is not None  # only the root has no KV, and it is never a child
            pieces.append(kv if c == len(child.edge) else kv[:, :, :, :c])
            pos += c
            if c < len(child.edge):
                break
            node = child
        self._hit_tokens += pos
        return pos, pieces

    # -- updates -------------------------------------------------------------------------------
    def insert(self, ids: Sequence[int], slicer: KVSlicer) -> None:
        """Store sequence `ids`; `slicer(a, b)` must give the KV of tokens a..b-1 (it is cloned)."""
        if self.max_bytes == 0 or not ids:
            return
        ids = tuple(int(t) for t in ids)
        node, pos, now = self._root, 0, next(self._clock)
        while pos < len(ids):
            child = node.children.get(ids[pos])
            if child is None:
                kv = slicer(pos, len(ids)).detach().clone()
                leaf = _Node(edge=ids[pos:], kv=kv, parent=node, last_use=now)
                node.children[ids[pos]] = leaf
                self._nbytes += leaf.nbytes
                self._n_tokens += len(leaf.edge)
                self._inserted += len(leaf.edge)
                break
            c = _common_length(child.edge, ids[pos:])
            if c < len(child.edge):
                child = self._split(child, c)
            child.last_use = now
            node, pos = child, pos + c
        self._evict()

    def _split(self, node: _Node, c: int) -> _Node:
        """Cut `node`'s edge after `c` tokens; return the new upper node (each half owns its memory)."""
        kv, parent = node.kv, node.parent
        assert kv is not None and parent is not None  # never the root: it has no edge to cut
        head = _Node(edge=node.edge[:c], kv=kv[:, :, :, :c].clone(), parent=parent, last_use=node.last_use)
        parent.children[head.edge[0]] = head
        node.edge, node.kv, node.parent = node.edge[c:], kv[:, :, :, c:].clone(), head
        head.children[node.edge[0]] = node
        return head

    def _evict(self) -> None:
        """Remove least-recently-used leaves until the cache fits its byte cap."""
        if self._nbytes <= self.max_bytes:
            return
        heap = [(n.last_use, id(n), n) for n in self._leaves()]
        heapq.heapify(heap)
        while self._nbytes > self.max_bytes and heap:
            _, _, leaf = heapq.heappop(heap)
            parent = leaf.parent
            assert parent is not None  # leaves are never the root
            del parent.children[leaf.edge[0]]
            self._nbytes -= leaf.nbytes
            self._n_tokens -= len(leaf.edge)
            self._evicted += len(leaf.edge)
            if parent is not self._root and not parent.children:
                heapq.heappush(heap, (parent.last_use, id(parent), parent))

    def _leaves(self) -> list[_Node]:
        out: list[_Node] = []
        stack = [self._root]
        while stack:
            n = stack.pop()
            if n.children:
                stack.extend(n.children.values())
            elif n is not self._root:
                out.append(n)
        return out

    # -- introspection -------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Bytes held by cached KV tensors."""
        return self._nbytes

    @property
    def n_tokens(self) -> int:
        """Distinct cached token positions (shared prefixes counted once)."""
        return self._n_tokens

    def stats(self) -> CacheStats:
        """Snapshot of the counters (tokens, bytes, lookups, hits, insertions, evictions)."""
        n_nodes = sum(1 for _ in self._iter_nodes())
        return CacheStats(
            self._n_tokens,
            self._nbytes,
            self.max_bytes,
            n_nodes,
            self._lookups,
            self._hit_tokens,
            self._inserted,
            self._evicted,
        )

    def _iter_nodes(self) -> Iterator[_Node]:
        stack = list(self._root.children.values())
        while stack:
            n = stack.pop()
            yield n
            stack.extend(n.children.values())
