"""Frequency-domain indices of many windows of one beat series in batched calls.

:func:`frequency_domain_rows` gives, for every window ``lo[k]:hi[k]`` of the beats, the values of
:func:`biofeedback.hrv.frequency_domain.frequency_domain` (``method="welch"``, ``detrend="mean"``,
the default 300 s segments) of those beats, bit for bit, for callers that need thousands of short
windows (``compare``'s 60 s and 120 s sub-windows of a 24 h session). Each window keeps its own
knots, spline and grid (the compiled per-window loop of
:func:`biofeedback.hrv.coherence.coherence_ratios`); the windows' segments of one length are
transformed in one batched FFT (numpy's batched ``rfft`` gives the bits of one call per row), and
the band integrals are :func:`~biofeedback.hrv.frequency_domain.indices_from_spectrum`'s. A window
longer than one Welch segment (several segments averaged) goes through
:func:`~biofeedback.hrv.frequency_domain.frequency_domain` itself.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels import coherence_segments
from .constants import RESAMPLE_HZ, WELCH_SEGMENT_S
from .frequency_domain import FrequencyDomain, Spectrum, frequency_domain, indices_from_spectrum, single_segment_psd_rows

__all__ = ["FREQUENCY_ROW_KEYS", "ROWS_PER_FFT", "frequency_domain_rows", "segment_rows", "window_arrays"]

#: The float indices of :class:`FrequencyDomain` that :func:`frequency_domain_rows` returns.
FREQUENCY_ROW_KEYS: tuple[str, ...] = tuple(
    f.name for f in fields(FrequencyDomain) if f.name not in ("method", "n_knots", "longest_bridge_s"))
#: Windows transformed per batched FFT (here and in :func:`biofeedback.hrv.coherence.coherence_ratios`:
#: 512 x 1200 samples = 4.9 MB of segments; 512 x 2048 for coherence's fine grid).
ROWS_PER_FFT = 512


def window_arrays(
    t_s: ArrayLike, rr_ms: ArrayLike, valid: ArrayLike | None, lo: ArrayLike, hi: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_] | None, NDArray[np.int64], NDArray[np.int64]]:
    """The inputs of a batched call over windows ``lo[k]:hi[k]`` of one beat series, as the compiled
    loops take them: ``(t_s, rr_ms, valid, lo, hi)``, contiguous float64 / bool (``None`` stays
    ``None``) / int64 arrays. ``ValueError`` when ``t_s``, ``rr_ms`` and ``valid`` are not
    one-dimensional arrays of one length, or ``lo`` and ``hi`` differ in length."""
    t = np.ascontiguousarray(t_s, dtype=np.float64)
    rr = np.ascontiguousarray(rr_ms, dtype=np.float64)
    v = None if valid is None else np.ascontiguousarray(valid, dtype=bool)
    if t.shape != rr.shape or (v is not None and v.shape != rr.shape) or rr.ndim != 1:
        raise ValueError("t_s, rr_ms and valid must be one-dimensional arrays of one length")
    lo_a = np.ascontiguousarray(np.asarray(lo, dtype=np.int64).reshape(-1))
    hi_a = np.ascontiguousarray(np.asarray(hi, dtype=np.int64).reshape(-1))
    if lo_a.shape != hi_a.shape:
        raise ValueError("lo and hi must have one length")
    return t, rr, v, lo_a, hi_a


def segment_rows(
    t: NDArray[np.float64], rr: NDArray[np.float64], valid: NDArray[np.bool_] | None, lo: NDArray[np.int64],
    hi: NDArray[np.int64], fs_hz: float, seg: int, Z: NDArray[np.float64], nper: NDArray[np.int64],
) -> NDArray[np.int64]:
    """The mean-removed spline segment of each window ``lo[k]:hi[k]`` (at most ``seg`` samples) in row
    ``k`` of ``Z`` (:func:`biofeedback.hrv._kernels.coherence_segments`); returns the samples of each
    row (``nper[:len(lo)]``, 0 for a window without a spectrum). ``ValueError`` like
    :func:`~biofeedback.hrv.frequency_domain.power_spectrum` if a window's valid beat times are not
    strictly increasing."""
    nper[: lo.size] = 0
    bad = coherence_segments(t, rr, valid if valid is not None else _ALL_VALID, valid is not None, lo, hi, fs_hz,
                             seg, Z, nper)
    if bad <= -2:  # pragma: no cover - the matrix is diagonally dominant for increasing knots
        raise np.linalg.LinAlgError("spline system is singular")
    if bad >= 0:
        raise ValueError("beat times t_s of the valid beats must be strictly increasing")
    return nper[: lo.size]


_ALL_VALID = np.ones(0, dtype=bool)  # (not read when valid is None)


def frequency_domain_rows(
    t_s: ArrayLike,
    rr_ms: ArrayLike,
    valid: ArrayLike | None,
    lo: ArrayLike,
    hi: ArrayLike,
    *,
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    nfft: int | None = None,
) -> dict[str, NDArray[np.float64]]:
    """``key -> values`` (one per window, :data:`FREQUENCY_ROW_KEYS`) where window ``k`` holds the
    beats ``lo[k]:hi[k]``: ``getattr(frequency_domain(t[lo:hi], rr[lo:hi], valid[lo:hi],
    fs_hz=fs_hz, segment_s=segment_s, nfft=nfft), key)`` for every window, bit for bit (``nan`` where
    undefined; ``nfft``: the engine settings' :attr:`~biofeedback.engine.EngineSettings.welch_nfft`).

    ``ValueError`` like :func:`~biofeedback.hrv.frequency_domain.power_spectrum` if the valid beat
    times of a window are not strictly increasing.

    Examples
    --------
    >>> t = np.arange(1, 301) * 1.0
    >>> rr = 1000.0 + 40.0 * np.sin(2 * np.pi * 0.1 * t)
    >>> rows = frequency_domain_rows(t, rr, None, [0, 100], [150, 300])
    >>> [round(x, 2) for x in rows["lf_peak_hz"]] == [round(frequency_domain(t[a:b], rr[a:b]).lf_peak_hz, 2)
    ...                                               for a, b in ((0, 150), (100, 300))]
    True
    """
    t, rr, v, lo_a, hi_a = window_arrays(t_s, rr_ms, valid, lo, hi)
    out = {key: np.full(lo_a.size, math.nan) for key in FREQUENCY_ROW_KEYS}
    seg = int(round(segment_s * fs_hz))
    if seg < 4 or not lo_a.size:
        return _each_window(t, rr, v, lo_a, hi_a, range(lo_a.size), out, fs_hz, segment_s, nfft)
    Z = np.empty((min(ROWS_PER_FFT, lo_a.size), seg))
    nper = np.zeros(Z.shape[0], dtype=np.int64)
    for c0 in range(0, lo_a.size, ROWS_PER_FFT):
        c1 = min(c0 + ROWS_PER_FFT, lo_a.size)
        counts = segment_rows(t, rr, v, lo_a[c0:c1], hi_a[c0:c1], fs_hz, seg, Z, nper)
        # a window of a whole segment may be longer than one (Welch averages several): the general path
        _each_window(t, rr, v, lo_a, hi_a, (c0 + np.flatnonzero(counts == seg)).tolist(), out, fs_hz, segment_s,
                     nfft)
        for nperseg in np.unique(counts[(counts > 0) & (counts < seg)]).tolist():
            rows = np.flatnonzero(counts == nperseg)
            f, p = single_segment_psd_rows(Z[rows, :nperseg], fs_hz, nfft)
            for k, pk in zip((c0 + rows).tolist(), p):
                fd = indices_from_spectrum(Spectrum(f, pk, "welch", 0, math.nan))
                for key in FREQUENCY_ROW_KEYS:
                    out[key][k] = getattr(fd, key)
    return out


def _each_window(t: NDArray[np.float64], rr: NDArray[np.float64], v: NDArray[np.bool_] | None,
                 lo: NDArray[np.int64], hi: NDArray[np.int64], which: range | list[int],
                 out: dict[str, NDArray[np.float64]], fs_hz: float, segment_s: float,
                 nfft: int | None) -> dict[str, NDArray[np.float64]]:
    """The windows ``which`` through :func:`frequency_domain` itself, one call each."""
    for k in which:
        a, b = int(lo[k]), int(hi[k])
        fd = frequency_domain(t[a:b], rr[a:b], None if v is None else v[a:b], fs_hz=fs_hz, segment_s=segment_s,
                              nfft=nfft)
        for key in FREQUENCY_ROW_KEYS:
            out[key][k] = getattr(fd, key)
    return out
