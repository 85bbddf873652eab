r"""Heart-rhythm coherence, HeartMath-style (an approximation of an unpublished vendor score).

Over the last ``window_s`` = 64 s of beats, the PSD is computed exactly as for the frequency-domain
indices (valid beats as knots, not-a-knot spline at 4 Hz, mean removed, one Hann-windowed Welch
segment spanning the window, ms²/Hz; :func:`biofeedback.hrv.frequency_domain.power_spectrum`).
Then

* the peak is the largest PSD value with 0.04 Hz ≤ f < 0.26 Hz (``peak_hz``);
* peak power :math:`P_{peak} = \int_{f_p - 0.015}^{f_p + 0.015} P(f)\,df` (a 0.030 Hz band centred on
  the peak), total power :math:`P_{tot} = \int_{0.0033}^{0.4} P(f)\,df`, both ms² (trapezoid rule,
  PSD interpolated at the edges);
* ``ratio`` :math:`= P_{peak} / (P_{tot} - P_{peak})` (McCraty 2022, doi:10.1007/s10484-022-09554-2);
* ``ratio_squared`` :math:`= (P_{peak} / (P_{tot} - P_{peak}))^2`, the form printed in McCraty,
  Atkinson, Tomasino & Bradley (2009) "The coherent heart", Integral Review 5(2):10-115.

Spectrum sampling (``method``). The band integrals are only as good as the grid they are summed on.

* ``"fine"`` (default; engine settings version >= 2): the same Hann-windowed 64 s segment is
  zero-padded to ``nfft`` = the smallest power of two with ``fs_hz / nfft <= 1/512`` Hz (2048 at
  4 Hz), i.e. the segment's continuous spectrum sampled every ≈ 0.002 Hz. The peak is located to
  ±0.001 Hz and the 0.030 Hz band spans ~16 grid points, so the ratio no longer depends on where
  the rhythm falls relative to the native 1/64 Hz bins. Property (tested with Hypothesis over
  frequency and phase, measured by ``benchmarks/validity.py``): equal oscillations anywhere in
  0.085-0.115 Hz score within 15 % of each other. A pure sinusoid gives ratio ≈ 9 (the Hann main
  lobe holds ≈ 90 % of its power within ±0.015 Hz); irregular breathing gives ratios well below 1.
* ``"grid"`` (engine settings version 1, kept so stored sessions replay as shown): the native
  1/64 Hz Welch grid, no zero padding. The peak band spans about two bins; a pure sinusoid gives
  ratio ≈ 4.5 on a bin (k/64 Hz) but ≈ 2.9 halfway between bins, e.g. 0.1 Hz: the target breathing
  rate of the resonance practice scored about 35 % lower than 0.094 Hz.

HeartMath's products map this ratio to their own 0-16 style "coherence scores" with an unpublished
scale and their own spectral estimator; our numbers are an approximation of the published recipe,
not the vendor's score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.fft import rfft
from numpy.typing import ArrayLike

from ._kernels import coherence_values, rfft_coherence_ratio_rows, rfft_coherence_values
from .batch import ROWS_PER_FFT, segment_rows, window_arrays
from .constants import (
    COHERENCE_MAX_DF_HZ,
    COHERENCE_PEAK_WIDTH_HZ,
    COHERENCE_SEARCH_BAND_HZ,
    COHERENCE_TOTAL_BAND_HZ,
    COHERENCE_WINDOW_S,
    RESAMPLE_HZ,
)
from .frequency_domain import (
    PSDIntegrator,
    Spectrum,
    WelchScratch,
    power_spectrum,
    psd_integrator,
    psd_integrator_maker,
    rfft_grid_step,
    single_segment_psd_rows,
    uniform_grid_step,
    window_rows,
    window_welch_rfft,
    window_welch_spectrum,
)

__all__ = [
    "Coherence",
    "CoherenceMethod",
    "coherence",
    "coherence_from_spectrum",
    "coherence_nfft",
    "coherence_ratios",
    "coherence_spectrum",
    "last_window",
    "window_coherence_values",
]

NAN = float("nan")
#: How the coherence spectrum is sampled (see the module docstring).
CoherenceMethod = Literal["fine", "grid"]
COHERENCE_METHODS: tuple[str, ...] = ("fine", "grid")


@dataclass(frozen=True, slots=True)
class Coherence:
    """HeartMath-style coherence of one window (formulas in the module docstring).

    Attributes
    ----------
    ratio: peak / (total − peak), dimensionless, ≥ 0.
    ratio_squared: ratio², McCraty et al. (2009) form.
    peak_hz: frequency of the coherence peak (Hz).
    peak_power_ms2: power in the 0.030 Hz band around the peak (ms²).
    total_power_ms2: power in 0.0033-0.4 Hz (ms²).
    """

    ratio: float
    ratio_squared: float
    peak_hz: float
    peak_power_ms2: float
    total_power_ms2: float


def last_window(
    t_s: ArrayLike | None, rr_ms: ArrayLike, valid: ArrayLike | None, window_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The beats with ``t_s >= t_s[-1] - window_s`` (times from ``cumsum(rr_ms)/1000`` if None).

    Examples
    --------
    >>> t, rr, v = last_window([1.0, 2.0, 3.0, 4.0], [1000.0] * 4, None, 2.0)
    >>> t.tolist(), v
    ([2.0, 3.0, 4.0], None)
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
    if t.shape != rr.shape:
        raise ValueError(f"t_s has shape {t.shape}, expected {rr.shape} like rr_ms")
    if not t.size:
        return t, rr, None if valid is None else np.asarray(valid, dtype=bool)
    i = int(np.searchsorted(t, t[-1] - window_s, side="left"))
    v = None if valid is None else np.asarray(valid, dtype=bool)[i:]
    return t[i:], rr[i:], v


def coherence_nfft(fs_hz: float, window_s: float = COHERENCE_WINDOW_S) -> int:
    """FFT length of the ``"fine"`` method: the smallest power of two >= the window's samples with
    ``fs_hz / nfft <= COHERENCE_MAX_DF_HZ``.

    Examples
    --------
    >>> coherence_nfft(4.0), coherence_nfft(4.0, 300.0)
    (2048, 2048)
    """
    need = max(fs_hz / COHERENCE_MAX_DF_HZ, window_s * fs_hz + 1.0)
    return 1 << max(0, math.ceil(math.log2(need - 1e-9)))


def coherence_spectrum(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = RESAMPLE_HZ,
    method: CoherenceMethod = "fine",
) -> Spectrum:
    """The coherence spectrum of beats *already cut* to one window (see :func:`last_window`).

    One Hann-windowed Welch segment of ``window_s`` (:func:`power_spectrum`), zero-padded to
    :func:`coherence_nfft` for ``"fine"``, not padded for ``"grid"``.
    """
    return power_spectrum(t_s, rr_ms, valid, fs_hz=fs_hz, segment_s=window_s,
                          nfft=coherence_spectrum_nfft(method, fs_hz, window_s))


def coherence_spectrum_nfft(method: CoherenceMethod, fs_hz: float, window_s: float) -> int | None:
    """The FFT length of :func:`coherence_spectrum`: :func:`coherence_nfft` for ``"fine"``, ``None``
    (the segment's own length, no padding) for ``"grid"``."""
    if method not in COHERENCE_METHODS:
        raise ValueError(f"coherence method must be one of {COHERENCE_METHODS}, got {method!r}")
    return coherence_nfft(fs_hz, window_s) if method == "fine" else None


def coherence_from_spectrum(spectrum: Spectrum) -> Coherence:
    """Coherence indices of an already computed 64 s spectrum (see the module docstring).

    Examples
    --------
    A flat PSD of 1 ms²/Hz with one bin of 100 at 6/64 Hz: the peak band 0.07875-0.10875 Hz
    reaches the interpolated value 1 + 99·0.04 = 4.96 at both edges, so P_peak =
    2·0.015·(4.96 + 100)/2 = 1.5744; P_tot = 0.3967·1 + 99·(1/64) (the triangle) = 1.943575.

    >>> f = np.arange(0, 2.0, 1 / 64); p = np.where(f == 6 / 64, 100.0, 1.0)
    >>> c = coherence_from_spectrum(Spectrum(f, p, "welch", 80, 1.0))
    >>> c.peak_hz, round(c.peak_power_ms2, 6), round(c.total_power_ms2, 6), round(c.ratio, 4)
    (0.09375, 1.5744, 1.943575, 4.2646)
    """
    f = spectrum.freq_hz
    if f.size < 2:
        return Coherence(NAN, NAN, NAN, NAN, NAN)
    df = uniform_grid_step(f)
    if df is None:
        return _coherence_of(psd_integrator(spectrum, COHERENCE_TOTAL_BAND_HZ[1]))
    # the uniform grid of every spectrum made here: _coherence_of's arithmetic in one compiled call
    ratio, peak_hz, peak, total = coherence_values(
        spectrum.psd_ms2_per_hz, df, COHERENCE_TOTAL_BAND_HZ[1], *COHERENCE_SEARCH_BAND_HZ,
        0.5 * COHERENCE_PEAK_WIDTH_HZ, *COHERENCE_TOTAL_BAND_HZ)
    return Coherence(ratio, ratio * ratio, peak_hz, peak, total)


def window_coherence_values(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    valid: np.ndarray | None,
    lo: int,
    hi: int,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = RESAMPLE_HZ,
    nfft: int | None = None,
    scratch: WelchScratch | None = None,
) -> tuple[float, float, float]:
    """``(ratio, peak_hz, longest_bridge_s)`` of ``coherence_from_spectrum(coherence_spectrum(t_s[lo:hi],
    rr_ms[lo:hi], valid[lo:hi], ...))`` bit for bit, for the per-beat engine: ``nfft`` is
    :func:`coherence_spectrum_nfft` of the method. After the FFT of
    :func:`~biofeedback.hrv.frequency_domain.window_welch_rfft`, |X|² and the coherence integrals are
    one compiled call (:func:`biofeedback.hrv._kernels.rfft_coherence_values`); windows the fast
    path does not cover go through :func:`coherence_spectrum`.
    """
    r = window_welch_rfft(t_s, rr_ms, valid, lo, hi, fs_hz=fs_hz, segment_s=window_s, nfft=nfft, scratch=scratch)
    if r is None:  # more samples than one segment (a window of exactly window_s): power_spectrum's path
        sp = power_spectrum(t_s[lo:hi], rr_ms[lo:hi], None if valid is None else valid[lo:hi], fs_hz=fs_hz,
                            segment_s=window_s, nfft=nfft)
        c = coherence_from_spectrum(sp)
        return c.ratio, c.peak_hz, float(sp.longest_bridge_s)
    _, bridge, v, n_fft = r
    if v is None or v.size < 4:  # fewer than 2 frequencies: no coherence
        return NAN, NAN, bridge
    df = rfft_grid_step(n_fft, fs_hz)
    if df is None:  # pragma: no cover - rfft grids are uniform
        one = window_welch_spectrum(t_s, rr_ms, valid, lo, hi, fs_hz=fs_hz, segment_s=window_s, nfft=nfft)
        assert one is not None
        c = coherence_from_spectrum(one)
        return c.ratio, c.peak_hz, bridge
    ratio, peak_hz, _, _ = rfft_coherence_values(
        v, n_fft, df, COHERENCE_TOTAL_BAND_HZ[1], *COHERENCE_SEARCH_BAND_HZ, 0.5 * COHERENCE_PEAK_WIDTH_HZ,
        *COHERENCE_TOTAL_BAND_HZ)
    return ratio, peak_hz, bridge


def _coherence_of(integ: PSDIntegrator) -> Coherence:
    """The coherence indices from a spectrum's band integrator (one place for the formulas)."""
    peak_hz, _ = integ.peak(*COHERENCE_SEARCH_BAND_HZ)
    if math.isnan(peak_hz):
        return Coherence(NAN, NAN, NAN, NAN, NAN)
    half = 0.5 * COHERENCE_PEAK_WIDTH_HZ
    peak = integ.band(peak_hz - half, peak_hz + half)
    total = integ.band(*COHERENCE_TOTAL_BAND_HZ)
    rest = total - peak
    ratio = peak / rest if rest > 0 else NAN
    return Coherence(ratio, ratio * ratio, peak_hz, peak, total)


def coherence(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = RESAMPLE_HZ,
    method: CoherenceMethod = "fine",
) -> Coherence:
    """HeartMath-style coherence ratio of the last ``window_s`` seconds of beats.

    Parameters
    ----------
    t_s:
        Beat times (s), ``None`` = ``cumsum(rr_ms) / 1000``.
    rr_ms:
        RR intervals (ms).
    valid:
        False = removed beat (dropped as a spline knot). ``None`` = all valid.
    window_s:
        Window length ending at the last beat (default 64 s, HeartMath).
    fs_hz:
        Resampling rate (default 4 Hz).
    method:
        ``"fine"`` (default, zero-padded, grid-independent) or ``"grid"`` (engine settings
        version 1); see the module docstring.

    Returns
    -------
    Coherence
        All ``nan`` with fewer than 4 valid beats in the window.

    Examples
    --------
    A pure rhythm on a bin of the 64 s grid (6/64 Hz) and between bins (0.1 Hz), against irregular
    beats; the ``"grid"`` method (version 1) penalises 0.1 Hz:

    >>> t = np.arange(1, 200) * 0.9
    >>> [round(coherence(t, 900.0 + 60.0 * np.sin(2 * np.pi * f * t)).ratio, 1) for f in (0.09375, 0.1)]
    [9.3, 8.9]
    >>> [round(coherence(t, 900.0 + 60.0 * np.sin(2 * np.pi * f * t), method="grid").ratio, 1)
    ...  for f in (0.09375, 0.1)]
    [4.5, 2.9]
    >>> rr = 900.0 + 30.0 * np.random.default_rng(0).standard_normal(199)
    >>> round(coherence(None, rr).ratio, 2) < 1.0
    True
    """
    t, rr, v = last_window(t_s, rr_ms, valid, window_s)
    return coherence_from_spectrum(coherence_spectrum(t, rr, v, window_s=window_s, fs_hz=fs_hz, method=method))


def coherence_ratios(
    t_s: ArrayLike,
    rr_ms: ArrayLike,
    valid: ArrayLike | None,
    lo: ArrayLike,
    hi: ArrayLike,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = RESAMPLE_HZ,
    method: CoherenceMethod = "fine",
) -> np.ndarray:
    """Coherence ratio of many windows at once: window ``k`` holds the beats ``lo[k]:hi[k]``.

    Equals ``coherence_from_spectrum(coherence_spectrum(t[lo:hi], rr[lo:hi], valid[lo:hi], ...)).ratio``
    for every window (tested to 1e-9 relative): each window keeps its own spline and grid; the
    Hann-windowed segments of the windows are transformed in batched FFTs (one numpy call per
    512 windows of the same segment length) instead of one call per window. ``nan`` where the
    window has no ratio. ``ValueError`` like :func:`power_spectrum` if the valid beat times of a
    window are not strictly increasing.
    """
    if method not in COHERENCE_METHODS:
        raise ValueError(f"coherence method must be one of {COHERENCE_METHODS}, got {method!r}")
    t, rr, v, lo_a, hi_a = window_arrays(t_s, rr_ms, valid, lo, hi)
    out = np.full(lo_a.size, NAN)
    nfft = coherence_nfft(fs_hz, window_s) if method == "fine" else None
    seg = int(round(window_s * fs_hz))
    if seg < 4:  # degenerate windows (a few samples): several Welch segments, the per-window path
        for k, (a, b) in enumerate(zip(lo_a.tolist(), hi_a.tolist())):
            sp = coherence_spectrum(t[a:b], rr[a:b], None if v is None else v[a:b], window_s=window_s,
                                    fs_hz=fs_hz, method=method)
            out[k] = coherence_from_spectrum(sp).ratio
        return out
    max_hz = COHERENCE_TOTAL_BAND_HZ[1]
    # each row: a window's segment (at most seg samples), windowed and zero-padded in place to its
    # FFT length (columns from seg on stay zero); one transform per FFT length (one for "fine")
    Z = np.zeros((ROWS_PER_FFT, seg if nfft is None else max(nfft, seg)))
    nper = np.zeros(ROWS_PER_FFT, dtype=np.int64)
    for c0 in range(0, lo_a.size, ROWS_PER_FFT):
        c1 = min(c0 + ROWS_PER_FFT, lo_a.size)
        counts = segment_rows(t, rr, v, lo_a[c0:c1], hi_a[c0:c1], fs_hz, seg, Z, nper)
        n_ffts = counts if nfft is None else np.maximum(counts, nfft)
        for n_fft in np.unique(n_ffts[counts > 0]).tolist():
            rows = np.flatnonzero((n_ffts == n_fft) & (counts > 0))
            df = rfft_grid_step(n_fft, fs_hz)
            if df is None:  # pragma: no cover - rfft grids are uniform
                for nperseg in np.unique(counts[rows]).tolist():
                    sub = rows[counts[rows] == nperseg]
                    f, p = single_segment_psd_rows(Z[sub, :nperseg], fs_hz, nfft)
                    make = psd_integrator_maker(f, max_hz)
                    for k, pk in zip(sub.tolist(), p):
                        out[c0 + k] = _coherence_of(make(pk)).ratio
                continue
            for nperseg in np.unique(counts[rows]).tolist():
                window_rows(Z, rows[counts[rows] == nperseg], nperseg, min(seg, n_fft), fs_hz)
            block = Z[: rows.size, :n_fft] if rows.size == rows[-1] + 1 else Z[rows, :n_fft]
            # |X|² (only the values the band integrals use) and the integrals: one compiled call
            spec = rfft(block, n_fft, axis=1).view(np.float64)
            out[c0 + rows] = rfft_coherence_ratio_rows(spec, n_fft, df, max_hz, COHERENCE_SEARCH_BAND_HZ[0],
                                                       COHERENCE_SEARCH_BAND_HZ[1], 0.5 * COHERENCE_PEAK_WIDTH_HZ,
                                                       *COHERENCE_TOTAL_BAND_HZ)
    return out
