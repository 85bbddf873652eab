r"""Resonance frequency and respiratory sinus arrhythmia (RSA) amplitude.

**Resonance.** During slow paced breathing the heart-rate oscillation is largest near the
cardiovascular resonance frequency, about 0.1 Hz (Vaschillo, Lehrer, Rishe & Konstantinov 2002,
Appl Psychophysiol Biofeedback 27:1-27, doi:10.1023/A:1014587304314; Lehrer & Gevirtz 2014,
doi:10.3389/fpsyg.2014.00756). :func:`resonance` reports the dominant frequency of the RR PSD in
0.04-0.15 Hz (the LF band), the PSD there (ms²/Hz), the power of a 0.030 Hz band centred on it
(ms², as for coherence) and the whole LF power (ms²). The PSD is the one of
:func:`biofeedback.hrv.frequency_domain.power_spectrum` on the window the caller passes (the
engine uses 120 s).

**RSA peak-to-trough.** The amplitude of the heart-rate swing within each breath, in beats/min,
:math:`A_k = \max_{i \in k} HR_i - \min_{i \in k} HR_i` with :math:`HR_i = 60000 / RR_i` over the
valid beats of breath k (the "peak-valley" method; Grossman, van Beek & Wientjes 1990,
Psychophysiology 27:702-714, doi:10.1111/j.1469-8986.1990.tb03198.x; Lehrer et al. 2020,
doi:10.1007/s10484-020-09466-z use max − min HR per breath). When the pacer's breath boundaries
are known (times at which each inhalation starts) they define the breaths. Otherwise each HR
oscillation is found from the local extrema of the beat-to-beat HR series with a hysteresis of
``min_swing_bpm`` (a turn counts only after HR moved back by at least that much, so beat noise
does not split oscillations); a cycle runs from one HR trough to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import COHERENCE_PEAK_WIDTH_HZ, MS_PER_MIN, RESAMPLE_HZ, RESONANCE_BAND_HZ
from .frequency_domain import Spectrum, power_spectrum, psd_integrator

__all__ = ["Resonance", "RSA", "resonance", "resonance_from_spectrum", "rsa_amplitude", "hr_turning_points"]

NAN = float("nan")
MIN_SWING_BPM = 1.0


@dataclass(frozen=True, slots=True)
class Resonance:
    """Dominant LF rhythm of one window.

    Attributes
    ----------
    peak_hz: frequency of the largest PSD value in 0.04 ≤ f < 0.15 Hz.
    peak_psd_ms2_per_hz: the PSD there (ms²/Hz).
    peak_power_ms2: power within ±0.015 Hz of the peak (ms²).
    band_power_ms2: power in 0.04-0.15 Hz (ms²).
    """

    peak_hz: float
    peak_psd_ms2_per_hz: float
    peak_power_ms2: float
    band_power_ms2: float


@dataclass(frozen=True, slots=True)
class RSA:
    """RSA amplitude per breath (or per HR oscillation).

    Attributes
    ----------
    start_s, end_s: time span of each cycle (s).
    amplitude_bpm: max HR − min HR of the valid beats in the cycle (beats/min; ``nan`` if the cycle
        holds fewer than 2 valid beats).
    mean_amplitude_bpm: mean of the defined amplitudes (``nan`` if none).
    method: ``"breaths"`` (pacer boundaries) or ``"hr_extrema"``.
    """

    start_s: NDArray[np.float64]
    end_s: NDArray[np.float64]
    amplitude_bpm: NDArray[np.float64]
    mean_amplitude_bpm: float
    method: str


def resonance_from_spectrum(spectrum: Spectrum, band_hz: tuple[float, float] = RESONANCE_BAND_HZ) -> Resonance:
    """Resonance indices of an already computed spectrum.

    Examples
    --------
    >>> f = np.arange(0, 1.0, 0.01); p = np.where(f == 0.1, 50.0, 10.0)
    >>> r = resonance_from_spectrum(Spectrum(f, p, "welch", 100, 1.0))
    >>> r.peak_hz, r.peak_psd_ms2_per_hz, round(r.band_power_ms2, 6)  # 0.11·10 + 0.01·40
    (0.1, 50.0, 1.5)
    """
    if spectrum.freq_hz.size < 2:
        return Resonance(NAN, NAN, NAN, NAN)
    integ = psd_integrator(spectrum, max(band_hz[1], 0.4) + COHERENCE_PEAK_WIDTH_HZ)
    f, p = integ.peak(*band_hz)
    if math.isnan(f):
        return Resonance(NAN, NAN, NAN, NAN)
    half = 0.5 * COHERENCE_PEAK_WIDTH_HZ
    return Resonance(f, p, integ.band(f - half, f + half), integ.band(*band_hz))


def resonance(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    band_hz: tuple[float, float] = RESONANCE_BAND_HZ,
    fs_hz: float = RESAMPLE_HZ,
    nfft: int | None = None,
) -> Resonance:
    """Dominant frequency (Hz) of the RR rhythm in 0.04-0.15 Hz and its power.

    Parameters
    ----------
    t_s, rr_ms, valid:
        Beats of the window (see :func:`biofeedback.hrv.frequency_domain.power_spectrum`).
    band_hz:
        Search band (default LF, 0.04-0.15 Hz).
    fs_hz:
        Resampling rate (4 Hz).
    nfft:
        FFT length of the Welch spectrum (:func:`power_spectrum`; ``None`` = the segment's own
        length; the engine's :attr:`~biofeedback.engine.EngineSettings.welch_nfft`).

    Examples
    --------
    >>> t = np.arange(1, 150) * 0.85
    >>> r = resonance(t, 850.0 + 80.0 * np.sin(2 * np.pi * 0.1 * t))  # breathing at 6/min
    >>> round(r.peak_hz, 2)
    0.1
    """
    return resonance_from_spectrum(power_spectrum(t_s, rr_ms, valid, fs_hz=fs_hz, nfft=nfft), band_hz)


def hr_turning_points(hr_bpm: ArrayLike, min_swing_bpm: float = MIN_SWING_BPM) -> list[int]:
    """Indices of alternating HR troughs and peaks, with hysteresis ``min_swing_bpm``.

    A candidate extremum is confirmed once HR has moved at least ``min_swing_bpm`` back from it
    (a "zigzag" filter). The last candidate, never confirmed, is not returned, nor is the first
    sample (the series edge is not a turn).

    Examples
    --------
    >>> hr_turning_points([60, 65, 70, 69.5, 70.2, 62, 61, 68, 66], 2.0)
    [4, 6, 7]
    """
    hr = np.asarray(hr_bpm, dtype=np.float64).tolist()
    n = len(hr)
    out: list[int] = []
    if n < 2:
        return out
    hi = lo = 0
    direction = 0
    cand = 0
    for i in range(1, n):
        v = hr[i]
        if direction == 0:
            if v > hr[hi]:
                hi = i
            if v < hr[lo]:
                lo = i
            if hr[hi] - hr[lo] >= min_swing_bpm:
                if lo < hi:
                    out.append(lo)
                    direction, cand = 1, hi
                else:
                    out.append(hi)
                    direction, cand = -1, lo
        elif direction == 1:
            if v > hr[cand]:
                cand = i
            elif hr[cand] - v >= min_swing_bpm:
                out.append(cand)
                direction, cand = -1, i
        else:
            if v < hr[cand]:
                cand = i
            elif v - hr[cand] >= min_swing_bpm:
                out.append(cand)
                direction, cand = 1, i
    return [i for i in out if i > 0]


def rsa_amplitude(
    t_s: ArrayLike | None,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    breath_boundaries_s: ArrayLike | None = None,
    min_swing_bpm: float = MIN_SWING_BPM,
) -> RSA:
    """RSA peak-to-trough amplitude (max HR − min HR, beats/min) per breath or per HR oscillation.

    Parameters
    ----------
    t_s, rr_ms, valid:
        Beats (times in s, RR in ms, False = removed beat, ignored).
    breath_boundaries_s:
        Increasing times (s) at which breaths start (e.g. from the pacer); breath k holds the beats
        with ``b[k] <= t < b[k+1]``. ``None``: cycles from HR trough to HR trough instead.
    min_swing_bpm:
        Hysteresis of the turning-point search when no boundaries are given (default 1 beat/min).

    Examples
    --------
    >>> t = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    >>> rr = np.array([1000, 750, 1000, 1000, 800, 1000, 750])  # HR 60, 80, 60, 60, 75, 60, 80
    >>> rsa = rsa_amplitude(t, rr, breath_boundaries_s=[0.0, 3.0, 6.0])
    >>> rsa.amplitude_bpm.tolist(), rsa.mean_amplitude_bpm     # 80 − 60, 75 − 60
    ([20.0, 15.0], 17.5)
    >>> rsa_amplitude(t, rr).amplitude_bpm.tolist()  # troughs at 2.5 s and 5.5 s, peak 75 between
    [15.0]
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
    if t.shape != rr.shape:
        raise ValueError(f"t_s has shape {t.shape}, expected {rr.shape} like rr_ms")
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        t, rr = t[v], rr[v]
    hr = MS_PER_MIN / rr
    if breath_boundaries_s is not None:
        b = np.asarray(breath_boundaries_s, dtype=np.float64)
        if b.size > 1 and not np.all(b[1:] > b[:-1]):
            raise ValueError("breath_boundaries_s must be strictly increasing")
        starts, ends = b[:-1], b[1:]
        amps = np.full(starts.size, NAN)
        lo = np.searchsorted(t, starts, side="left")
        hi = np.searchsorted(t, ends, side="left")
        for k in range(starts.size):
            seg = hr[lo[k] : hi[k]]
            if seg.size >= 2:
                amps[k] = seg.max() - seg.min()
        method = "breaths"
    else:
        tp = hr_turning_points(hr, min_swing_bpm)
        troughs: list[int] = []
        if len(tp) > 1:  # turning points alternate; keep the troughs
            troughs = tp[0 if hr[tp[0]] < hr[tp[1]] else 1 :: 2]
        s_l, e_l, a_l = [], [], []
        for a, c in zip(troughs[:-1], troughs[1:]):
            seg = hr[a : c + 1]
            s_l.append(t[a])
            e_l.append(t[c])
            a_l.append(float(seg.max() - seg.min()))
        starts, ends, amps = np.array(s_l), np.array(e_l), np.array(a_l)
        method = "hr_extrema"
    defined = amps[~np.isnan(amps)]
    mean = float(defined.mean()) if defined.size else NAN
    return RSA(np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64), amps, mean, method)
