"""Compiled inner loop of the classifier's window statistics (numba), so the quartiles of 91-beat
windows over a 24 h recording cost milliseconds instead of sorting every window.

:func:`sliding_order_stats` returns order statistics (the k-th smallest values) of every window
of ``width`` consecutive values: exactly the values ``np.sort(window)[k]`` (it moves values, it
never computes new ones), so the quantiles :func:`biofeedback.hrv.artifacts.classification._window_stats`
interpolates from them are bit for bit those of the sorting version. Compiled once per machine
(``cache=True``, as :mod:`biofeedback.hrv._kernels`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sliding_order_stats"]


@njit(cache=True)
def sliding_order_stats(x, width, ks):  # pragma: no cover - compiled
    """``out[s, i]`` = the ``ks[i]``-th smallest of ``x[s:s + width]``, for ``s = 0 .. x.size - width``.

    A sorted copy of the window is kept; each step removes the value leaving it and inserts the one
    entering it (binary search, then a shift): O(width) a step. ``x`` must hold no NaN.
    """
    n_windows = x.size - width + 1
    out = np.empty((n_windows, ks.size))
    buf = np.sort(x[:width])
    for i in range(ks.size):
        out[0, i] = buf[ks[i]]
    for s in range(1, n_windows):
        old = x[s - 1]
        new = x[s + width - 1]
        # position of (one copy of) the leaving value
        lo = 0
        hi = width - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if buf[mid] < old:
                lo = mid + 1
            else:
                hi = mid
        # remove it and insert the entering value, shifting the values in between
        if new >= old:
            p = lo
            while p + 1 < width and buf[p + 1] < new:
                buf[p] = buf[p + 1]
                p += 1
            buf[p] = new
        else:
            p = lo
            while p > 0 and buf[p - 1] > new:
                buf[p] = buf[p - 1]
                p -= 1
            buf[p] = new
        for i in range(ks.size):
            out[s, i] = buf[ks[i]]
    return out
