r"""Time-domain and Poincaré HRV indices over one window of beats.

Every function takes RR intervals in milliseconds and the optional masks of
:mod:`biofeedback.hrv.successive` (``valid``: False = removed beat; ``breaks``: True at beat ``i``
= a gap right before it). Statistics of single beats (mean RR, SDNN, HR, the stress index
histogram) use the valid beats; statistics of differences (RMSSD, pNNxx, SD1, SD2) use only
successive pairs of valid beats in the same run. An index that is undefined for too few beats is
``nan``; short data never raises.

The window is whatever the caller passes (the engine passes its sliding window; ``summarize``
the whole recording). See ``docs/indices.md`` for the full table of formulas and references.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels import stress_root, time_domain_row
from .constants import MS_PER_MIN, NN20_MS, NN50_MS, SI_BIN_MS
from .successive import _as_mask, successive_differences_ms, successive_pairs_ms

__all__ = [
    "TimeDomain",
    "time_domain",
    "mean_rr_ms",
    "mean_hr_bpm",
    "sdnn_ms",
    "rmssd_ms",
    "ln_rmssd",
    "nnxx_count",
    "pnnxx_pct",
    "poincare_sd_ms",
    "stress_index",
    "baevsky_stress_index",
    "hr_range_bpm",
    "time_domain_fields",
    "NO_MASK",
]

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class TimeDomain:
    """Time-domain and Poincaré indices of one window (see each function for formula and units).

    Attributes
    ----------
    n_beats: number of valid beats used.
    mean_rr_ms: mean RR (ms).                     mean_hr_bpm: mean of 60000/RR (beats/min).
    sdnn_ms: sample SD of RR, ddof=1 (ms).        rmssd_ms: root mean square of successive differences (ms).
    ln_rmssd: natural log of RMSSD in ms.         pnn50_pct, pnn20_pct: % of successive |ΔRR| > 50 / 20 ms.
    sd1_ms, sd2_ms: Poincaré SDs, ddof=1 (ms).    sd1_sd2: SD1/SD2 (dimensionless).
    stress_index: Kubios convention, sqrt of Baevsky's SI (see :func:`stress_index`).
    hr_range_bpm: max − min of the beat-to-beat HR (beats/min).
    """

    n_beats: int
    mean_rr_ms: float
    mean_hr_bpm: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float
    pnn50_pct: float
    pnn20_pct: float
    sd1_ms: float
    sd2_ms: float
    sd1_sd2: float
    stress_index: float
    hr_range_bpm: float

    def to_dict(self) -> dict[str, float | int]:
        """Field name -> value, in declaration order."""
        return asdict(self)


def _valid_rr(rr_ms: ArrayLike, valid: ArrayLike | None) -> NDArray[np.float64]:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    if valid is None:
        return rr
    v = np.asarray(valid, dtype=bool)
    if v.shape != rr.shape:
        raise ValueError(f"valid has shape {v.shape}, expected {rr.shape} like rr_ms")
    return rr[v]


def mean_rr_ms(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    r"""Mean RR interval of the valid beats, :math:`\overline{RR} = \frac1N\sum RR_i` (ms).

    Reference: Task Force (1996), Circulation 93:1043, doi:10.1161/01.CIR.93.5.1043.

    Examples
    --------
    >>> mean_rr_ms([800, 900, 1000])
    900.0
    """
    rr = _valid_rr(rr_ms, valid)
    return float(rr.mean()) if rr.size else NAN


def mean_hr_bpm(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    r"""Mean heart rate :math:`\frac1N\sum 60000/RR_i` (beats/min) over the valid beats.

    The mean of the beat-to-beat HR, as Kubios HRV reports "Mean HR"; it is slightly larger
    than ``60000 / mean_rr_ms`` (Jensen's inequality). Reference: Tarvainen et al. (2014),
    doi:10.1016/j.cmpb.2013.07.024.

    Examples
    --------
    >>> mean_hr_bpm([1000, 500])  # (60 + 120) / 2
    90.0
    """
    rr = _valid_rr(rr_ms, valid)
    return float((MS_PER_MIN / rr).mean()) if rr.size else NAN


def sdnn_ms(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    r"""SDNN, the sample standard deviation of the valid RR intervals (ddof = 1), in ms.

    :math:`SDNN = \sqrt{\frac{1}{N-1}\sum (RR_i - \overline{RR})^2}`; ``nan`` for N < 2.
    Reference: Task Force (1996), doi:10.1161/01.CIR.93.5.1043.

    Examples
    --------
    >>> sdnn_ms([800, 900, 1000])  # sqrt((100² + 0 + 100²) / 2)
    100.0
    """
    rr = _valid_rr(rr_ms, valid)
    return float(rr.std(ddof=1)) if rr.size >= 2 else NAN


def rmssd_ms(rr_ms: ArrayLike, valid: ArrayLike | None = None, breaks: ArrayLike | None = None) -> float:
    r"""RMSSD, root mean square of successive differences (ms).

    :math:`RMSSD = \sqrt{\frac1M\sum_{k} \Delta RR_k^2}` over the M successive pairs of valid beats
    in one run (:func:`~biofeedback.hrv.successive.successive_differences_ms`); ``nan`` if M = 0.
    Reference: Task Force (1996), doi:10.1161/01.CIR.93.5.1043.

    Examples
    --------
    >>> rmssd_ms([800, 830, 790])  # diffs 30, -40: sqrt((900 + 1600) / 2)
    35.35533905932738
    """
    d = successive_differences_ms(rr_ms, valid, breaks)
    return float(math.sqrt(np.dot(d, d) / d.size)) if d.size else NAN


def ln_rmssd(rr_ms: ArrayLike, valid: ArrayLike | None = None, breaks: ArrayLike | None = None) -> float:
    r"""Natural logarithm of RMSSD expressed in ms, :math:`\ln(RMSSD / 1\,ms)` (dimensionless).

    ``nan`` if RMSSD is undefined, ``-inf`` if RMSSD is 0. Reference: Plews et al. (2013),
    Sports Med 43:773, doi:10.1007/s40279-013-0071-8.

    Examples
    --------
    >>> round(ln_rmssd([800, 830, 790]), 6)
    3.565449
    """
    r = rmssd_ms(rr_ms, valid, breaks)
    if math.isnan(r):
        return NAN
    return math.log(r) if r > 0 else -math.inf


def nnxx_count(
    rr_ms: ArrayLike,
    threshold_ms: float,
    valid: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
) -> int:
    r"""NNxx: the number of successive differences with :math:`|\Delta RR| > xx` ms (strictly).

    Differences only between successive valid beats of one run
    (:func:`~biofeedback.hrv.successive.successive_differences_ms`). NN50: Ewing, Neilson & Travis
    (1984), Br Heart J 52:396, doi:10.1136/hrt.52.4.396; Task Force (1996). A count, no unit;
    window: the series passed in.

    Examples
    --------
    >>> nnxx_count([800, 860, 850, 920], 50.0)  # diffs 60, -10, 70
    2
    >>> nnxx_count([800, 860, 850, 920], 50.0, valid=[True, True, False, True])  # only 60 is a pair
    1
    """
    return _n_over(successive_differences_ms(rr_ms, valid, breaks), threshold_ms)


def _n_over(d: np.ndarray, threshold_ms: float) -> int:
    """How many successive differences exceed the threshold in absolute value (strictly)."""
    return int(np.count_nonzero(np.abs(d) > threshold_ms))


def pnnxx_pct(
    rr_ms: ArrayLike,
    threshold_ms: float,
    valid: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
) -> float:
    r"""pNNxx: percentage of successive differences with :math:`|\Delta RR| > xx` ms (strictly).

    :math:`pNNxx = 100 \cdot NNxx / M`, M = number of successive differences of valid beats
    (not the number of beats). ``nan`` if M = 0. pNN50: Ewing et al. (1984), Br Heart J 52:396,
    doi:10.1136/hrt.52.4.396; pNN20: Mietus et al. (2002), Heart 88:378, doi:10.1136/heart.88.4.378.

    Examples
    --------
    >>> round(pnnxx_pct([800, 860, 850, 880], 50.0), 4)  # diffs 60, -10, 30: 1 of 3 exceeds 50
    33.3333
    >>> round(pnnxx_pct([800, 860, 850, 880], 20.0), 4)  # 60 and 30 exceed 20
    66.6667
    """
    d = successive_differences_ms(rr_ms, valid, breaks)
    if not d.size:
        return NAN
    return float(100.0 * _n_over(d, threshold_ms) / d.size)


def poincare_sd_ms(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, breaks: ArrayLike | None = None
) -> tuple[float, float]:
    r"""Poincaré SD1 and SD2 (ms), sample SDs (ddof = 1) of the rotated coordinates.

    For the pairs :math:`(x_k, y_k) = (RR_i, RR_{i+1})` of successive valid beats in one run,
    :math:`SD1 = \mathrm{sd}\left(\frac{x_k - y_k}{\sqrt2}\right)`, :math:`SD2 =
    \mathrm{sd}\left(\frac{x_k + y_k}{\sqrt2}\right)` with the sample SD (ddof = 1); ``nan`` for fewer
    than two pairs. Reference: Brennan, Palaniswami & Kamen (2001), IEEE TBME 48(11):1342,
    doi:10.1109/10.959330.

    Examples
    --------
    >>> sd1, sd2 = poincare_sd_ms([800, 820, 800, 820])
    >>> round(sd1, 6), round(sd2, 6)  # x-y = -20, 20, -20; x+y = 1620 each time
    (16.329932, 0.0)
    """
    x, y = successive_pairs_ms(rr_ms, valid, breaks)
    if x.size < 2:
        return NAN, NAN
    s = math.sqrt(0.5)
    return float(np.std((x - y) * s, ddof=1)), float(np.std((x + y) * s, ddof=1))


def baevsky_stress_index(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, *, bin_ms: float = SI_BIN_MS
) -> float:
    r"""Baevsky's stress index in Baevsky's own units, :math:`SI = AMo / (2 \cdot Mo \cdot MxDMn)`.

    The valid RR are put into a histogram with bins ``[k·bin_ms, (k+1)·bin_ms)`` (default 50 ms);
    ``Mo`` is the centre of the fullest bin in **seconds** (lowest such bin on a tie), ``AMo`` the
    share of beats in that bin in **percent**, ``MxDMn = max(RR) − min(RR)`` in **seconds**. Units
    are thus %/s²; resting healthy values are about 50-150. ``nan`` for fewer than two beats,
    ``inf`` when all RR are equal. Reference: Baevsky & Chernikova (2017), Cardiometry 10:66,
    doi:10.12710/cardiometry.2017.10.6676.

    Examples
    --------
    >>> # 800, 810, 820 fall in the 800-850 bin (centre 0.825 s, AMo 75 %), 900 alone; MxDMn 0.1 s
    >>> round(baevsky_stress_index([800, 810, 820, 900]), 4)  # 75 / (2 * 0.825 * 0.1)
    454.5455
    """
    rr = _valid_rr(rr_ms, valid)
    if rr.size < 2:
        return NAN
    bins = np.floor(rr / bin_ms).astype(np.int64)
    lo = int(bins.min())
    counts = np.bincount(bins - lo)
    k = int(np.argmax(counts))
    mo_s = (lo + k + 0.5) * bin_ms / 1000.0
    amo_pct = 100.0 * counts[k] / rr.size
    mxdmn_s = float(rr.max() - rr.min()) / 1000.0
    if mxdmn_s == 0.0:
        return math.inf
    return float(amo_pct / (2.0 * mo_s * mxdmn_s))


def stress_index(rr_ms: ArrayLike, valid: ArrayLike | None = None, *, bin_ms: float = SI_BIN_MS) -> float:
    r"""Stress index as Kubios HRV reports it: :math:`\sqrt{SI_{Baevsky}}` (units (%)^½/s).

    This is the square root of :func:`baevsky_stress_index` (50 ms bins by default). Kubios HRV
    takes the square root "to make it normally distributed" and uses it in its SNS index; we return
    the same convention so numbers are comparable with Kubios reports (typical rest values ~7-12).
    Square :func:`stress_index` (or call :func:`baevsky_stress_index`) to get Baevsky's units.
    Reference: Baevsky & Chernikova (2017), doi:10.12710/cardiometry.2017.10.6676; Kubios HRV
    user's guide (stress index).

    Examples
    --------
    >>> round(stress_index([800, 810, 820, 900]), 4)  # sqrt(454.5455)
    21.3201
    """
    si = baevsky_stress_index(rr_ms, valid, bin_ms=bin_ms)
    return math.sqrt(si) if not math.isnan(si) else NAN


def hr_range_bpm(rr_ms: ArrayLike, valid: ArrayLike | None = None) -> float:
    r"""Range of the beat-to-beat heart rate, :math:`\max(60000/RR_i) - \min(60000/RR_i)` (beats/min).

    Computed on the valid beats without smoothing (Kubios' "Max HR − Min HR" smooths HR over
    5 beats first; ours is the per-beat range, larger for noisy data). ``nan`` for no beats.
    Reference: Shaffer & Ginsberg (2017), Front Public Health 5:258, doi:10.3389/fpubh.2017.00258
    ("HR Max − HR Min").

    Examples
    --------
    >>> hr_range_bpm([1000, 750])  # 80 - 60
    20.0
    """
    rr = _valid_rr(rr_ms, valid)
    if not rr.size:
        return NAN
    return float(MS_PER_MIN / rr.min() - MS_PER_MIN / rr.max())


#: The empty mask of :func:`time_domain_fields`: every beat valid / no gaps.
NO_MASK = np.zeros(0, dtype=bool)
MAX_SI_BINS = 1 << 20


def time_domain(
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
    *,
    si_bin_ms: float = SI_BIN_MS,
) -> TimeDomain:
    """All time-domain and Poincaré indices of one window of beats.

    Parameters
    ----------
    rr_ms:
        RR intervals (ms), one per beat.
    valid:
        False = removed/artifact beat (excluded; never paired). ``None`` = all valid.
    breaks:
        True at beat ``i`` = gap right before beat ``i``. ``None`` = no gaps.
    si_bin_ms:
        Histogram bin width of the stress index (default 50 ms).

    Returns
    -------
    TimeDomain
        ``nan`` for the indices that are undefined on this little data.

    Examples
    --------
    >>> td = time_domain([800, 830, 790, 810], valid=[True, True, True, True])
    >>> td.n_beats, td.mean_rr_ms, round(td.rmssd_ms, 3)  # diffs 30, -40, 20
    (4, 807.5, 31.091)
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    n = rr.size
    v = NO_MASK if valid is None else _as_mask(valid, n, "valid", True)
    br = NO_MASK if breaks is None else _as_mask(breaks, n, "breaks", False)
    return TimeDomain(*time_domain_fields(rr, v, br, float(si_bin_ms)))


#: The fields of :class:`TimeDomain` in its order (``n_beats`` first, then the floats).
TimeDomainFields = tuple[int, float, float, float, float, float, float, float, float, float, float, float, float]


def time_domain_fields(
    rr: NDArray[np.float64], valid: NDArray[np.bool_], breaks: NDArray[np.bool_], si_bin_ms: float
) -> TimeDomainFields:
    """The fields of :func:`time_domain` as a tuple (:data:`TimeDomainFields`), for the per-beat
    engine: ``rr`` a float64 array, ``valid`` / ``breaks`` boolean arrays of its length or
    :data:`NO_MASK` (all valid / no gaps); not checked.

    One compiled pass (:func:`biofeedback.hrv._kernels.time_domain_row`, the per-beat engine's too);
    each value equals the corresponding small function above (tests check it to ~1e-12).
    """
    f = time_domain_row(rr, valid, breaks, si_bin_ms, MAX_SI_BINS, NN50_MS, NN20_MS)
    if f[11] == -1.0:  # a histogram of more than MAX_SI_BINS bins (absurd bin width): numpy path
        si = baevsky_stress_index(rr if valid.size != rr.size else rr[valid], bin_ms=si_bin_ms)
        return f[:11] + (stress_root(si), f[12])
    return f
