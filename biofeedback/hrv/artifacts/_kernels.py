"""Compiled inner loops of the artifact classifier (numba).

:func:`sliding_order_stats` (offline and ``mode="causal"`` classification) returns order statistics
(the k-th smallest values) of every window of ``width`` consecutive values: exactly the values
``np.sort(window)[k]`` (it moves values, it never computes new ones), so the quantiles
:func:`biofeedback.hrv.artifacts.classification._window_stats` interpolates from them are bit for
bit those of the sorting version; the quartiles of 91-beat windows over a 24 h recording cost
milliseconds instead of sorting every window.

:func:`causal_push` / :func:`causal_end_run` are the per-beat step of the live detector
(:class:`biofeedback.hrv.artifacts.CausalArtifactDetector`): its trailing windows kept sorted in
one state array (one removal and one insertion a beat), the thresholds and the decision of
:mod:`biofeedback.hrv.artifacts.classification` written out with the same float operations in the
same order, so one beat is one call of a few microseconds and the labels are those of the scalar
Python helpers bit for bit. Compiled once per machine (``cache=True``, as
:mod:`biofeedback.hrv._kernels`); plain IEEE double arithmetic (no ``fastmath``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from biofeedback.hrv._numba import njit

from .classification import _MIN_RUN_BEATS, ECTOPIC, EXTRA, LONG, LOOKAHEAD_BEATS, MISSED, NORMAL, SHORT

__all__ = ["sliding_order_stats", "CausalLayout", "causal_layout", "causal_push", "causal_end_run",
           "causal_thresholds"]


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


# --------------------------------------------------------------------------------------------
# The causal (live) detector's per-beat step, compiled: the float operations of
# :mod:`.classification` (``_quantile_sorted``, ``_qd``, ``_bound_threshold``) written out in the
# same order, then :func:`classify_beat` (the one decision tree), on sorted windows kept in one state array.
#
# State: ``fs`` (float64) and ``st`` (int64), laid out by :func:`causal_layout`:
#   fs[0:7]  alpha, c1, c2, min_threshold_ms, max_threshold_frac, min_threshold_frac, neighbour_line
#   fs[RR:RR+4], fs[D:D+4]  RR(i) and dRR(i) of the last 4 beats of the run, at i % 4 (4: _RING)
#   three windows (|dRR| over W beats, RR over M beats, |mRR| over W beats), each a FIFO ring of its
#   capacity then the same values sorted ascending
#   st[0:2]  W, M; st[2] run_len, st[3] settled_in_run, st[4] prev_code; st[5] beats pushed and
#   st[6] beats settled since the detector was created;
#   st[7 + 2w], st[8 + 2w]  length and head (oldest) of window w's ring
# A settled beat is returned as ``index * 16 + 8 * valid + code`` (``index`` counts beats since
# the detector was created, ``code`` indexes ``LABELS``), -1 for none.

_N_PARAMS = 7
_RING = LOOKAHEAD_BEATS + 2  # rr(j-1) .. rr(j+2)
_I_RUN, _I_SETTLED, _I_PREV, _I_COUNT, _I_DONE, _I_WIN = 2, 3, 4, 5, 6, 7
_N_INTS = 13


@dataclass(frozen=True)
class CausalLayout:
    """Where the causal detector's state lives in its two arrays (see the comment above)."""

    float_size: int
    int_size: int
    rr_at: int  # RR(i) of the run at fs[rr_at + i % ring]
    d_at: int  # dRR(i) at fs[d_at + i % ring]
    windows: tuple[tuple[int, int], ...]  # per window (|dRR|, RR, |mRR|): ring offset, capacity
    # (the sorted copy follows the ring); its length and head are st[int_window_at + 2w (+ 1)]
    int_window_at: int = _I_WIN
    ring: int = _RING


def causal_layout(window_beats: int, median_beats: int) -> CausalLayout:
    """The layout of the state arrays for windows of ``window_beats`` and ``median_beats``."""
    rr_at = _N_PARAMS
    d_at = rr_at + _RING
    w0 = d_at + _RING
    caps = (window_beats, median_beats, window_beats)
    windows = []
    off = w0
    for cap in caps:
        windows.append((off, cap))
        off += 2 * cap
    return CausalLayout(off, _N_INTS, rr_at, d_at, tuple(windows))


@njit(cache=True, inline="always")
def _win_offsets(st, w):  # pragma: no cover - compiled
    # offset of window w's ring in fs and its capacity (windows: 0 |dRR|, 1 RR, 2 |mRR|)
    big = st[0]
    small = st[1]
    base = _N_PARAMS + 2 * _RING
    if w == 0:
        return base, big
    if w == 1:
        return base + 2 * big, small
    return base + 2 * big + 2 * small, big


@njit(cache=True)
def _win_add(fs, st, w, x):  # pragma: no cover - compiled
    """Append ``x`` to window ``w``, dropping its oldest value when full; keep its sorted copy."""
    off, cap = _win_offsets(st, w)
    srt = off + cap
    n = st[_I_WIN + 2 * w]
    head = st[_I_WIN + 1 + 2 * w]
    if n < cap:
        fs[off + (head + n) % cap] = x
        st[_I_WIN + 2 * w] = n + 1
        # insert after the equal values (bisect.insort): shift the larger ones up
        p = n
        while p > 0 and fs[srt + p - 1] > x:
            fs[srt + p] = fs[srt + p - 1]
            p -= 1
        fs[srt + p] = x
        return
    old = fs[off + head]
    fs[off + head] = x
    st[_I_WIN + 1 + 2 * w] = (head + 1) % cap
    # first copy of the leaving value (bisect_left), then move the values between it and the
    # entering value's place by one: the sorted multiset of the window, as remove + insort gives
    lo = 0
    hi = cap
    while lo < hi:
        mid = (lo + hi) // 2
        if fs[srt + mid] < old:
            lo = mid + 1
        else:
            hi = mid
    p = lo
    if x >= old:
        while p + 1 < cap and fs[srt + p + 1] < x:
            fs[srt + p] = fs[srt + p + 1]
            p += 1
    else:
        while p > 0 and fs[srt + p - 1] > x:
            fs[srt + p] = fs[srt + p - 1]
            p -= 1
    fs[srt + p] = x


@njit(cache=True)
def _win_quantile(fs, st, w, q):  # pragma: no cover - compiled
    # classification._quantile_sorted on window w's sorted values (same operations)
    off, cap = _win_offsets(st, w)
    srt = off + cap
    n = st[_I_WIN + 2 * w]
    pos = (n - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    a = fs[srt + lo]
    return a + (fs[srt + hi] - a) * frac


@njit(cache=True)
def _bounded_threshold(fs, st, w, med):  # pragma: no cover - compiled
    # classification._bound_threshold(alpha * _qd(window w), med): Python's max(a, b) is b only
    # when b > a, min(a, b) is b only when b < a
    qd = (_win_quantile(fs, st, w, 0.75) - _win_quantile(fs, st, w, 0.25)) / 2.0
    th = fs[0] * qd
    if fs[3] > th:
        th = fs[3]
    if fs[5] > 0:
        v = fs[5] * med
        if v > th:
            th = v
    if fs[4] > 0:
        v = fs[4] * med
        if v < th:
            th = v
    return th


@njit(cache=True, inline="always")
def _div(x, th):  # pragma: no cover - compiled
    return x / th if th != 0.0 else np.nan


@njit(cache=True, inline="always")
def _nanmax(a, b):  # pragma: no cover - compiled
    if a != a or b != b:
        return np.nan
    return a if a >= b else b


@njit(cache=True, inline="always")
def _nanmin(a, b):  # pragma: no cover - compiled
    if a != a or b != b:
        return np.nan
    return a if a <= b else b


@njit(cache=True)
def classify_beat(dn, dnext, dnext2, has_next, mn, rr, rr_next, med, th2, c1, c2, line):  # pragma: no cover
    """Figure 1 of the paper for beat ``j``; ``dn, dnext, dnext2`` are ``dRR(j), dRR(j+1),
    dRR(j+2)`` normalised by ``Th1``, ``mn`` is ``mRR(j) / Th2`` (NaN never triggers a label):
the one decision tree of the offline classifier (called per candidate beat) and the causal step.

    The ectopic test is centred on ``dRR(j+1)``: a premature beat ``j`` gives the
    negative-positive-negative pattern ``dRR(j) < 0, dRR(j+1) > 0, dRR(j+2) < 0`` whose centre is
    the compensatory interval; the label goes to the beat that is out of place, ``j``.
    ``line`` is ``ArtifactSettings.neighbour_line`` (0: the paper): a long beat found by the
    ``dRR`` rule alone must stand ``line · Th1`` above the line through its neighbours.
    """
    if has_next and dnext == dnext and (dnext > 1.0 or dnext < -1.0):
        if dnext > 0:
            s12 = _nanmax(dn, dnext2)
        else:
            s12 = _nanmin(dn, dnext2)
        if (dnext > 1.0 and s12 < -c1 * dnext - c2) or (dnext < -1.0 and s12 > -c1 * dnext + c2):
            return ECTOPIC
    big_m = abs(mn) > 3.0
    if not (abs(dn) > 1.0 or big_m):
        return NORMAL
    s22 = _nanmin(dnext, dnext2) if dn >= 0 else _nanmax(dnext, dnext2)
    eq3 = dn > 1.0 and s22 < -1.0
    eq5 = dn < -1.0 and s22 > 1.0
    if not (eq3 or big_m or eq5):
        return NORMAL
    if eq5 and abs(rr + rr_next - med) < th2:
        return EXTRA
    if eq3 and abs(rr / 2.0 - med) < th2:
        return MISSED
    if line > 0.0 and not big_m and rr > med and not (dn - dnext) > 2.0 * line:
        return NORMAL
    return LONG if rr > med else SHORT


@njit(cache=True, inline="always")
def _d_at(fs, i, last):  # pragma: no cover - compiled
    # dRR(i) with the run's ends reflected
    if i < 0:
        i = -i
    if i > last:
        i = 2 * last - i
    return fs[_N_PARAMS + _RING + i % _RING]


@njit(cache=True)
def _settle(fs, st):  # pragma: no cover - compiled
    """Settle the oldest pending beat of the run; return it encoded (see above)."""
    i = st[_I_DONE]
    st[_I_DONE] = i + 1
    return i * 16 + _verdict(fs, st)


@njit(cache=True)
def _verdict(fs, st):  # pragma: no cover - compiled
    # code + 8 * valid of the run's oldest pending beat (CausalArtifactDetector._settle of main 4e685ba)
    j = st[_I_SETTLED]
    n = st[_I_RUN]
    rewritten = j > 0 and (st[_I_PREV] == ECTOPIC or st[_I_PREV] == EXTRA
                           or st[_I_PREV] == LONG or st[_I_PREV] == SHORT)
    if n < _MIN_RUN_BEATS:  # too short a run to classify
        st[_I_PREV] = NORMAL
        st[_I_SETTLED] = j + 1
        return NORMAL + (0 if rewritten else 8)
    last = n - 1
    med = _win_quantile(fs, st, 1, 0.5)
    th1 = _bounded_threshold(fs, st, 0, med)
    rr_j = fs[_N_PARAMS + j % _RING]
    mval = rr_j - med
    if mval < 0:
        mval = mval * 2.0
    _win_add(fs, st, 2, abs(mval))
    st[_I_SETTLED] = j + 1
    if rewritten:  # its interval is rewritten by the previous beat's correction
        st[_I_PREV] = NORMAL
        return NORMAL
    th2 = _bounded_threshold(fs, st, 2, med)
    mn = mval / th2 if th2 != 0.0 else np.nan
    has_next = j + 1 <= last
    rr_next = fs[_N_PARAMS + (j + 1) % _RING] if has_next else np.nan
    code = classify_beat(_div(_d_at(fs, j, last), th1), _div(_d_at(fs, j + 1, last), th1),
                     _div(_d_at(fs, j + 2, last), th1), has_next, mn, rr_j, rr_next, med, th2,
                     fs[1], fs[2], fs[6])
    st[_I_PREV] = code
    return code + (8 if code == NORMAL else 0)


@njit(cache=True)
def causal_thresholds(fs, st):  # pragma: no cover - compiled
    """``(medRR, Th1, Th2)`` of the current windows: after a push that settled a beat, the values
    its verdict used (for tests and diagnostics; the windows must not be empty)."""
    med = _win_quantile(fs, st, 1, 0.5)
    return med, _bounded_threshold(fs, st, 0, med), _bounded_threshold(fs, st, 2, med)


@njit(cache=True)
def causal_push(fs, st, rr):  # pragma: no cover - compiled
    """Push one RR (ms) into the run; return the beat it settles (``code + 8 * valid``) or -1."""
    n = st[_I_RUN]
    d = rr - fs[_N_PARAMS + (n - 1) % _RING] if n else 0.0
    fs[_N_PARAMS + n % _RING] = rr
    fs[_N_PARAMS + _RING + n % _RING] = d
    _win_add(fs, st, 0, abs(d))
    _win_add(fs, st, 1, rr)
    st[_I_RUN] = n + 1
    st[_I_COUNT] += 1
    if n + 1 >= LOOKAHEAD_BEATS + 1:
        return _settle(fs, st)
    return -1


@njit(cache=True)
def causal_end_run(fs, st, out):  # pragma: no cover - compiled
    """Settle the run's pending beats into ``out`` (returns how many) and start a new run."""
    k = 0
    while st[_I_SETTLED] < st[_I_RUN]:
        out[k] = _settle(fs, st)
        k += 1
    st[_I_RUN] = 0
    st[_I_SETTLED] = 0
    st[_I_PREV] = NORMAL
    for w in range(3):
        st[_I_WIN + 2 * w] = 0
        st[_I_WIN + 1 + 2 * w] = 0
    return k
