"""Compiled match counting of :mod:`biofeedback.hrv.entropy` (numba) for series with few distinct
values (RR files are quantised to 1 ms or 1/128-1/1024 s).

Two templates of length k match when every coordinate differs by at most r (Chebyshev distance
``<= r``, the difference computed as ``abs(u - v) <= r`` in IEEE double, as the all-pairs
definition does). On the sorted distinct values ``vals`` the values that match ``vals[i]`` form
one run ``lo[i]..hi[i]`` (``u - v`` rounded is monotone in ``v``), so the templates matching a
template are those whose rank coordinates lie in a box. :func:`box_match_counts` counts the
templates in each template's box with a sweep over the first coordinate (templates enter and
leave as the first coordinate's run moves) and a 2-D Fenwick tree over the other two
coordinates: ``O(N log² D)`` time and ``O(D²)`` memory for N templates over D distinct values,
exact (integer counts, the same as an all-pairs loop).

Pure and compiled once per machine (``cache=True``), like :mod:`biofeedback.hrv._kernels`.
"""

from __future__ import annotations

import numpy as np
from biofeedback.hrv._numba import njit

__all__ = ["tolerance_runs", "box_match_counts"]


@njit(cache=True)
def tolerance_runs(vals, r):  # pragma: no cover - compiled
    """For each value of the increasing ``vals``, the first and last index ``j`` with
    ``abs(vals[i] - vals[j]) <= r`` (``r >= 0``): ``(lo, hi)``, both non-decreasing."""
    d = vals.size
    lo = np.empty(d, dtype=np.int64)
    hi = np.empty(d, dtype=np.int64)
    a = 0
    b = 0
    for i in range(d):
        u = vals[i]
        while abs(u - vals[a]) > r:
            a += 1
        if b < i:
            b = i
        while b + 1 < d and abs(u - vals[b + 1]) <= r:
            b += 1
        lo[i] = a
        hi[i] = b
    return lo, hi


@njit(cache=True)
def _tree_add(tree, b, c, v):  # pragma: no cover - compiled
    i = b + 1
    while i < tree.shape[0]:
        j = c + 1
        while j < tree.shape[1]:
            tree[i, j] += v
            j += j & -j
        i += i & -i


@njit(cache=True)
def _tree_prefix(tree, b, c):  # pragma: no cover - compiled
    """The number of points with coordinates ``<= (b, c)`` (0 when either is -1)."""
    s = 0
    i = b + 1
    while i > 0:
        j = c + 1
        while j > 0:
            s += tree[i, j]
            j -= j & -j
        i -= i & -i
    return s


@njit(cache=True)
def box_match_counts(rank, count, k, lo, hi, d):  # pragma: no cover - compiled
    """For each of the ``count`` templates ``(rank[i], ..., rank[i+k-1])`` of length ``k`` (1-3) over
    ``d`` distinct values, the number of templates (itself included) whose every coordinate ``c``
    lies in ``lo[t_c]..hi[t_c]`` (:func:`tolerance_runs`): the match counts of the module docstring."""
    start = np.zeros(d + 1, dtype=np.int64)
    for i in range(count):
        start[rank[i] + 1] += 1
    for a in range(d):
        start[a + 1] += start[a]
    pos = start[:d].copy()
    members = np.empty(count, dtype=np.int64)  # template indices grouped by first coordinate
    for i in range(count):
        a = rank[i]
        members[pos[a]] = i
        pos[a] += 1
    db = d if k >= 2 else 1
    dc = d if k >= 3 else 1
    tree = np.zeros((db + 1, dc + 1), dtype=np.int32)
    out = np.empty(count, dtype=np.int64)
    inserted_hi = -1  # first coordinates lo_in..inserted_hi are in the tree
    lo_in = 0
    for a in range(d):
        if start[a] == start[a + 1]:
            continue
        while inserted_hi < hi[a]:
            inserted_hi += 1
            for e in range(start[inserted_hi], start[inserted_hi + 1]):
                i = members[e]
                _tree_add(tree, rank[i + 1] if k >= 2 else 0, rank[i + 2] if k >= 3 else 0, 1)
        while lo_in < lo[a]:
            for e in range(start[lo_in], start[lo_in + 1]):
                i = members[e]
                _tree_add(tree, rank[i + 1] if k >= 2 else 0, rank[i + 2] if k >= 3 else 0, -1)
            lo_in += 1
        for e in range(start[a], start[a + 1]):
            i = members[e]
            if k >= 2:
                b0, b1 = lo[rank[i + 1]] - 1, hi[rank[i + 1]]
            else:
                b0, b1 = -1, 0
            if k >= 3:
                c0, c1 = lo[rank[i + 2]] - 1, hi[rank[i + 2]]
            else:
                c0, c1 = -1, 0
            out[i] = (_tree_prefix(tree, b1, c1) - _tree_prefix(tree, b0, c1)
                      - _tree_prefix(tree, b1, c0) + _tree_prefix(tree, b0, c0))
    return out
