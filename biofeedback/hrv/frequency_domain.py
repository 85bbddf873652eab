r"""Frequency-domain HRV indices, Kubios-compatible by default.

Pipeline (defaults = Kubios HRV; Tarvainen et al. 2014, doi:10.1016/j.cmpb.2013.07.024):

1. **Knots.** Each *valid* beat contributes the knot ``(t_s[i], rr_ms[i])`` (its RR interval placed
   at the time of the beat that ends it). Invalid beats are dropped as knots; the spline bridges
   them, and any gap, smoothly. How much was bridged is reported: ``Spectrum.longest_bridge_s``
   is the longest spacing between consecutive knots (about one RR when nothing was removed), so a
   caller can refuse a window with, say, a 5 s hole. ``breaks`` are not needed here: a gap is just
   a long knot spacing.
2. **Resampling.** Not-a-knot cubic spline (:mod:`biofeedback.hrv.interpolation`) at
   ``fs_hz = 4`` Hz from the first to the last knot.
3. **Detrending.** ``"mean"`` (default, Kubios' default): subtract the mean, nothing else.
   ``"smoothness_priors"``: subtract the smoothness-priors trend of the 4 Hz series (Tarvainen,
   Ranta-aho & Karjalainen 2002, IEEE TBME 49(2):172-175, doi:10.1109/10.979357),
   :math:`z_{stat} = (I - (I + \lambda^2 D_2^T D_2)^{-1}) z`, λ = 500 by default; at 4 Hz its
   −3 dB cut-off is ≈ 0.035 Hz, as in Kubios.
4. **PSD.** ``"welch"``: Welch's method (Welch 1967, doi:10.1109/TAU.1967.1161901), Hann window
   (periodic, as ``scipy.signal.get_window("hann", n)``), segments of ``segment_s`` = 300 s with
   ``overlap`` = 50 %, one segment spanning the whole series when it is shorter than 300 s,
   ``nfft`` = segment length by default (no zero padding; the engine's settings version 3 passes
   ``nfft = round(segment_s * fs_hz)``, 1200 at 4 Hz: every segment zero-padded to the fixed grid
   1/``segment_s`` Hz = 1/300 Hz, :attr:`biofeedback.engine.EngineSettings.welch_nfft`), no
   per-segment detrending, one-sided density
   scaling :math:`P(f) = \frac{c}{f_s \sum w_n^2}\,\overline{|X(f)|^2}` with c = 2 except at 0 Hz
   and Nyquist: **ms²/Hz, absolute, not normalised**. Equal to ``scipy.signal.welch(x, fs,
   window="hann", nperseg, noverlap, nfft=nfft or nperseg, detrend=False, scaling="density")``.
   ``"lomb"``: Lomb-Scargle periodogram of the (mean-removed or detrended) knots themselves,
   no resampling (Lomb 1976, doi:10.1007/BF00648343; Scargle 1982, doi:10.1086/160554), with
   :func:`scipy.signal.lombscargle` (``normalize=False``), scaled to a one-sided density in
   ms²/Hz by :math:`P(f) = 2\,P_{LS}(f)\,T/N` (N knots spanning T = N·mean spacing): for evenly
   spaced data at the Fourier frequencies this is exactly the one-sided boxcar periodogram, so its
   integral is the variance. Segments and overlap as for Welch; the grid step is 1/(4·segment
   length) Hz (4× oversampled) from 0 to 0.5 Hz, the value at 0 Hz copied from the first bin.
5. **Band powers** (ms²): trapezoid rule over the PSD, with the PSD linearly interpolated at the
   exact band edges (:func:`band_power_ms2`). Bands (Task Force 1996, doi:10.1161/01.CIR.93.5.1043):
   VLF 0-0.04, LF 0.04-0.15, HF 0.15-0.40 Hz; total power = VLF + LF + HF (0-0.4 Hz).
   LF/HF; normalised units LF_nu = 100·LF/(LF+HF), HF_nu = 100·HF/(LF+HF) (= Kubios' 100·LF/(TP−VLF));
   peak frequencies: the grid frequency of the largest PSD value in [lo, hi).

Windows shorter than ~2 minutes give coarse spectra (resolution 1/window, e.g. 0.008 Hz at 120 s)
and VLF is meaningless below ~5 minutes (Task Force 1996).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from numpy.fft import rfft  # the pocketfft of scipy.fft (equal bit for bit), without scipy's 0.5 s import

from .constants import (
    HF_BAND_HZ,
    LF_BAND_HZ,
    RESAMPLE_HZ,
    SMOOTHNESS_LAMBDA,
    VLF_BAND_HZ,
    WELCH_OVERLAP,
    WELCH_SEGMENT_S,
)
from ._kernels import (
    NO_WINDOW, SEVERAL_SEGMENTS, band_peak, band_power, frequency_ratios, frequency_values, rfft_frequency_values,
    rfft_power, spacing_range, welch_segment_input,
)
from .interpolation import even_grid_s, even_grid_size, resample_even

__all__ = [
    "Spectrum",
    "FrequencyDomain",
    "power_spectrum",
    "band_power_ms2",
    "peak_frequency_hz",
    "frequency_domain",
    "welch_psd",
    "smoothness_priors_trend",
    "knots",
    "psd_integrator",
    "psd_integrator_maker",
    "rfft_grid_step",
    "single_segment_psd_rows",
    "window_rows",
    "indices_from_spectrum",
    "window_welch_spectrum",
    "window_welch_rfft",
    "window_welch_indices",
    "WelchScratch",
    "rfft_writer",
    "FrequencyValues",
    "frequency_values_of",
    "uniform_grid_step",
]

Method = Literal["welch", "lomb"]
Detrend = Literal["mean", "smoothness_priors"]
NAN = float("nan")
MIN_KNOTS = 4
LOMB_OVERSAMPLING = 4
LOMB_MAX_HZ = 0.5


@dataclass(frozen=True, slots=True)
class Spectrum:
    """A one-sided power spectral density of the RR series.

    Attributes
    ----------
    freq_hz:
        Frequencies (Hz), increasing, starting at 0. Empty when there were too few beats.
    psd_ms2_per_hz:
        PSD in absolute units ms²/Hz (density scaling, not normalised).
    method:
        ``"welch"`` or ``"lomb"``.
    n_knots:
        Number of valid beats used as spline knots / Lomb samples.
    longest_bridge_s:
        Longest spacing between consecutive knots (s): about one RR when no beat was removed,
        longer where removed beats or gaps were bridged. ``nan`` with fewer than 2 knots.
    """

    freq_hz: NDArray[np.float64]
    psd_ms2_per_hz: NDArray[np.float64]
    method: str
    n_knots: int
    longest_bridge_s: float


@dataclass(frozen=True, slots=True)
class FrequencyDomain:
    """Frequency-domain indices of one window (formulas in the module docstring).

    Powers in ms², ``lf_hf`` dimensionless, ``lf_nu``/``hf_nu`` in normalised units (%), peaks in Hz.
    All ``nan`` when the window had too few beats for a spectrum.
    """

    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    total_power_ms2: float
    lf_hf: float
    lf_nu: float
    hf_nu: float
    lf_peak_hz: float
    hf_peak_hz: float
    method: str
    n_knots: int
    longest_bridge_s: float


@lru_cache(maxsize=64)
def _hann(n: int) -> tuple[NDArray[np.float64], float]:
    """Periodic Hann window of length ``n`` and the sum of its squares (cached by length)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    w.setflags(write=False)
    return w, float(np.dot(w, w))


@lru_cache(maxsize=64)
def _rfft_freqs(n: int, fs_hz: float) -> NDArray[np.float64]:
    f: NDArray[np.float64] = np.fft.rfftfreq(n, 1.0 / fs_hz).astype(np.float64, copy=False)
    f.setflags(write=False)
    return f


def welch_psd(
    x: NDArray[np.float64], fs_hz: float, nperseg: int, noverlap: int, nfft: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Welch PSD of an evenly sampled, already detrended signal (Hann, density, one-sided).

    Same as ``scipy.signal.welch(x, fs_hz, window="hann", nperseg=nperseg, noverlap=noverlap,
    nfft=nfft or nperseg, detrend=False, scaling="density")`` for ``nperseg <= len(x)``, without its
    per-call validation. Units: (units of x)²/Hz. ``nfft > nperseg`` zero-pads each windowed
    segment: the same continuous spectrum sampled on the finer grid ``fs_hz / nfft``.

    Examples
    --------
    >>> f, p = welch_psd(np.array([1.0, -1.0] * 8), 4.0, 16, 8)
    >>> float(f[-1]), round(float(p.sum() * (f[1] - f[0])), 3)  # a tone at Nyquist; variance 1
    (2.0, 1.0)
    """
    w = _scaled_hann(nperseg, fs_hz)
    n_fft = nperseg if nfft is None else max(int(nfft), nperseg)
    if x.size == nperseg:
        # |X|² as re² + im² on the interleaved (re, im) view of the transform
        v = rfft(x * w, n_fft).view(np.float64)
        v *= v
        p = v[0::2] + v[1::2]
    else:
        step = nperseg - noverlap
        segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::step]
        spec = rfft(segs * w, n_fft, axis=1)
        p = (spec * spec.conj()).real.mean(axis=0)
    p[0] *= 0.5
    if n_fft % 2 == 0:
        p[-1] *= 0.5
    return _rfft_freqs(n_fft, fs_hz), p


def single_segment_psd_rows(
    rows: NDArray[np.float64], fs_hz: float, nfft: int | None = None, max_bins: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`welch_psd` of many signals of one segment each (``rows``: one detrended signal of
    ``nperseg`` samples per row), in one batched FFT: ``(freq_hz, psd)`` with one PSD per row,
    the same arithmetic as ``welch_psd(row, fs_hz, nperseg, noverlap, nfft)`` (tested equal).
    ``max_bins``: keep only the first ``max_bins`` frequencies (the PSD is not computed beyond).

    Examples
    --------
    >>> f, p = single_segment_psd_rows(np.array([[1.0, -1.0] * 8, [0.5, -0.5] * 8]), 4.0)
    >>> [round(float(x.sum() * (f[1] - f[0])), 3) for x in p]
    [1.0, 0.25]
    """
    nperseg = rows.shape[1]
    w = _scaled_hann(nperseg, fs_hz)
    n_fft = nperseg if nfft is None else max(int(nfft), nperseg)
    spec = rfft(rows * w, n_fft, axis=1)
    bins = spec.shape[1]
    keep = bins if max_bins is None else min(bins, max_bins)
    spec = spec[:, :keep]
    p = spec.real * spec.real + spec.imag * spec.imag
    p[:, 0] *= 0.5
    if n_fft % 2 == 0 and keep == bins:
        p[:, -1] *= 0.5
    return _rfft_freqs(n_fft, fs_hz)[:keep], p


def window_rows(z: NDArray[np.float64], rows: NDArray[np.intp], nperseg: int, end: int, fs_hz: float) -> None:
    """In place: ``z[rows, :nperseg]`` times the scaled Hann window of :func:`single_segment_psd_rows`
    (the same products), ``z[rows, nperseg:end]`` zeroed: each row then zero-padded to the FFT length
    when its columns from ``end`` on are zero already (``rfft`` of it = the padded transform of
    :func:`single_segment_psd_rows`).

    Examples
    --------
    >>> z = np.ones((2, 6)); window_rows(z, np.array([1]), 4, 5, 4.0)
    >>> z[1].round(3).tolist(), z[0].tolist() == [1.0] * 6
    ([0.0, 0.289, 0.577, 0.289, 0.0, 1.0], True)
    """
    z[rows, :nperseg] *= _scaled_hann(nperseg, fs_hz)
    z[rows, nperseg:end] = 0.0


@lru_cache(maxsize=64)
def rfft_grid_step(n_fft: int, fs_hz: float) -> float | None:
    """``df`` of the grid of :func:`welch_psd` with ``n_fft`` when :func:`psd_integrator` takes its
    uniform (compiled) path on it, else ``None`` (cached by length and rate).

    Examples
    --------
    >>> rfft_grid_step(2048, 4.0)
    0.001953125
    """
    f = _rfft_freqs(n_fft, fs_hz)
    return float(f[1]) if _is_uniform_from_zero(f) else None


@lru_cache(maxsize=64)
def _scaled_hann(n: int, fs_hz: float) -> NDArray[np.float64]:
    """Hann window times sqrt(2 / (fs · Σw²)), so |rfft(x·w)|² is the one-sided density directly."""
    w, wss = _hann(n)
    ws = w * math.sqrt(2.0 / (fs_hz * wss))
    ws.setflags(write=False)
    return ws


@lru_cache(maxsize=16)
def _sp_banded(n: int, lam: float) -> NDArray[np.float64]:
    """Upper banded form of I + λ² D2ᵀ D2 (n × n, bandwidth 2) for scipy.linalg.solveh_banded."""
    ab = np.zeros((3, n))
    main = np.full(n, 6.0)
    main[[0, -1]] = 1.0
    main[[1, -2]] = 5.0
    off1 = np.full(n - 1, -4.0)
    off1[[0, -1]] = -2.0
    ab[2] = 1.0 + lam * lam * main
    ab[1, 1:] = lam * lam * off1
    ab[0, 2:] = lam * lam
    ab.setflags(write=False)
    return ab


def smoothness_priors_trend(z: ArrayLike, lam: float = SMOOTHNESS_LAMBDA) -> NDArray[np.float64]:
    r"""Smoothness-priors trend :math:`(I + \lambda^2 D_2^T D_2)^{-1} z` of an evenly sampled series.

    :math:`D_2` is the (n−2)×n second-difference matrix. Subtract the trend to detrend
    (Tarvainen, Ranta-aho & Karjalainen 2002, IEEE TBME 49(2):172-175, doi:10.1109/10.979357).
    Solved as a symmetric pentadiagonal system. Series shorter than 3 samples: the trend is the mean.

    Examples
    --------
    >>> z = np.arange(10.0)  # a straight line is its own trend
    >>> np.allclose(smoothness_priors_trend(z, 500.0), z)
    True
    """
    za = np.asarray(z, dtype=np.float64)
    n = za.size
    if n < 3:
        return np.full(n, za.mean() if n else 0.0)
    from scipy.linalg import solveh_banded  # scipy's import is slow: only when asked for

    return solveh_banded(_sp_banded(n, float(lam)), za, check_finite=False)


def knots(
    t_s: ArrayLike | None, rr_ms: ArrayLike, valid: ArrayLike | None = None, *, check: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Knot times (s) and values (ms): the valid beats, times from ``t_s`` or ``cumsum(rr_ms)/1000``.

    Raises ``ValueError`` if shapes differ or (``check``) the knot times are not strictly increasing.

    Examples
    --------
    >>> x, y = knots(None, [1000.0, 500.0, 800.0], [True, False, True])
    >>> x.tolist(), y.tolist()
    ([1.0, 2.3], [1000.0, 800.0])
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
    if t.shape != rr.shape:
        raise ValueError(f"t_s has shape {t.shape}, expected {rr.shape} like rr_ms")
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != rr.shape:
            raise ValueError(f"valid has shape {v.shape}, expected {rr.shape} like rr_ms")
        t = t[v]
        rr = rr[v]
    if check and t.size > 1 and not (t[1:] > t[:-1]).all():
        raise ValueError("beat times t_s of the valid beats must be strictly increasing")
    return t, rr


def _lomb(
    x: NDArray[np.float64], y: NDArray[np.float64], segment_s: float, overlap: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    span = x[-1] - x[0]
    seg = min(segment_s, span)
    df = 1.0 / (LOMB_OVERSAMPLING * seg)
    f = np.arange(int(math.floor(LOMB_MAX_HZ / df)) + 1) * df
    w = 2.0 * np.pi * f[1:]
    step = seg * (1.0 - overlap)
    if seg >= span:
        starts = [x[0]]
    else:
        starts = list(x[0] + step * np.arange(int(math.floor((span - seg) / step + 1e-9)) + 1))
    from scipy.signal import lombscargle  # scipy.signal takes 0.4 s to import: only when asked for

    acc = np.zeros(f.size - 1)
    used = 0
    for s0 in starts:
        lo = np.searchsorted(x, s0, side="left")
        hi = np.searchsorted(x, s0 + seg + 1e-9, side="right")
        xs, ys = x[lo:hi], y[lo:hi]
        if xs.size < MIN_KNOTS:
            continue
        ys = ys - ys.mean()
        n = xs.size
        t_total = n * (xs[-1] - xs[0]) / (n - 1)
        acc += 2.0 * lombscargle(xs, ys, w, normalize=False) * t_total / n
        used += 1
    p = np.empty(f.size)
    p[1:] = acc / max(used, 1)
    p[0] = p[1]
    return f, p


def power_spectrum(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    method: Method = "welch",
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    overlap: float = WELCH_OVERLAP,
    detrend: Detrend = "mean",
    smoothness_lambda: float = SMOOTHNESS_LAMBDA,
    nfft: int | None = None,
) -> Spectrum:
    """One-sided PSD (ms²/Hz) of the RR series of one window (pipeline in the module docstring).

    Parameters
    ----------
    t_s:
        Beat times (s); ``None`` = ``cumsum(rr_ms) / 1000``.
    rr_ms:
        RR intervals (ms).
    valid:
        False = removed beat (dropped as a knot and bridged by the spline). ``None`` = all valid.
    method:
        ``"welch"`` (default, Kubios) or ``"lomb"`` (Lomb-Scargle, no resampling).
    fs_hz:
        Resampling rate for Welch (default 4 Hz).
    segment_s, overlap:
        Welch/Lomb segment length (300 s) and overlap fraction (0.5).
    detrend:
        ``"mean"`` (default) or ``"smoothness_priors"``.
    smoothness_lambda:
        λ of the smoothness-priors detrending (default 500).
    nfft:
        Welch only: FFT length per segment; ``None`` (default) = the segment length, no zero
        padding. A larger value zero-pads: grid ``fs_hz / nfft`` (coherence: 2048; engine settings
        version 3: ``round(segment_s * fs_hz)`` = 1200, the grid 1/300 Hz of a full segment).

    Returns
    -------
    Spectrum
        Empty arrays when fewer than 4 valid beats (no spectrum can be estimated).

    Examples
    --------
    >>> t = np.arange(1, 121) * 1.0                 # 120 beats, 1 s apart
    >>> rr = 1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * t)
    >>> sp = power_spectrum(t, rr)
    >>> round(float(sp.freq_hz[np.argmax(sp.psd_ms2_per_hz)]), 2)
    0.1
    """
    if method not in ("welch", "lomb"):
        raise ValueError(f"method must be 'welch' or 'lomb', got {method!r}")
    if detrend not in ("mean", "smoothness_priors"):
        raise ValueError(f"detrend must be 'mean' or 'smoothness_priors', got {detrend!r}")
    x, y = knots(t_s, rr_ms, valid, check=False)
    n = x.size
    empty = np.zeros(0)
    if n < 2:
        return Spectrum(empty, empty, method, n, NAN)
    shortest, bridge = spacing_range(x)
    if not shortest > 0:
        raise ValueError("beat times t_s of the valid beats must be strictly increasing")
    if n < MIN_KNOTS:
        return Spectrum(empty, empty, method, n, bridge)
    x0 = x.item(0)
    size = even_grid_size(x0, x.item(n - 1), fs_hz)
    if size < MIN_KNOTS:
        return Spectrum(empty, empty, method, n, bridge)
    z = resample_even(x, y, x0, size, fs_hz)
    if method == "welch":
        if detrend == "smoothness_priors":
            z = z - smoothness_priors_trend(z, smoothness_lambda)
        return _welch_spectrum(z, fs_hz, segment_s, overlap, n, bridge, nfft)
    if detrend == "smoothness_priors":
        grid = even_grid_s(x0, x.item(n - 1), fs_hz)
        y = y - np.interp(x, grid, smoothness_priors_trend(z, smoothness_lambda))
    f, p = _lomb(x, y - y.mean(), segment_s, overlap)
    return Spectrum(f, p, method, n, bridge)


def _welch_spectrum(
    z: NDArray[np.float64], fs_hz: float, segment_s: float, overlap: float, n_knots: int, bridge: float,
    nfft: int | None = None,
) -> Spectrum:
    """Welch spectrum of the resampled series ``z`` after removing its mean (``z`` is changed)."""
    n = z.size
    z -= np.add.reduce(z) / n
    nperseg = min(n, int(round(segment_s * fs_hz)))
    f, p = welch_psd(z, fs_hz, nperseg, int(nperseg * overlap), nfft)
    return Spectrum(f, p, "welch", n_knots, bridge)


#: Writes ``rfft(x, n_fft)`` into the complex array ``out`` (``n_fft // 2 + 1`` values; ``n_fft``
#: follows from its length and the parity): ``writer(x, 1, out=out)`` with ``x`` of >= ``n_fft``
#: values (the first ``n_fft`` are used) or fewer (zero-padded).
RfftWriter = Callable[..., object]


def _rfft_writers() -> tuple[RfftWriter, RfftWriter] | None:
    """numpy's own pocketfft ufuncs for even and odd lengths (:data:`RfftWriter`): the same transform
    (the same bits) as ``numpy.fft.rfft`` without its Python wrapper (a few µs a call, twice a beat);
    ``None`` when this numpy has no such ufuncs or they disagree with it on a check at import."""
    try:
        pfu = importlib.import_module("numpy.fft._pocketfft_umath")
        even, odd = pfu.rfft_n_even, pfu.rfft_n_odd
        probe = np.cos(np.arange(7.0)) * np.arange(7.0)
        for n in (7, 12, 15, 16):
            out = np.empty(n // 2 + 1, dtype=np.complex128)
            (odd if n & 1 else even)(probe, 1, out=out)
            if not np.array_equal(out, rfft(probe, n)):  # pragma: no cover
                return None
            long_probe = np.concatenate((probe, np.zeros(n)))  # a longer input: its first n values
            (odd if n & 1 else even)(long_probe, 1, out=out)
            if not np.array_equal(out, rfft(probe, n)):  # pragma: no cover
                return None
        return even, odd
    except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover - other numpy
        return None


_RFFT_WRITERS = _rfft_writers()


def _numpy_rfft_writer(n_fft: int) -> RfftWriter:  # pragma: no cover - numpy without the ufuncs
    def write(x: NDArray[np.float64], _fct: int, *, out: NDArray[np.complex128]) -> None:
        out[...] = rfft(x[:n_fft], n_fft)
    return write


def rfft_writer(n_fft: int) -> RfftWriter:
    """The :data:`RfftWriter` of length ``n_fft`` (numpy's pocketfft ufunc called directly, or
    ``numpy.fft.rfft`` on a numpy without it)."""
    if _RFFT_WRITERS is None:  # pragma: no cover - other numpy
        return _numpy_rfft_writer(n_fft)
    return _RFFT_WRITERS[n_fft & 1]


def _rfft_view(x: NDArray[np.float64], n_fft: int) -> NDArray[np.float64]:
    """``rfft(x, n_fft)`` as interleaved (re, im) float64 values (:func:`rfft_writer`)."""
    out = np.empty(n_fft // 2 + 1, dtype=np.complex128)
    rfft_writer(n_fft)(x, 1, out=out)
    return out.view(np.float64)


_NO_MASK = np.ones(1, dtype=bool)
_EMPTY = np.zeros(0)
_EMPTY.setflags(write=False)


class WelchScratch:
    """Reusable buffers of :func:`window_welch_rfft` (knot times and values, the FFT input), so a caller
    that computes a spectrum every beat allocates them once; they grow as needed. ``win`` / ``win_at``:
    the table of scaled Hann windows (:func:`_scaled_hann`) of the segment lengths met so far at rate
    ``win_fs`` (``win_at[m]``: where the window of length ``m`` starts in ``win``, -1 = not yet), filled
    by :meth:`window`; a session meets a few lengths, so it stays small."""

    __slots__ = ("x", "y", "seg", "win", "win_at", "win_fs", "_win_used")

    def __init__(self) -> None:
        self.x: NDArray[np.float64] = np.empty(0)
        self.y: NDArray[np.float64] = np.empty(0)
        self.seg: NDArray[np.float64] = np.empty(0)
        self.win: NDArray[np.float64] = np.empty(0)
        self.win_at: NDArray[np.int64] = np.full(1, -1, dtype=np.int64)
        self.win_fs = math.nan
        self._win_used = 0

    def reserve(self, n_beats: int, n_samples: int, fs_hz: float) -> None:
        """Room for ``n_beats`` knots, ``n_samples`` FFT input values and windows of up to ``n_samples``
        points at ``fs_hz`` (the table restarts when the rate changes)."""
        if self.x.size < n_beats:
            self.x = np.empty(2 * n_beats)
            self.y = np.empty(2 * n_beats)
        if self.seg.size < n_samples:
            self.seg = np.empty(n_samples)
        if fs_hz != self.win_fs or self.win_at.size <= n_samples:
            at = np.full(n_samples + 1, -1, dtype=np.int64)
            if fs_hz == self.win_fs:
                at[:self.win_at.size] = self.win_at
            else:
                self._win_used = 0
            self.win_at = at
            self.win_fs = fs_hz

    def window(self, buf: NDArray[np.float64], m: int) -> None:
        """Multiply ``buf[:m]`` by the scaled Hann window of length ``m`` in place (as
        :func:`biofeedback.hrv._kernels.welch_segment_input` does with the table), adding the window to
        the table (after :func:`~biofeedback.hrv._kernels.welch_segment_input` said ``NO_WINDOW``)."""
        w = _scaled_hann(m, self.win_fs)
        if self.win_at[m] < 0:
            used = self._win_used
            if self.win.size < used + m:
                grown = np.empty(max(2 * self.win.size, used + m))
                grown[:used] = self.win[:used]
                self.win = grown
            self.win[used:used + m] = w
            self.win_at[m] = used
            self._win_used = used + m
        np.multiply(buf[:m], w, out=buf[:m])


def window_welch_rfft(
    t_s: NDArray[np.float64],
    rr_ms: NDArray[np.float64],
    valid: NDArray[np.bool_] | None,
    lo: int,
    hi: int,
    *,
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    nfft: int | None = None,
    scratch: WelchScratch | None = None,
) -> tuple[int, float, NDArray[np.float64] | None, int] | None:
    """The steps of ``power_spectrum(t_s[lo:hi], rr_ms[lo:hi], valid[lo:hi], method="welch",
    detrend="mean", ...)`` up to the FFT of its one Welch segment, for the per-beat engine: knots,
    spline, mean removal, the scaled Hann window and the zero padding in one compiled loop
    (:func:`biofeedback.hrv._kernels.welch_segment_input`), the rfft (``nfft`` as
    :func:`power_spectrum`); no slices or masks.

    ``t_s``, ``rr_ms``, ``valid``: float64 / bool arrays (``valid`` None = every beat valid).
    Returns ``(n_knots, longest_bridge_s, v, n_fft)`` with ``v`` the rfft as interleaved (re, im)
    float64 values (``v`` None: too few knots or samples for a spectrum); ``None`` when the
    resampled series is longer than one Welch segment (then call :func:`power_spectrum`).
    Raises ``ValueError`` as :func:`power_spectrum` for knot times that do not increase.
    """
    sc = scratch if scratch is not None else WelchScratch()
    seg = int(round(segment_s * fs_hz))
    nf = 0 if nfft is None else int(nfft)
    sc.reserve(hi - lo, max(seg, nf), fs_hz)
    status, n_knots, bridge, m, n_fft = welch_segment_input(
        t_s, rr_ms, valid if valid is not None else _NO_MASK, valid is not None, lo, hi, fs_hz, seg, nf,
        sc.x, sc.y, sc.seg, sc.win, sc.win_at)
    if status == NO_WINDOW:
        sc.window(sc.seg, m)
        status = 0
    if status == 0:
        return n_knots, bridge, _rfft_view(sc.seg[:n_fft], n_fft), n_fft
    if status == SEVERAL_SEGMENTS:
        # longer than one segment: welch_psd's general path (its complex products and the
        # batched FFT may round differently in the last bit, so it is not imitated here)
        return None
    if status == 1:
        return n_knots, bridge, None, 0
    if status == -1:
        raise ValueError("beat times t_s of the valid beats must be strictly increasing")
    raise np.linalg.LinAlgError("spline system is singular")  # pragma: no cover - increasing knots


def window_welch_spectrum(
    t_s: NDArray[np.float64],
    rr_ms: NDArray[np.float64],
    valid: NDArray[np.bool_] | None,
    lo: int,
    hi: int,
    *,
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    nfft: int | None = None,
    scratch: WelchScratch | None = None,
) -> Spectrum | None:
    """``power_spectrum(t_s[lo:hi], rr_ms[lo:hi], valid[lo:hi], method="welch", detrend="mean",
    ...)`` bit for bit: :func:`window_welch_rfft`, then |X|² in one compiled loop
    (:func:`biofeedback.hrv._kernels.rfft_power`).

    Returns ``None`` when the resampled series is longer than one Welch segment (then call
    :func:`power_spectrum`). Raises ``ValueError`` as :func:`power_spectrum` for knot times that do
    not increase.
    """
    r = window_welch_rfft(t_s, rr_ms, valid, lo, hi, fs_hz=fs_hz, segment_s=segment_s, nfft=nfft, scratch=scratch)
    if r is None:
        return None
    n_knots, bridge, v, n_fft = r
    if v is None:
        return Spectrum(_EMPTY, _EMPTY, "welch", n_knots, bridge)
    return Spectrum(_rfft_freqs(n_fft, fs_hz), rfft_power(v, n_fft), "welch", n_knots, bridge)


#: The float indices of :class:`FrequencyDomain` in its order: ``(vlf_ms2, lf_ms2, hf_ms2,
#: total_power_ms2, lf_hf, lf_nu, hf_nu, lf_peak_hz, hf_peak_hz)``.
FrequencyValues = tuple[float, float, float, float, float, float, float, float, float]
_NAN_VALUES: FrequencyValues = (NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN)


def window_welch_indices(
    t_s: NDArray[np.float64],
    rr_ms: NDArray[np.float64],
    valid: NDArray[np.bool_] | None,
    lo: int,
    hi: int,
    *,
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    nfft: int | None = None,
    scratch: WelchScratch | None = None,
) -> tuple[FrequencyValues, int, float] | None:
    """``indices_from_spectrum(window_welch_spectrum(...))`` as plain values, bit for bit, for the
    per-beat engine: ``(values, n_knots, longest_bridge_s)``, ``values`` the float fields of
    :class:`FrequencyDomain` in its order (:data:`FrequencyValues`). After the FFT of
    :func:`window_welch_rfft`, |X|², band integrals, peaks, LF/HF and n.u. are one compiled call
    (:func:`biofeedback.hrv._kernels.rfft_frequency_values`). ``None`` as
    :func:`window_welch_spectrum` (several Welch segments: call :func:`power_spectrum`).
    """
    r = window_welch_rfft(t_s, rr_ms, valid, lo, hi, fs_hz=fs_hz, segment_s=segment_s, nfft=nfft, scratch=scratch)
    if r is None:
        return None
    n_knots, bridge, v, n_fft = r
    if v is None or v.size < 4:  # fewer than 2 frequencies: no indices (as indices_from_spectrum)
        return _NAN_VALUES, n_knots, bridge
    df = rfft_grid_step(n_fft, fs_hz)
    if df is None:  # pragma: no cover - rfft grids are uniform
        fd = indices_from_spectrum(Spectrum(_rfft_freqs(n_fft, fs_hz), rfft_power(v, n_fft), "welch", n_knots, bridge))
        return frequency_values_of(fd), n_knots, bridge
    return rfft_frequency_values(v, n_fft, df, HF_BAND_HZ[1], *VLF_BAND_HZ, *LF_BAND_HZ, *HF_BAND_HZ), n_knots, bridge


def frequency_values_of(fd: FrequencyDomain) -> FrequencyValues:
    """The float indices of ``fd`` as :data:`FrequencyValues`."""
    return (fd.vlf_ms2, fd.lf_ms2, fd.hf_ms2, fd.total_power_ms2, fd.lf_hf, fd.lf_nu, fd.hf_nu, fd.lf_peak_hz,
            fd.hf_peak_hz)


def band_power_ms2(spectrum: Spectrum, lo_hz: float, hi_hz: float) -> float:
    r"""Power (ms²) in ``[lo_hz, hi_hz]``: trapezoid rule with the PSD interpolated at the edges.

    :math:`\int_{lo}^{hi} P(f)\,df` where P is the PSD linearly interpolated between grid points; the
    band is clipped to the spectrum's frequency range. ``nan`` for an empty spectrum.

    Examples
    --------
    >>> sp = Spectrum(np.array([0.0, 0.1, 0.2]), np.array([0.0, 10.0, 10.0]), "welch", 4, 1.0)
    >>> round(band_power_ms2(sp, 0.05, 0.15), 12)  # 0.05·(5 + 10)/2 + 0.05·(10 + 10)/2
    0.875
    """
    return _band(spectrum.freq_hz, spectrum.psd_ms2_per_hz, lo_hz, hi_hz)


def _band(f: NDArray[np.float64], p: NDArray[np.float64], lo: float, hi: float) -> float:
    if f.size < 2:
        return NAN
    lo = max(lo, float(f[0]))
    hi = min(hi, float(f[-1]))
    if hi <= lo:
        return 0.0
    i = int(np.searchsorted(f, lo, side="right"))  # first grid point > lo
    j = int(np.searchsorted(f, hi, side="left"))  # first grid point >= hi
    p_lo = p[i - 1] + (p[i] - p[i - 1]) * (lo - f[i - 1]) / (f[i] - f[i - 1]) if i < f.size else p[-1]
    p_hi = p[j - 1] + (p[j] - p[j - 1]) * (hi - f[j - 1]) / (f[j] - f[j - 1]) if j > 0 else p[0]
    if j <= i:  # no grid point strictly inside
        return float(0.5 * (p_lo + p_hi) * (hi - lo))
    fi = f[i:j]
    pi = p[i:j]
    inner = float(np.dot(fi[1:] - fi[:-1], pi[1:] + pi[:-1])) * 0.5
    return float(inner + 0.5 * (p_lo + pi[0]) * (fi[0] - lo) + 0.5 * (pi[-1] + p_hi) * (hi - fi[-1]))


def peak_frequency_hz(spectrum: Spectrum, lo_hz: float, hi_hz: float) -> float:
    """Grid frequency (Hz) of the largest PSD value with ``lo_hz <= f < hi_hz``; ``nan`` if none.

    Examples
    --------
    >>> sp = Spectrum(np.array([0.0, 0.05, 0.1, 0.2]), np.array([9.0, 1.0, 3.0, 2.0]), "welch", 4, 1.0)
    >>> peak_frequency_hz(sp, 0.04, 0.15)
    0.1
    """
    return _peak(spectrum.freq_hz, spectrum.psd_ms2_per_hz, lo_hz, hi_hz)


def _peak(f: NDArray[np.float64], p: NDArray[np.float64], lo: float, hi: float) -> float:
    i = int(np.searchsorted(f, lo, side="left"))
    j = int(np.searchsorted(f, hi, side="left"))
    if j <= i:
        return NAN
    return float(f[i + int(np.argmax(p[i:j]))])


def uniform_grid_step(f: NDArray[np.float64]) -> float | None:
    """``df`` when the grid ``f`` is ``k·df`` from 0 (every spectrum made here), else ``None``: the
    grids on which the compiled band integrals (:mod:`biofeedback.hrv._kernels`) apply.

    Examples
    --------
    >>> uniform_grid_step(np.arange(5) * 0.25), uniform_grid_step(np.array([0.0, 0.1, 0.3]))
    (0.25, None)
    """
    return f.item(1) if _is_uniform_from_zero(f) else None


def _is_uniform_from_zero(f: NDArray[np.float64]) -> bool:
    n = f.size
    if n < 2 or f.item(0) != 0.0:
        return False
    df = f.item(1)
    return df > 0 and abs(f.item(n - 1) - (n - 1) * df) <= 1e-9 * df * n


class _UniformPSD:
    """Band integrals and peaks on a grid ``f_k = k·df`` (Welch and Lomb grids), compiled.

    Same arithmetic as :func:`band_power_ms2` / :func:`peak_frequency_hz` (equal to ~1e-12): the
    trapezoid integral from 0 to ``f_k`` is ``df·(Σ_{i≤k} p_i − (p_0 + p_k)/2)``, plus the partial
    trapezoid up to the edge with the PSD linearly interpolated there. Only frequencies up to
    ``max_hz`` (plus two grid points) are used (:mod:`biofeedback.hrv._kernels`).
    """

    __slots__ = ("df", "p", "max_hz")

    def __init__(self, df: float, p: NDArray[np.float64], max_hz: float) -> None:
        self.df = df
        self.p = p
        self.max_hz = max_hz

    def band(self, lo: float, hi: float) -> float:
        return band_power(self.p, self.df, self.max_hz, lo, hi)

    def peak(self, lo: float, hi: float) -> tuple[float, float]:
        """(frequency, PSD) of the largest PSD value with lo <= f < hi; (nan, nan) if none."""
        return band_peak(self.p, self.df, self.max_hz, lo, hi)


class _GeneralPSD:
    """The same interface as :class:`_UniformPSD` for any increasing grid (numpy path)."""

    __slots__ = ("f", "p")

    def __init__(self, f: NDArray[np.float64], p: NDArray[np.float64]) -> None:
        self.f, self.p = f, p

    def band(self, lo: float, hi: float) -> float:
        return _band(self.f, self.p, lo, hi)

    def peak(self, lo: float, hi: float) -> tuple[float, float]:
        i = int(np.searchsorted(self.f, lo, side="left"))
        j = int(np.searchsorted(self.f, hi, side="left"))
        if j <= i:
            return NAN, NAN
        k = i + int(np.argmax(self.p[i:j]))
        return float(self.f[k]), float(self.p[k])


#: A spectrum's band integrator (:func:`psd_integrator`).
PSDIntegrator = _UniformPSD | _GeneralPSD


def psd_integrator(spectrum: Spectrum, max_hz: float = 0.5) -> PSDIntegrator:
    """An object with ``band(lo, hi) -> ms²`` and ``peak(lo, hi) -> (Hz, ms²/Hz)`` for ``spectrum``.

    Uses the fast scalar path when the grid is ``k·df`` (always, for spectra made here). ``band``
    is :func:`band_power_ms2`; ``peak`` is the largest PSD value with ``lo <= f < hi``.

    Examples
    --------
    >>> sp = Spectrum(np.arange(0, 1.0, 0.01), np.ones(100), "welch", 9, 1.0)
    >>> integ = psd_integrator(sp)
    >>> round(integ.band(0.04, 0.15), 12), integ.peak(0.04, 0.15)[0]
    (0.11, 0.04)
    """
    return psd_integrator_maker(spectrum.freq_hz, max_hz)(spectrum.psd_ms2_per_hz)


def psd_integrator_maker(
    freq_hz: NDArray[np.float64], max_hz: float = 0.5
) -> Callable[[NDArray[np.float64]], PSDIntegrator]:
    """``psd -> psd_integrator(Spectrum(freq_hz, psd, ...), max_hz)`` for many PSDs on one grid
    (the grid is checked once)."""
    f = freq_hz
    if _is_uniform_from_zero(f):
        df = float(f[1])
        return lambda p: _UniformPSD(df, p, max_hz)
    return lambda p: _GeneralPSD(f, p)


def indices_from_spectrum(spectrum: Spectrum) -> FrequencyDomain:
    """The :class:`FrequencyDomain` indices of an already computed spectrum.

    Examples
    --------
    >>> f = np.arange(0, 2.001, 0.01); sp = Spectrum(f, np.where(f < 0.15, 2.0, 1.0), "welch", 9, 1.0)
    >>> fd = indices_from_spectrum(sp)
    >>> round(fd.lf_ms2, 6), round(fd.hf_ms2, 6)  # 0.11·2 − ½·0.01·1 (the ramp 0.14-0.15); 0.25·1
    (0.215, 0.25)
    """
    f = spectrum.freq_hz
    if f.size < 2:
        return FrequencyDomain(
            NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, spectrum.method, spectrum.n_knots, spectrum.longest_bridge_s
        )
    df = uniform_grid_step(f)
    values: FrequencyValues
    if df is not None:  # every spectrum made here: the compiled integrals and ratios in one call
        values = frequency_values(spectrum.psd_ms2_per_hz, df, HF_BAND_HZ[1], *VLF_BAND_HZ, *LF_BAND_HZ, *HF_BAND_HZ)
    else:
        integ = _GeneralPSD(f, spectrum.psd_ms2_per_hz)
        vlf = integ.band(*VLF_BAND_HZ)
        lf = integ.band(*LF_BAND_HZ)
        hf = integ.band(*HF_BAND_HZ)
        total, lf_hf, lf_nu, hf_nu = frequency_ratios(vlf, lf, hf)
        values = (vlf, lf, hf, total, lf_hf, lf_nu, hf_nu, integ.peak(*LF_BAND_HZ)[0], integ.peak(*HF_BAND_HZ)[0])
    return FrequencyDomain(*values, spectrum.method, spectrum.n_knots, spectrum.longest_bridge_s)


def frequency_domain(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    method: Method = "welch",
    fs_hz: float = RESAMPLE_HZ,
    segment_s: float = WELCH_SEGMENT_S,
    overlap: float = WELCH_OVERLAP,
    detrend: Detrend = "mean",
    smoothness_lambda: float = SMOOTHNESS_LAMBDA,
    nfft: int | None = None,
) -> FrequencyDomain:
    """VLF, LF, HF, total power (ms²), LF/HF, LF/HF in n.u., LF and HF peak (Hz) of one window.

    Parameters are those of :func:`power_spectrum` (``nfft``: the engine settings'
    :attr:`~biofeedback.engine.EngineSettings.welch_nfft`); formulas, bands and references in the
    module docstring. All indices are ``nan`` with fewer than 4 valid beats.

    Examples
    --------
    >>> t = np.arange(1, 301) * 1.0                 # 300 beats, 1 s apart
    >>> rr = 1000.0 + 40.0 * np.sin(2 * np.pi * 0.1 * t) + 20.0 * np.sin(2 * np.pi * 0.25 * t)
    >>> fd = frequency_domain(t, rr)
    >>> round(fd.lf_peak_hz, 2), round(fd.hf_peak_hz, 2), round(fd.lf_nu)  # power 40² : 20² = 80 : 20
    (0.1, 0.25, 80)
    """
    return indices_from_spectrum(
        power_spectrum(
            t_s,
            rr_ms,
            valid,
            method=method,
            fs_hz=fs_hz,
            segment_s=segment_s,
            overlap=overlap,
            detrend=detrend,
            smoothness_lambda=smoothness_lambda,
            nfft=nfft,
        )
    )
