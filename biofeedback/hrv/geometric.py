r"""Geometric HRV indices of the RR histogram: the HRV triangular index and TINN.

Histogram. The RR intervals of the valid beats (ms) in bins of width :math:`w = 1000/128` ms
(1/128 s, the sampling step of the Task Force's reference recordings), *counted from 0*: beat i
falls in bin :math:`k_i = \lfloor RR_i / w \rfloor`. (Bins starting at the shortest RR, as some
tools place them, give other values.) Window: the whole series passed in; the Task Force
recommends at least 20 min, ideally 24 h (Task Force 1996, doi:10.1161/01.CIR.93.5.1043).

**HRV triangular index** (dimensionless): :math:`HTI = N / \max_k D_k`, the number of NN
intervals divided by the height of the modal bin (Task Force 1996, "HRV triangular index";
Kubios HRV computes it with the same 1/128 s bins from 0).

**TINN** (ms), the Task Force definition: the baseline width :math:`M - N` of the triangle that best
fits the histogram's highest peak in the least-squares sense. With :math:`D_k` the counts,
:math:`X` the modal bin (the first one if several share the maximum) and :math:`Y = D_X`,
the triangle :math:`q` is 0 for :math:`k \le N` and :math:`k \ge M`, rises linearly from 0 at N to
Y at X and falls linearly to 0 at M; N and M run over the bin positions (N from one bin below the
shortest RR up to X − 1, M from X + 1 up to one bin above the longest), and the pair minimising

.. math::

    \sum_{k} (D_k - q_k)^2 \quad \text{over the whole histogram}

gives :math:`TINN = (M - N) \cdot w`. The error counts every bin, including the data outside the
triangle (which is what the Task Force's integral :math:`\int (D(t) - q(t))^2 dt` over all t says);
the left and right halves are independent, so each is minimised on its own; ties go to the
wider triangle. Resolution: one bin, 7.8125 ms.

How it relates to other tools: NeuroKit2 (``hrv_time``) sums the error only over the bins inside
the candidate triangle, which favours narrow triangles; the issue that asked for this index
reports Kubios' values to be 2.4-4.8 times NeuroKit2's on its recordings. Kubios documents its TINN
only as "the baseline width of the RR histogram evaluated through triangular interpolation", so its
exact construction is unknown; ours is the Task Force's. ``benchmarks/validity.py`` prints ours next
to NeuroKit2's on the shared recordings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .entropy import nn_series

__all__ = ["Geometric", "HIST_BIN_MS", "geometric", "rr_histogram", "triangular_index", "tinn_ms"]

NAN = float("nan")
#: Histogram bin width of the geometric indices: 1/128 s (Task Force 1996).
HIST_BIN_MS = 1000.0 / 128.0


@dataclass(frozen=True, slots=True)
class Geometric:
    """HRV triangular index (dimensionless) and TINN (ms); ``nan`` when undefined."""

    hrv_triangular_index: float
    tinn_ms: float


def rr_histogram(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> NDArray[np.int64]:
    """Counts per bin of 1/128 s from 0: element k counts the RR with ``floor(RR / w) == k``.

    Examples
    --------
    >>> rr_histogram([7.0, 8.0, 15.7, 16.0]).tolist()  # bins [0, 7.8125), [7.8125, 15.625), [15.625, ...
    [1, 1, 2]
    """
    x = nn_series(rr_ms, valid)
    if not x.size:
        return np.zeros(0, dtype=np.int64)
    if not (np.isfinite(x).all() and (x > 0).all()):
        raise ValueError("RR intervals must be finite and > 0")
    return np.bincount(np.floor(x / HIST_BIN_MS).astype(np.int64)).astype(np.int64)


def triangular_index(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    """HRV triangular index N / (highest bin count) (module docstring); ``nan`` without beats.

    Examples
    --------
    >>> triangular_index([800.0, 801.0, 803.0, 900.0])  # 800, 801, 803 share bin 102: 4 / 3
    1.3333333333333333
    """
    d = rr_histogram(rr_ms, valid)
    return float(d.sum() / d.max()) if d.size else NAN


#: Relative difference below which two triangles' errors are equal (sums in another order differ by rounding).
_TIE = 1e-9


def tinn_ms(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    """TINN (ms), the Task Force least-squares triangle over the whole histogram (module docstring).

    Examples
    --------
    A histogram 1, 2, 4, 2, 1 in bins 100-104 (X = 102, Y = 4). Left side, by hand: N = 101 leaves
    1² + 2² = 5; N = 100 gives q = 0, 2 at bins 100, 101: error 1; N = 99 gives q = 4/3, 8/3:
    error (1 - 4/3)² + (2 - 8/3)² = 5/9, the least. The right side mirrors it (M = 105), so
    TINN = 6 bins:

    >>> w = 1000 / 128
    >>> rr = [100.5 * w] + [101.5 * w] * 2 + [102.5 * w] * 4 + [103.5 * w] * 2 + [104.5 * w]
    >>> tinn_ms(rr) / w
    6.0
    """
    d = rr_histogram(rr_ms, valid).astype(np.float64)
    if not d.size:
        return NAN
    occupied = np.flatnonzero(d)
    k_min, k_max = int(occupied[0]), int(occupied[-1])
    x = int(np.argmax(d))
    y = d[x]
    dp = np.concatenate([d, [0.0, 0.0]])  # room for M one bin above the longest RR
    best_n, best_l = x - 1, np.inf
    for n in range(max(k_min - 1, 0), x):  # ascending: ties keep the smaller n (wider)
        k = np.arange(n, x)
        q = y * (k - n) / (x - n)
        err = float(np.sum(dp[:n] ** 2) + np.sum((dp[n:x] - q) ** 2))
        if err < best_l - _TIE * max(1.0, err):  # equal up to rounding: a tie, the wider stays
            best_n, best_l = n, err
    best_m, best_r = x + 1, np.inf
    for m in range(k_max + 1, x, -1):  # descending: ties keep the larger m (wider)
        k = np.arange(x + 1, m + 1)
        q = y * (m - k) / (m - x)
        err = float(np.sum((dp[x + 1 : m + 1] - q) ** 2) + np.sum(dp[m + 1 :] ** 2))
        if err < best_r - _TIE * max(1.0, err):
            best_m, best_r = m, err
    return float((best_m - best_n) * HIST_BIN_MS)


def geometric(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> Geometric:
    """Both geometric indices of the valid beats.

    Examples
    --------
    >>> g = geometric([800.0, 801.0, 803.0, 900.0])
    >>> round(g.hrv_triangular_index, 4), g.tinn_ms
    (1.3333, 15.625)
    """
    return Geometric(triangular_index(rr_ms, valid), tinn_ms(rr_ms, valid))
