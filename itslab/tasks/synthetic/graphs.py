"""Small graph navigation: the length of the shortest route between two towns on a road map.

A planning task in the spirit of the graph-search probes used for reasoning models (e.g.
Momennejad et al. 2023, "CogEval"), small enough to state in a paragraph. Difficulty = number
of roads on the (unique) shortest route. The route is laid down first; every distractor road
is made strictly longer than the existing distance between its ends, so it never shortens any
route and the answer stays exactly the planted route's length (checked by Dijkstra).

>>> from itslab.rng import as_rng
>>> p = graph_navigation(1, difficulty=2, rng=as_rng(0))[0]
>>> p.meta["path_hops"], int(p.answer) == shortest_distance(p.meta["edges"], p.meta["start"], p.meta["goal"])
(2, True)
"""

from __future__ import annotations

import heapq
import string
from typing import Sequence

import numpy as np

from itslab.protocols import STEP_DELIMITER
from itslab.tasks.synthetic._common import check_difficulty, check_n, make_problem
from itslab.types import Problem

Edge = tuple[str, str, int]


def shortest_distance(edges: Sequence[Edge], start: str, goal: str) -> float:
    """Dijkstra's shortest-path length on an undirected weighted graph (inf when unreachable)."""
    adj: dict[str, list[tuple[str, int]]] = {}
    for u, v, w in edges:
        adj.setdefault(u, []).append((v, w))
        adj.setdefault(v, []).append((u, w))
    dist = {start: 0}
    heap = [(0, start)]
    while heap:
        d, u = heapq.heappop(heap)
        if u == goal:
            return d
        if d > dist.get(u, float("inf")):
            continue
        for v, w in adj.get(u, ()):
            if d + w < dist.get(v, float("inf")):
                dist[v] = d + w
                heapq.heappush(heap, (d + w, v))
    return float("inf")


def _all_pairs(nodes: Sequence[str], edges: Sequence[Edge]) -> dict[tuple[str, str], float]:
    """Floyd-Warshall distances (graphs here have at most 26 nodes)."""
    d = {(a, b): (0.0 if a == b else float("inf")) for a in nodes for b in nodes}
    for u, v, w in edges:
        d[u, v] = d[v, u] = min(d[u, v], w)
    for k in nodes:
        for a in nodes:
            for b in nodes:
                if d[a, k] + d[k, b] < d[a, b]:
                    d[a, b] = d[a, k] + d[k, b]
    return d


def _graph(difficulty: int, rng: np.random.Generator) -> tuple[list[Edge], list[str]]:
    n_nodes = min(26, 2 * difficulty + 2)
    labels = list(string.ascii_uppercase[:n_nodes])
    order = [labels[i] for i in rng.permutation(n_nodes)]
    path = order[: difficulty + 1]
    edges: list[Edge] = [(path[i], path[i + 1], int(rng.integers(1, 10))) for i in range(difficulty)]
    for v in order[difficulty + 1 :]:  # attach every other town to the map
        u = order[int(rng.integers(0, order.index(v)))]
        edges.append((u, v, int(rng.integers(1, 10))))
    for _ in range(difficulty + 1):  # distractor roads, each longer than the detour it replaces
        a, b = (order[i] for i in rng.choice(n_nodes, size=2, replace=False))
        d = _all_pairs(order, edges)[a, b]
        if any({a, b} == {u, v} for u, v, _ in edges):
            continue
        edges.append((a, b, int(d + rng.integers(1, 4)) if d < float("inf") else int(rng.integers(1, 10))))
    order_e = rng.permutation(len(edges))
    return [edges[i] for i in order_e], path


def graph_navigation(
    n: int, *, difficulty: int = 1, rng: np.random.Generator, template: str | None = None
) -> list[Problem]:
    """`n` shortest-route problems whose optimal route has `difficulty` roads (1-12)."""
    check_n(n)
    check_difficulty(difficulty, 1, 12)
    out = []
    for i in range(n):
        edges, path = _graph(difficulty, rng)
        start, goal = path[0], path[-1]
        w = {frozenset((u, v)): c for u, v, c in edges}
        legs = [w[frozenset((path[j], path[j + 1]))] for j in range(difficulty)]
        total = sum(legs)
        if shortest_distance(edges, start, goal) != total:  # the certificate
            raise AssertionError(f"planted route {path} is not shortest in {edges}")
        roads = "; ".join(f"{u}-{v}: {c} km" for u, v, c in edges)
        question = (
            f"Roads connect towns as follows (lengths in km): {roads}. Roads can be used in both "
            f"directions. What is the length in km of the shortest route from {start} to {goal}?"
        )
        steps = [f"Go from {path[j]} to {path[j + 1]}: {legs[j]} km." for j in range(difficulty)]
        sums = f"{' + '.join(str(c) for c in legs)} = " if difficulty > 1 else ""
        steps.append(f"Total: {sums}{total} km.")
        out.append(
            make_problem(
                "graph",
                i,
                difficulty,
                question,
                str(total),
                STEP_DELIMITER.join(steps),
                {
                    "edges": tuple(edges),
                    "start": start,
                    "goal": goal,
                    "path": tuple(path),
                    "path_hops": difficulty,
                    "checker": "exact",
                },
                template,
            )
        )
    return out
