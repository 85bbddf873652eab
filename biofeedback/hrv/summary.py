"""The indices of a stretch of beats: every key of ``biofeedback analyze --json``, in a fixed order.

:func:`summarize` is the one function that computes the indices of a stretch (a whole recording,
a phase of a session, a sub-window of a phase); :func:`summarize_stretch` applies it to the beats
left by the artifact policy (:mod:`biofeedback.hrv.policy`). ``analyze``, ``compare``, ``trends``
and ``report`` call these; the live engine calls the same kernels on its windows with the same
policy (artifacts excluded). It applies the batch kernels to the whole stretch:

* time domain (:func:`biofeedback.hrv.time_domain.time_domain`) over all valid beats, differences
  only between successive valid beats of one run;
* frequency domain (:func:`biofeedback.hrv.frequency_domain.frequency_domain`), Kubios defaults
  (4 Hz not-a-knot spline, mean removed, Welch 300 s Hann segments with 50 % overlap; one segment
  when the recording is shorter);
* ``coherence``: the mean HeartMath-style coherence ratio (:func:`biofeedback.hrv.coherence.coherence`)
  over 64 s windows ending every ``coherence_step_s`` = 5 s (HeartMath updates its score every
  5 s), from the first full 64 s on; ``nan`` for recordings shorter than 64 s;
* ``n_beats`` counts every beat recorded (valid or not); ``duration_s`` is the time from the start of
  the first RR interval to the last beat, ``t_s[-1] - t_s[0] + rr_ms[0]/1000`` (gaps included);
* ``artifacts_pct``: as passed in (the artifact stage's percentage of corrected/removed beats),
  else ``100 · (number of invalid beats) / n_beats`` from ``valid``, else 0;
* then the extended Kubios indices, appended in :data:`biofeedback.hrv.extended.EXTENDED_KEYS`
  order (``nn50`` … ``tinn_ms``; :func:`biofeedback.hrv.extended.extended_indices`, whole recording).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .coherence import CoherenceMethod, coherence_ratios
from .coherence import coherence as coherence_of_last_window
from .constants import COHERENCE_WINDOW_S, RESAMPLE_HZ, SI_BIN_MS, SMOOTHNESS_LAMBDA
from .dfa import DFA_LONG_BEATS, DFA_SHORT_BEATS
from .extended import EXTENDED_KEYS, extended_indices
from .frequency_domain import Detrend, FrequencyDomain, Method, frequency_domain
from .policy import PolicyBeats
from .time_domain import TimeDomain, time_domain

__all__ = ["SUMMARY_KEYS", "Summary", "summarize", "summarize_stretch", "mean_coherence"]

SUMMARY_KEYS: tuple[str, ...] = (
    "n_beats",
    "duration_s",
    "mean_rr_ms",
    "mean_hr_bpm",
    "sdnn_ms",
    "rmssd_ms",
    "ln_rmssd",
    "pnn50_pct",
    "pnn20_pct",
    "sd1_ms",
    "sd2_ms",
    "stress_index",
    "vlf_ms2",
    "lf_ms2",
    "hf_ms2",
    "total_power_ms2",
    "lf_hf",
    "lf_nu",
    "hf_nu",
    "lf_peak_hz",
    "hf_peak_hz",
    "coherence",
    "artifacts_pct",
) + EXTENDED_KEYS
COHERENCE_STEP_S = 5.0
#: The kernels :func:`summarize` runs (all by default; its ``parts``).
PARTS: tuple[str, ...] = ("time", "frequency", "coherence")


@dataclass(frozen=True, slots=True)
class Summary:
    """The indices of one recording; units in the names, formulas in :mod:`biofeedback.hrv`.

    ``stress_index`` is Kubios' square-root form; ``coherence`` the mean coherence ratio
    (dimensionless); ``lf_nu``/``hf_nu`` and ``*_pct`` in percent. ``nan`` = undefined.
    """

    n_beats: int
    duration_s: float
    mean_rr_ms: float
    mean_hr_bpm: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float
    pnn50_pct: float
    pnn20_pct: float
    sd1_ms: float
    sd2_ms: float
    stress_index: float
    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    total_power_ms2: float
    lf_hf: float
    lf_nu: float
    hf_nu: float
    lf_peak_hz: float
    hf_peak_hz: float
    coherence: float
    artifacts_pct: float
    nn50: int
    lf_ar_ms2: float
    hf_ar_ms2: float
    lf_hf_ar: float
    apen: float
    sampen: float
    dfa_alpha1: float
    dfa_alpha2: float
    hrv_triangular_index: float
    tinn_ms: float

    def to_json_dict(self) -> dict[str, float | int | None]:
        """The fields in ``SUMMARY_KEYS`` order; ``nan`` and ``±inf`` become ``None`` (JSON null).

        Examples
        --------
        >>> s = summarize([800.0, 810.0])
        >>> list(s.to_json_dict())[:3], s.to_json_dict()["sdnn_ms"], s.to_json_dict()["lf_ms2"]
        (['n_beats', 'duration_s', 'mean_rr_ms'], 7.0710678118654755, None)
        """
        out: dict[str, float | int | None] = {}
        for key in SUMMARY_KEYS:
            v = getattr(self, key)
            if isinstance(v, float) and not math.isfinite(v):
                out[key] = None
            else:
                out[key] = v
        return out


assert tuple(f.name for f in fields(Summary)) == SUMMARY_KEYS


def mean_coherence(
    t_s: ArrayLike,
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    step_s: float = COHERENCE_STEP_S,
    fs_hz: float = RESAMPLE_HZ,
    method: CoherenceMethod = "fine",
) -> float:
    """Mean coherence ratio over ``window_s`` windows ending every ``step_s`` seconds.

    Windows end at ``t_s[0] - rr_ms[0]/1000 + window_s + k·step_s`` (the first full window, then
    every step) up to the last beat; a window holds the beats with ``end − window_s <= t <= end``.
    Windows without a defined ratio are skipped; ``nan`` if none. ``method``: the spectrum
    sampling of :func:`biofeedback.hrv.coherence.coherence` (``"grid"`` = engine settings version 1).

    Examples
    --------
    >>> t = np.arange(1, 200) * 0.9
    >>> rr = 900.0 + 60.0 * np.sin(2 * np.pi * 0.09375 * t)
    >>> round(mean_coherence(t, rr), 1), round(mean_coherence(t, rr, method="grid"), 1)
    (8.9, 4.3)
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    v = None if valid is None else np.asarray(valid, dtype=bool)
    if t.size < 2:
        return float("nan")
    start = float(t[0] - rr[0] / 1000.0)
    ends = np.arange(start + window_s, float(t[-1]) + 1e-9, step_s)
    if not ends.size:
        return float("nan")
    lo = np.searchsorted(t, ends - window_s, side="left")
    hi = np.searchsorted(t, ends, side="right")
    r = coherence_ratios(t, rr, v, lo, hi, window_s=window_s, fs_hz=fs_hz, method=method)
    total = 0.0
    count = 0
    for x in r[np.isfinite(r)].tolist():  # in window order, as the per-window loop summed them
        total += x
        count += 1
    return total / count if count else float("nan")


@cache
def _nothing() -> tuple[TimeDomain, FrequencyDomain]:
    """The time- and frequency-domain results of no beats (every index NaN): a part left out."""
    empty = np.empty(0)
    return time_domain(empty), frequency_domain(empty, empty)


def summarize(
    rr_ms: ArrayLike,
    t_s: ArrayLike | None = None,
    valid: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
    *,
    artifacts_pct: float | None = None,
    method: Method = "welch",
    detrend: Detrend = "mean",
    si_bin_ms: float = SI_BIN_MS,
    coherence_step_s: float = COHERENCE_STEP_S,
    dfa_short_beats: tuple[int, int] = DFA_SHORT_BEATS,
    dfa_long_beats: tuple[int, int] = DFA_LONG_BEATS,
    fs_hz: float = RESAMPLE_HZ,
    smoothness_lambda: float = SMOOTHNESS_LAMBDA,
    nfft: int | None = None,
    coherence_mode: str = "mean",
    coherence_method: CoherenceMethod = "fine",
    extended: bool = True,
    parts: Collection[str] = PARTS,
) -> Summary:
    """All indices of one recording (see the module docstring for what each key means).

    Parameters
    ----------
    rr_ms:
        RR intervals (ms) of every recorded beat.
    t_s:
        Beat times (s); ``None`` = ``cumsum(rr_ms) / 1000``.
    valid:
        False = removed/artifact beat. ``None`` = all valid.
    breaks:
        True at beat ``i`` = a gap right before it. ``None`` = no gaps.
    artifacts_pct:
        Percentage of beats the artifact stage corrected or removed; default from ``valid``.
    method, detrend:
        Spectrum options of :func:`biofeedback.hrv.frequency_domain.power_spectrum`.
    si_bin_ms:
        Stress-index histogram bin (50 ms).
    coherence_step_s:
        Step between the 64 s coherence windows (5 s).
    dfa_short_beats, dfa_long_beats:
        Box-size ranges (beats, inclusive) of DFA α1 (4-16) and α2 (17-64).
    fs_hz, smoothness_lambda:
        Spline resampling rate and smoothness-priors lambda (:func:`power_spectrum`).
    nfft:
        Welch FFT length (:func:`power_spectrum`): the engine settings'
        :attr:`~biofeedback.engine.EngineSettings.welch_nfft` (``None`` = each segment's own length).
    coherence_mode:
        ``"mean"``: the mean over 64 s windows every ``coherence_step_s`` (whole recordings and
        phases); ``"last"``: the one 64 s window ending at the last beat (sub-windows).
    coherence_method:
        Spectrum sampling of the coherence (``"fine"``; ``"grid"`` = engine settings version 1).
    extended:
        False: skip the extended indices (:mod:`biofeedback.hrv.extended`: NN50, AR spectrum,
        entropies, DFA, geometric), which are then NaN: for callers that show none of them.
    parts:
        Which kernels run (:data:`PARTS`): ``"time"`` (time domain), ``"frequency"`` (spectrum),
        ``"coherence"``; the indices of a part left out are NaN. For a caller that needs a few
        indices of many short windows (``compare``'s sub-windows); the others are unchanged.

    Examples
    --------
    >>> rr = 1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * np.arange(300))
    >>> s = summarize(rr)
    >>> s.n_beats, round(s.duration_s, 9), round(s.lf_peak_hz, 2), s.artifacts_pct
    (300, 300.0, 0.1, 0.0)
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
    v = None if valid is None else np.asarray(valid, dtype=bool)
    n = int(rr.size)
    if artifacts_pct is None:
        artifacts_pct = 0.0 if (v is None or n == 0) else 100.0 * float(np.count_nonzero(~v)) / n
    if coherence_mode not in ("mean", "last"):
        raise ValueError(f"coherence_mode must be 'mean' or 'last', got {coherence_mode!r}")
    td = time_domain(rr, v, breaks, si_bin_ms=si_bin_ms) if "time" in parts else _nothing()[0]
    fd = (frequency_domain(t, rr, v, method=method, detrend=detrend, fs_hz=fs_hz, smoothness_lambda=smoothness_lambda,
                           nfft=nfft)
          if "frequency" in parts else _nothing()[1])
    if n < 2 or "coherence" not in parts:
        coh = float("nan")
    elif coherence_mode == "mean":
        coh = mean_coherence(t, rr, v, step_s=coherence_step_s, fs_hz=fs_hz, method=coherence_method)
    else:
        coh = coherence_of_last_window(t, rr, v, window_s=COHERENCE_WINDOW_S, method=coherence_method).ratio
    duration = float(t[-1] - t[0] + rr[0] / 1000.0) if n else 0.0
    ext = (extended_indices(rr, t, v, breaks, dfa_short_beats=dfa_short_beats, dfa_long_beats=dfa_long_beats)
           if extended else None)
    extended_values: dict[str, Any] = {key: (math.nan if ext is None else getattr(ext, key)) for key in EXTENDED_KEYS}
    return Summary(
        n_beats=n,
        duration_s=duration,
        mean_rr_ms=td.mean_rr_ms,
        mean_hr_bpm=td.mean_hr_bpm,
        sdnn_ms=td.sdnn_ms,
        rmssd_ms=td.rmssd_ms,
        ln_rmssd=td.ln_rmssd,
        pnn50_pct=td.pnn50_pct,
        pnn20_pct=td.pnn20_pct,
        sd1_ms=td.sd1_ms,
        sd2_ms=td.sd2_ms,
        stress_index=td.stress_index,
        vlf_ms2=fd.vlf_ms2,
        lf_ms2=fd.lf_ms2,
        hf_ms2=fd.hf_ms2,
        total_power_ms2=fd.total_power_ms2,
        lf_hf=fd.lf_hf,
        lf_nu=fd.lf_nu,
        hf_nu=fd.hf_nu,
        lf_peak_hz=fd.lf_peak_hz,
        hf_peak_hz=fd.hf_peak_hz,
        coherence=coh,
        artifacts_pct=float(artifacts_pct),
        **extended_values,
    )


def summarize_stretch(beats: PolicyBeats, **options: object) -> Summary:
    """:func:`summarize` of the beats left by the artifact policy (``options``: its keywords).

    ``artifacts_pct`` is the share of raw beats labelled as artifacts.

    Examples
    --------
    >>> from biofeedback.hrv.policy import apply_policy
    >>> rr = 1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * np.arange(300))
    >>> rr[150] -= 350; rr[151] += 350
    >>> excluded = summarize_stretch(apply_policy(rr))
    >>> interpolated = summarize_stretch(apply_policy(rr, correction="interpolate"))
    >>> round(excluded.artifacts_pct, 2), round(excluded.rmssd_ms, 1), round(interpolated.rmssd_ms, 1)
    (0.33, 21.8, 21.9)
    """
    return summarize(beats.rr_ms, beats.t_s, beats.valid, beats.breaks,
                     artifacts_pct=beats.artifacts_pct, **options)  # type: ignore[arg-type]
