"""Beat classification after Lipponen & Tarvainen (2019): labels, settings and the decision tree.

Part of :mod:`biofeedback.hrv.artifacts` (algorithm and references in its docstring and in
docs/artifacts.md). Everything here is shared by the offline classification
(:func:`biofeedback.hrv.artifacts.detect_artifacts`) and the causal detector
(:class:`biofeedback.hrv.artifacts.CausalArtifactDetector`), so the two agree label for label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

NORMAL, ECTOPIC, MISSED, EXTRA, LONG, SHORT = range(6)
LABELS: tuple[str, ...] = ("normal", "ectopic", "missed", "extra", "long", "short")
# Beats whose correction rewrites the next interval (so the next beat is not classified again).
_REWRITES_NEXT = frozenset((ECTOPIC, EXTRA, LONG, SHORT))
LOOKAHEAD_BEATS = 2
_MIN_RUN_BEATS = 3  # shorter runs cannot be classified (no dRR neighbours): all "normal"


@dataclass(frozen=True)
class ArtifactSettings:
    """Parameters of the Lipponen & Tarvainen (2019) classifier: the paper's values plus the documented
    extensions (``min_threshold_ms``, ``max_threshold_frac``, ``min_threshold_frac``,
    ``neighbour_line``; each 0 restores the paper; see the package docstring and docs/artifacts.md)."""

    alpha: float = 5.2
    c1: float = 0.13
    c2: float = 0.17
    window_beats: int = 91
    median_beats: int = 11
    min_threshold_ms: float = 40.0
    max_threshold_frac: float = 0.2
    min_threshold_frac: float = 0.09
    neighbour_line: float = 3.0

    def __post_init__(self) -> None:
        if self.window_beats < 3 or self.window_beats % 2 == 0:
            raise ValueError(f"window_beats must be odd and >= 3, got {self.window_beats}")
        if self.median_beats < 1 or self.median_beats % 2 == 0:
            raise ValueError(f"median_beats must be odd and >= 1, got {self.median_beats}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")

    def to_dict(self) -> dict[str, float | int]:
        return {
            "alpha": self.alpha,
            "c1": self.c1,
            "c2": self.c2,
            "window_beats": self.window_beats,
            "median_beats": self.median_beats,
            "min_threshold_ms": self.min_threshold_ms,
            "max_threshold_frac": self.max_threshold_frac,
            "min_threshold_frac": self.min_threshold_frac,
            "neighbour_line": self.neighbour_line,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ArtifactSettings":
        return cls(
            alpha=float(d["alpha"]),
            c1=float(d["c1"]),
            c2=float(d["c2"]),
            window_beats=int(d["window_beats"]),
            median_beats=int(d["median_beats"]),
            min_threshold_ms=float(d.get("min_threshold_ms", 0.0)),
            max_threshold_frac=float(d.get("max_threshold_frac", 0.0)),
            min_threshold_frac=float(d.get("min_threshold_frac", 0.0)),
            neighbour_line=float(d.get("neighbour_line", 0.0)),
        )



# --------------------------------------------------------------------------------------------
# Scalar helpers shared by the vectorised and the streaming versions (same float operations, so
# the two agree exactly).


def _quantile_sorted(s, q: float) -> float:
    """Linear-interpolation quantile of an ascending sequence (numpy's default definition)."""
    pos = (len(s) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    frac = pos - lo
    a = s[lo]
    return a + (s[hi] - a) * frac


def _qd(s) -> float:
    return (_quantile_sorted(s, 0.75) - _quantile_sorted(s, 0.25)) / 2.0


def _bound_threshold(th: float, med: float, st: ArtifactSettings) -> float:
    """``Th`` floored at ``min_threshold_ms`` and ``min_threshold_frac · medRR``, capped at
    ``max_threshold_frac · medRR`` (each bound off when 0); scalar twin of :func:`_bound_thresholds`."""
    th = max(th, st.min_threshold_ms)
    if st.min_threshold_frac > 0:
        th = max(th, st.min_threshold_frac * med)
    if st.max_threshold_frac > 0:
        th = min(th, st.max_threshold_frac * med)
    return th


def _bound_thresholds(th: NDArray[np.float64], med: NDArray[np.float64], st: ArtifactSettings) -> NDArray[np.float64]:
    """:func:`_bound_threshold` on arrays (the same float operations, so offline and live agree)."""
    th = np.maximum(th, st.min_threshold_ms)
    if st.min_threshold_frac > 0:
        th = np.maximum(th, st.min_threshold_frac * med)
    if st.max_threshold_frac > 0:
        th = np.minimum(th, st.max_threshold_frac * med)
    return th


def _window_stats(x: NDArray[np.float64], starts: NDArray[np.int64], ends: NDArray[np.int64],
                  width: int, quantiles: tuple[float, ...]) -> list[NDArray[np.float64]]:
    """Quantiles of ``x[starts[i]:ends[i]+1]`` for each i (windows of at most ``width`` values).

    The order statistics of full-width windows come from one sliding pass
    (:func:`._kernels.sliding_order_stats`: the values a sort of each window puts there); truncated
    windows (run edges) are sorted one by one. The interpolation is :func:`_quantile_sorted`'s,
    applied with the same float operations.
    """
    from ._kernels import sliding_order_stats

    n = starts.size
    out = [np.empty(n) for _ in quantiles]
    full = (ends - starts + 1) == width
    if x.size >= width and full.any():
        idx = np.flatnonzero(full)
        places = []
        for q in quantiles:
            pos = (width - 1) * q
            lo = int(math.floor(pos))
            places.append((lo, min(lo + 1, width - 1), pos - lo))
        ks = np.array(sorted({k for lo, hi, _ in places for k in (lo, hi)}), dtype=np.int64)
        column = {int(k): c for c, k in enumerate(ks.tolist())}
        # a writable copy: the rr series is read-only, and a second array type would load a second
        # compiled version of the kernel (~10-20 ms at start-up)
        stats = sliding_order_stats(np.array(x, dtype=np.float64, order="C"), width, ks)[starts[idx]]
        for k, (lo, hi, frac) in enumerate(places):
            a = stats[:, column[lo]]
            out[k][idx] = a + (stats[:, column[hi]] - a) * frac
    for i in np.flatnonzero(~full):
        s = sorted(x[starts[i]: ends[i] + 1].tolist())
        for k, q in enumerate(quantiles):
            out[k][i] = _quantile_sorted(s, q)
    return out


def _reflect_index(idx: NDArray[np.int64], last: NDArray[np.int64] | int) -> NDArray[np.int64]:
    idx = np.where(idx < 0, -idx, idx)
    return np.where(idx > last, 2 * np.asarray(last) - idx, idx)


def _classify_run(rr: NDArray[np.float64], st: ArtifactSettings, causal: bool) -> NDArray[np.int8]:
    from ._kernels import classify_beat  # Figure 1's decision tree, one copy for offline and live

    n = rr.size
    codes = np.zeros(n, dtype=np.int8)
    if n < _MIN_RUN_BEATS:
        return codes
    W, M, k = st.window_beats, st.median_beats, LOOKAHEAD_BEATS
    j = np.arange(n)
    d = np.zeros(n)
    d[1:] = np.diff(rr)
    absd = np.abs(d)
    if causal:
        e = np.minimum(j + k, n - 1)
        q1, q3 = _window_stats(absd, np.maximum(e - W + 1, 0), e, W, (0.25, 0.75))
        (med,) = _window_stats(rr, np.maximum(e - M + 1, 0), e, M, (0.5,))
    else:
        h, hm = W // 2, M // 2
        q1, q3 = _window_stats(absd, np.maximum(j - h, 0), np.minimum(j + h, n - 1), W, (0.25, 0.75))
        (med,) = _window_stats(rr, np.maximum(j - hm, 0), np.minimum(j + hm, n - 1), M, (0.5,))
    th1 = _bound_thresholds(st.alpha * ((q3 - q1) / 2.0), med, st)
    m = rr - med
    m = np.where(m < 0, m * 2.0, m)
    absm = np.abs(m)
    if causal:
        q1m, q3m = _window_stats(absm, np.maximum(j - W + 1, 0), j, W, (0.25, 0.75))
    else:
        q1m, q3m = _window_stats(absm, np.maximum(j - h, 0), np.minimum(j + h, n - 1), W, (0.25, 0.75))
    th2 = _bound_thresholds(st.alpha * ((q3m - q1m) / 2.0), med, st)
    with np.errstate(divide="ignore", invalid="ignore"):
        mn = np.where(th2 != 0, m / th2, np.nan)
        if causal:
            last = e
            dn_at = lambda idx: np.where(th1 != 0, d[_reflect_index(idx, last)] / th1, np.nan)  # noqa: E731
            dn = dn_at(j)
            dnext, dnext2 = dn_at(j + 1), dn_at(j + 2)
        else:
            dn_all = np.where(th1 != 0, d / th1, np.nan)
            dn = dn_all
            dnext = dn_all[_reflect_index(j + 1, n - 1)]
            dnext2 = dn_all[_reflect_index(j + 2, n - 1)]
    rr_next = np.append(rr[1:], np.nan)
    # Only beats that pass the first gate need the scalar decision tree (a few per cent).
    has_next = j < n - 1
    cand = np.flatnonzero((np.abs(dn) > 1.0) | (np.abs(mn) > 3.0) | ((np.abs(dnext) > 1.0) & has_next))
    c1, c2 = st.c1, st.c2
    prev_code = NORMAL
    prev_i = -2
    for i in cand.tolist():
        if prev_i == i - 1 and prev_code in _REWRITES_NEXT:
            prev_code, prev_i = NORMAL, i  # rewritten by the previous correction: not re-classified
            continue
        code = classify_beat(float(dn[i]), float(dnext[i]), float(dnext2[i]), i < n - 1,
                         float(mn[i]), float(rr[i]), float(rr_next[i]), float(med[i]),
                         float(th2[i]), c1, c2, st.neighbour_line)
        codes[i] = code
        prev_code, prev_i = code, i
    return codes


def _runs(n: int, breaks: NDArray[np.bool_]) -> list[tuple[int, int]]:
    starts = [0] + [int(i) for i in np.flatnonzero(breaks[1:]) + 1]
    ends = starts[1:] + [n]
    return [(s, e) for s, e in zip(starts, ends) if e > s]


def _codes(rr: NDArray[np.float64], b: NDArray[np.bool_], st: ArtifactSettings, mode: str) -> NDArray[np.int8]:
    if mode not in ("offline", "causal"):
        raise ValueError(f"mode must be 'offline' or 'causal', got {mode!r}")
    codes = np.zeros(rr.size, dtype=np.int8)
    for s, e in _runs(rr.size, b):
        codes[s:e] = _classify_run(rr[s:e], st, causal=(mode == "causal"))
    return codes


def _valid_from_codes(codes: NDArray[np.int8], b: NDArray[np.bool_]) -> NDArray[np.bool_]:
    valid = codes == NORMAL
    if codes.size > 1:
        rewritten = np.isin(codes[:-1], list(_REWRITES_NEXT)) & ~b[1:]
        valid[1:] &= ~rewritten
    return valid


