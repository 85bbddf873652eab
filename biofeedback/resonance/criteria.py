r"""The resonance-frequency criteria of one stretch of paced breathing (pure functions over arrays).

For the beats of one stretch at (about) one breathing rate, with the pacer's breath onsets known, the
criteria the literature compares across rates (Lehrer, Vaschillo & Vaschillo 2000; Shaffer & Meehan
2020, doi:10.3389/fnins.2020.570400) are:

* **LF peak power and frequency**: the PSD of the stretch (valid beats as knots, not-a-knot spline at
  4 Hz, mean removed, one Hann-windowed Welch segment spanning the stretch, ms²/Hz:
  :func:`biofeedback.hrv.frequency_domain.power_spectrum`), its largest value in 0.04-0.15 Hz
  (``lf_peak_hz``) and the power within ±0.015 Hz of it (``lf_peak_power_ms2``, ms²):
  :func:`biofeedback.hrv.resonance.resonance_from_spectrum`. ``peak_at_rate``: the peak lies within one
  frequency bin (``1 / stretch length``) of the paced rate.
* **HR peak-to-trough** per breath, beats/min: max HR − min HR of the valid beats between consecutive
  pacer onsets (:func:`biofeedback.hrv.resonance.rsa_amplitude`), averaged over the breaths.
* **HR-pacer phase**, degrees: the least-squares fit
  :math:`HR_i = c + a\cos(2\pi p_i) + b\sin(2\pi p_i)` over the valid beats, :math:`p_i \in [0, 1)` the
  pacer phase at the middle of interval i (:math:`t_i - RR_i / 2`) (0 = start of an inhalation, linear in time within each breath). The reference
  is the pacer's own rhythm :math:`-\cos(2\pi p)` (lowest at the start of an inhalation, highest half a
  breath later); with :math:`HR = -A\cos(2\pi p + \varphi)`, :math:`\varphi = \operatorname{atan2}(b, -a)`,
  positive when heart rate leads the pacer. 0° at resonance (Vaschillo et al. 2002).
* **Smoothness**: the share of the HR variance that this one sinusoid at the breathing rate explains,
  :math:`R^2 = 1 - SS_{res}/SS_{tot}` (1 = one smooth peak per breath; noise, ectopic beats or a
  second rhythm lower it), and ``peaks_per_breath``: HR turning points
  (:func:`biofeedback.hrv.resonance.hr_turning_points`, hysteresis half the fitted amplitude) per breath.
* **Coherence**: the HeartMath-style ratio :func:`biofeedback.hrv.coherence.coherence` over the stretch.

Quality: ``artifacts_pct`` (beats the artifact policy removed, %), ``coverage`` (share of the stretch
covered by valid beats). A stretch is ``usable`` when ``artifacts_pct <= 10``, ``coverage >= 0.75``, at
least 3 breaths and 20 valid beats, and ``smoothness >= 0.25`` (the breathing rhythm stands out of the
noise); otherwise ``reason`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from biofeedback.hrv.coherence import coherence
from biofeedback.hrv.constants import MS_PER_MIN
from biofeedback.hrv.frequency_domain import power_spectrum
from biofeedback.hrv.resonance import hr_turning_points, resonance_from_spectrum, rsa_amplitude

__all__ = [
    "MAX_ARTIFACTS_PCT",
    "MIN_COVERAGE",
    "MIN_SMOOTHNESS",
    "RateCriteria",
    "RhythmFit",
    "breath_phase",
    "fit_breathing_rhythm",
    "rate_criteria",
]

NAN = float("nan")
#: Quality limits of a usable stretch (see the module docstring).
MAX_ARTIFACTS_PCT = 10.0
MIN_COVERAGE = 0.75
MIN_SMOOTHNESS = 0.25
MIN_BREATHS = 3
MIN_VALID_BEATS = 20


@dataclass(frozen=True, slots=True)
class RhythmFit:
    """The HR sinusoid at the breathing rate: ``amplitude_bpm`` (half peak-to-trough of the fitted wave,
    beats/min), ``phase_deg`` (HR relative to the pacer, > 0 = HR leads), ``r2`` (share of HR variance)."""

    amplitude_bpm: float
    phase_deg: float
    r2: float


@dataclass(frozen=True, slots=True)
class RateCriteria:
    """The criteria of one stretch at one rate (definitions in the module docstring).

    ``start_s``/``end_s``: the analysed stretch (the caller's time frame), ``n_breaths`` whole breaths.
    """

    rate_bpm: float
    start_s: float
    end_s: float
    n_breaths: int
    lf_peak_power_ms2: float
    lf_peak_hz: float
    peak_at_rate: bool
    peak_trough_bpm: float
    phase_deg: float
    amplitude_bpm: float
    smoothness: float
    peaks_per_breath: float
    coherence: float
    artifacts_pct: float
    coverage: float
    usable: bool
    reason: str | None = None

    def to_json_dict(self) -> dict[str, float | int | bool | str | None]:
        """The criteria as JSON values (``nan`` -> ``None``)."""
        out: dict[str, float | int | bool | str | None] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out


def breath_phase(t_s: ArrayLike, onsets_s: ArrayLike) -> NDArray[np.float64]:
    """Pacer phase in [0, 1) at each time, from the breath onsets (linear within each breath); ``nan``
    before the first onset and from the last one on.

    >>> breath_phase([0.5, 2.0, 4.5, 9.0], [1.0, 3.0, 6.0]).tolist()
    [nan, 0.5, 0.5, nan]
    """
    t = np.asarray(t_s, dtype=np.float64)
    b = np.asarray(onsets_s, dtype=np.float64)
    out = np.full(t.shape, NAN)
    if b.size < 2:
        return out
    k = np.searchsorted(b, t, side="right") - 1
    inside = (k >= 0) & (k < b.size - 1)
    kk = k[inside]
    out[inside] = (t[inside] - b[kk]) / (b[kk + 1] - b[kk])
    return out


def fit_breathing_rhythm(hr_bpm: ArrayLike, phase: ArrayLike) -> RhythmFit:
    """Least-squares HR sinusoid at the pacer's rhythm (formula in the module docstring).

    >>> p = np.linspace(0, 4, 200, endpoint=False) % 1
    >>> f = fit_breathing_rhythm(70 - 5 * np.cos(2 * np.pi * p + np.radians(30)), p)
    >>> round(f.amplitude_bpm, 6), round(f.phase_deg, 6), round(f.r2, 6)
    (5.0, 30.0, 1.0)
    """
    hr = np.asarray(hr_bpm, dtype=np.float64)
    p = np.asarray(phase, dtype=np.float64)
    ok = np.isfinite(hr) & np.isfinite(p)
    hr, p = hr[ok], p[ok]
    if hr.size < 4:
        return RhythmFit(NAN, NAN, NAN)
    x = np.column_stack([np.ones(hr.size), np.cos(2 * np.pi * p), np.sin(2 * np.pi * p)])
    coef, *_ = np.linalg.lstsq(x, hr, rcond=None)
    _, a, b = (float(c) for c in coef)
    resid = hr - x @ coef
    ss_tot = float(np.sum((hr - hr.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else NAN
    return RhythmFit(math.hypot(a, b), math.degrees(math.atan2(b, -a)), r2)


def rate_criteria(
    t_s: ArrayLike,
    rr_ms: ArrayLike,
    valid: ArrayLike,
    onsets_s: ArrayLike,
    rate_bpm: float,
) -> RateCriteria:
    """The criteria of the beats within ``[onsets_s[0], onsets_s[-1])`` paced at ``rate_bpm``.

    Parameters
    ----------
    t_s, rr_ms, valid:
        All beats (s, ms, False = removed by the artifact policy or across a gap); only those in the
        stretch are used.
    onsets_s:
        The pacer's breath onsets of the stretch, increasing, the last one ending the last breath.
    rate_bpm:
        The paced rate of the stretch (breaths/min; for a sliding sweep, the mean rate of its breaths).
    """
    t_all = np.asarray(t_s, dtype=np.float64)
    rr_all = np.asarray(rr_ms, dtype=np.float64)
    v_all = np.asarray(valid, dtype=bool)
    b = np.asarray(onsets_s, dtype=np.float64)
    start, end = float(b[0]), float(b[-1])
    span = end - start
    n_breaths = int(b.size - 1)
    sel = (t_all >= start) & (t_all < end)
    t, rr, v = t_all[sel], rr_all[sel], v_all[sel]
    n = int(t.size)
    artifacts_pct = 100.0 * float(np.count_nonzero(~v)) / n if n else 100.0
    coverage = min(1.0, float(rr[v].sum()) / 1000.0 / span) if n and span > 0 else 0.0
    n_valid = int(np.count_nonzero(v))
    rate_hz = rate_bpm / 60.0

    if n_valid >= 4:
        spectrum = power_spectrum(t, rr, v, segment_s=span)
        res = resonance_from_spectrum(spectrum)
        lf_power, lf_hz = res.peak_power_ms2, res.peak_hz
        coh = coherence(t, rr, v, window_s=span).ratio
        pt = rsa_amplitude(t, rr, v, breath_boundaries_s=b).mean_amplitude_bpm
        hr = MS_PER_MIN / rr[v]
        # The HR of an interval belongs to the middle of the interval (t - RR / 2).
        fit = fit_breathing_rhythm(hr, breath_phase(t[v] - rr[v] / 2000.0, b))
        swing = max(1.0, 0.5 * fit.amplitude_bpm) if math.isfinite(fit.amplitude_bpm) else 1.0
        n_peaks = sum(1 for i, j in _pairs(hr_turning_points(hr, swing)) if hr[i] > hr[j])
        peaks_per_breath = n_peaks / n_breaths if n_breaths else NAN
    else:
        lf_power = lf_hz = coh = pt = peaks_per_breath = NAN
        fit = RhythmFit(NAN, NAN, NAN)
    peak_at_rate = bool(math.isfinite(lf_hz) and span > 0 and abs(lf_hz - rate_hz) <= 1.0 / span + 1e-12)

    reason: str | None = None
    if n_breaths < MIN_BREATHS or n_valid < MIN_VALID_BEATS:
        reason = "too_few_beats"
    elif artifacts_pct > MAX_ARTIFACTS_PCT:
        reason = "artifacts"
    elif coverage < MIN_COVERAGE:
        reason = "signal_lost"
    elif not (fit.r2 >= MIN_SMOOTHNESS):
        reason = "no_breathing_rhythm"
    return RateCriteria(
        rate_bpm=float(rate_bpm),
        start_s=start,
        end_s=end,
        n_breaths=n_breaths,
        lf_peak_power_ms2=lf_power,
        lf_peak_hz=lf_hz,
        peak_at_rate=peak_at_rate,
        peak_trough_bpm=pt,
        phase_deg=fit.phase_deg,
        amplitude_bpm=fit.amplitude_bpm,
        smoothness=fit.r2,
        peaks_per_breath=peaks_per_breath,
        coherence=coh,
        artifacts_pct=artifacts_pct,
        coverage=coverage,
        usable=reason is None,
        reason=reason,
    )


def _pairs(points: list[int]) -> list[tuple[int, int]]:
    """Each turning point with its predecessor (the first is compared with the second)."""
    if len(points) < 2:
        return []
    return [(points[0], points[1])] + [(points[i], points[i - 1]) for i in range(1, len(points))]
