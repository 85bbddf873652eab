r"""Approximate entropy (ApEn) and sample entropy (SampEn) of an RR series, as Kubios HRV reports them.

Series. The RR intervals of the valid beats, in order (removed beats are dropped; a gap simply
joins the runs), :math:`x_1 \dots x_N` in ms. Window: the whole series passed in (``analyze``:
the whole recording).

Templates :math:`u_i^{(k)} = (x_i, \dots, x_{i+k-1})`; two templates match when their Chebyshev
distance :math:`\max_l |x_{i+l} - x_{j+l}|` is :math:`\le r`. Defaults as in Kubios HRV (Tarvainen
et al. 2014, doi:10.1016/j.cmpb.2013.07.024): embedding dimension m = 2, tolerance
:math:`r = 0.2 \cdot SDNN` (SDNN of the same series, ddof = 1, :func:`biofeedback.hrv.time_domain.sdnn_ms`).

**ApEn** (Pincus 1991, PNAS 88(6):2297-2301, doi:10.1073/pnas.88.6.2297), self-matches included,
natural log:

.. math::

    C_i^k = \frac{\#\{j : d(u_i^{(k)}, u_j^{(k)}) \le r\}}{N - k + 1},\qquad
    \Phi^k = \frac{1}{N - k + 1} \sum_{i=1}^{N-k+1} \ln C_i^k,\qquad
    ApEn = \Phi^m - \Phi^{m+1}.

**SampEn** (Richman & Moorman 2000, Am J Physiol Heart 278(6):H2039-H2049,
doi:10.1152/ajpheart.2000.278.6.H2039), self-matches excluded:

.. math::

    SampEn = -\ln \frac{A / ((N-m)(N-m-1))}{B / ((N-m+1)(N-m))}

with B the number of matching ordered pairs (i ≠ j) among the N−m+1 templates of length m and A
among the N−m templates of length m+1. ``nan`` when A or B is 0 (undefined), or N < m + 2.

Both are dimensionless. Algorithm: exact, not approximated, and without a window. RR files are
quantised (to 1 ms or 1/128-1/1024 s: the 22 h Holter file has 220 distinct values among 78 000
valid beats), so the templates are points on a grid of D distinct values, and the templates
matching one lie in a box of that grid (for each coordinate, the run of distinct values within r).
For m <= 2, D <= :data:`MAX_RANKS` and D² <= 1000 N, each template's box is counted by a sweep over
the first coordinate with a 2-D Fenwick tree over the others
(:func:`biofeedback.hrv._entropy_kernels.box_match_counts`, compiled): ``O(N log² D)``, about 0.03 s
for the 22 h file. Otherwise (finer values, or m > 2)
identical templates are counted once with their multiplicity, the distinct templates sorted by
their first coordinate and each compared only with those whose first coordinate lies within r, the
length-(m+1) extensions by a merge of their sorted last values
(:func:`biofeedback.hrv._kernels.template_matches`, compiled): the work is the number of pairs
within r in the first coordinate (about 13 % of all pairs for r = 0.2 SD on unquantised data).
Both give the all-pairs counts (tested). Memory O(N) (and D² 4-byte counts for the sweep).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._entropy_kernels import box_match_counts, tolerance_runs
from ._kernels import template_matches
from .time_domain import sdnn_ms

__all__ = ["Entropy", "entropies", "approximate_entropy", "sample_entropy", "nn_series"]

NAN = float("nan")
ENTROPY_M = 2
ENTROPY_R_SDNN = 0.2
#: Most distinct values for the sweep of :func:`_match_counts` (its tree: (D+1)² int32, 16 MiB at 2048).
MAX_RANKS = 2048


@dataclass(frozen=True, slots=True)
class Entropy:
    """ApEn and SampEn of one series (dimensionless) and the tolerance used (ms)."""

    apen: float
    sampen: float
    r_ms: float
    m: int


def nn_series(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> NDArray[np.float64]:
    """The RR intervals (ms) of the valid beats, in order (``valid`` None = all).

    Examples
    --------
    >>> nn_series([800.0, 400.0, 820.0], [True, False, True]).tolist()
    [800.0, 820.0]
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    if valid is None:
        return rr
    v = np.asarray(valid, dtype=bool)
    if v.shape != rr.shape:
        raise ValueError(f"valid has shape {v.shape}, expected {rr.shape} like rr_ms")
    return rr[v]


def entropies(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, *, m: int = ENTROPY_M, r_ms: float | None = None
) -> Entropy:
    """ApEn and SampEn of the valid beats (formulas in the module docstring).

    Parameters
    ----------
    rr_ms:
        RR intervals (ms).
    valid:
        False = removed beat (dropped from the series). ``None`` = all valid.
    m:
        Embedding dimension (default 2).
    r_ms:
        Tolerance (ms); default ``0.2 · SDNN`` of the series.

    Examples
    --------
    The series 1, 2, 1, 2, 1 with r = 0.5: length-2 templates (1,2) (2,1) (1,2) (2,1) match in
    4 ordered pairs (B), length-3 ones (1,2,1) (2,1,2) (1,2,1) in 2 (A):
    SampEn = -ln[(2/(3·2)) / (4/(4·3))] = 0; ApEn = Φ² − Φ³ = ln(2/4) − (2·ln(2/3) + ln(1/3))/3
    (negative for so short a series).

    >>> e = entropies([1.0, 2.0, 1.0, 2.0, 1.0], r_ms=0.5)
    >>> e.sampen, round(e.apen, 6), round(math.log(0.5) - (2 * math.log(2 / 3) + math.log(1 / 3)) / 3, 6)
    (0.0, -0.056633, -0.056633)
    """
    x = np.ascontiguousarray(nn_series(rr_ms, None if valid is None else valid), dtype=np.float64)
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    n = x.size
    r = ENTROPY_R_SDNN * sdnn_ms(x) if r_ms is None else float(r_ms)
    if n < m + 2 or not math.isfinite(r) or r < 0:
        return Entropy(NAN, NAN, r, m)
    c_m, c_m1 = _match_counts(x, m, r)
    nm, nm1 = n - m + 1, n - m
    # ApEn: self-matches included (+1)
    phi_m = float(np.log((c_m + 1) / nm).mean())
    phi_m1 = float(np.log((c_m1 + 1) / nm1).mean())
    apen = phi_m - phi_m1
    b = float(c_m.sum())
    a = float(c_m1.sum())
    if a > 0 and b > 0 and nm1 > 1:
        sampen = 0.0 - math.log((a / (nm1 * (nm1 - 1))) / (b / (nm * nm1)))
    else:
        sampen = NAN
    return Entropy(apen, sampen, r, m)


def _unique_rows(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """Distinct rows in lexicographic order, the row index of each input row, and the counts
    (``np.unique(a, axis=0, return_inverse=True, return_counts=True)``, via one lexsort)."""
    idx = np.lexsort(a.T[::-1])
    s = a[idx]
    new = np.empty(s.shape[0], dtype=bool)
    new[:1] = True
    new[1:] = (s[1:] != s[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(a.shape[0], dtype=np.intp)
    inverse[idx] = group
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, s.shape[0]))
    return s[starts], inverse, counts


def _match_counts(
    x: NDArray[np.float64], m: int, r: float, max_ranks: int = MAX_RANKS
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each template i, the number of j != i matching: length m (N-m+1 values), length m+1 (N-m).
    ``max_ranks``: most distinct values for the sweep (module docstring), else the distinct-template scan."""
    n = x.size
    nm, nm1 = n - m + 1, n - m
    if m <= 2:
        vals, rank = np.unique(x, return_inverse=True)
        d = vals.size
        if d <= max_ranks and d * d <= 1000 * n:  # else the tree (d² cells) outweighs the scan
            lo, hi = tolerance_runs(vals, r)
            rank = rank.astype(np.int64, copy=False)
            return (box_match_counts(rank, nm, m, lo, hi, vals.size) - 1,
                    box_match_counts(rank, nm1, m + 1, lo, hi, vals.size) - 1)
    tm = np.lib.stride_tricks.sliding_window_view(x, m)[:nm]
    pref, pid, w_pref = _unique_rows(tm)
    # distinct (prefix id, last value) pairs, grouped by prefix, last value increasing
    keys = np.stack([pid[:nm1].astype(np.float64), x[m:]], axis=1)
    ext, eid, ext_w = _unique_rows(keys)
    ext_start = np.searchsorted(ext[:, 0], np.arange(pref.shape[0] + 1, dtype=np.float64), side="left")
    order = np.argsort(pref[:, 0], kind="stable")
    cnt_p, cnt_e = template_matches(
        np.ascontiguousarray(pref), w_pref.astype(np.int64), order, ext_start.astype(np.int64),
        np.ascontiguousarray(ext[:, 1]), ext_w.astype(np.int64), r,
    )
    return cnt_p[pid] - 1, cnt_e[eid] - 1


def approximate_entropy(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, *, m: int = ENTROPY_M, r_ms: float | None = None
) -> float:
    """ApEn (Pincus 1991; module docstring), dimensionless; ``nan`` when undefined.

    Examples
    --------
    >>> round(approximate_entropy([1.0, 2.0, 1.0, 2.0, 1.0], r_ms=0.5), 6)
    -0.056633
    """
    return entropies(rr_ms, valid, m=m, r_ms=r_ms).apen


def sample_entropy(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, *, m: int = ENTROPY_M, r_ms: float | None = None
) -> float:
    """SampEn (Richman & Moorman 2000; module docstring), dimensionless; ``nan`` when undefined.

    Examples
    --------
    >>> sample_entropy([1.0, 2.0, 1.0, 2.0, 1.0], r_ms=0.5)
    0.0
    """
    return entropies(rr_ms, valid, m=m, r_ms=r_ms).sampen
