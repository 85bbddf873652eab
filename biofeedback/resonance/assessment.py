r"""Find the resonance rate from the beats of a stepped or sliding assessment (pure; no I/O).

:func:`assess` takes the raw beats of the session (times in session seconds, RR in ms, gaps), the
pacer's :class:`~biofeedback.practices.assessment.AssessmentSchedule` and when the pacer started, and
returns an :class:`AssessmentResult`: the criteria per rate, the chosen rate and the runner-up, or
``status="repeat"`` when too little of the assessment is usable. The decision rules, their sources and
where they deviate from them are in ``docs/resonance.md``.

Artifacts: the beats go through the same artifact policy as everything else
(:func:`biofeedback.hrv.artifacts.detect_artifacts`, offline, each run between gaps on its own); removed
beats are not used, and a stretch with too many of them is not usable.

**Stepped** (Shaffer & Meehan 2020). Each step's analysed stretch (after its settling breaths) gets the
criteria of :func:`biofeedback.resonance.criteria.rate_criteria`. Among the usable steps, each gets the
score

.. math::

   S = 2\,\frac{PT}{PT_{max}} + \frac{LF}{LF_{max}} + 3\,\max(0, 1 - |\varphi| / 90°) + \frac{C}{C_{max}} + R^2
       + 0.5\,[\text{peak at rate}]

(PT peak-to-trough, LF peak power, :math:`\varphi` the HR-pacer phase in degrees, C coherence, R² smoothness; maxima over the usable steps): phase synchrony and the peak-to-trough
amplitude weigh most (the first two of Shaffer & Meehan's criteria), the rest break ties. The rate with
the highest score is the resonance rate, the second the runner-up. "Repeat" when fewer than 3 steps
(or fewer than half) are usable, or when even at the chosen rate the breathing rhythm explains less
than half of the HR variance (R² < 0.5: strong noise).

**Sliding** (Fisher & Lehrer 2022). Per breath: HR of the valid beats, detrended with smoothness priors
(λ = 5000 over the beat index, Tarvainen et al. 2002), peak-to-trough per breath as twice the amplitude
of the HR sinusoid fitted to the breath (:func:`~biofeedback.resonance.criteria.fit_breathing_rhythm`;
max − min would grow with the number of beats per breath, i.e. favour slow rates); the
per-breath series against the breath's rate is smoothed with a 7-breath centred moving average, and
the resonance rate is the vertex of a quadratic fitted (least squares, per-breath values) to the breaths
within ±h of the smoothed maximum (h = 0.75 breaths/min, less near the ends of the sweep so that the
window stays symmetric), kept within that range. The maximum is searched only where the smoothing
window is whole (not in the first and last 3 breaths). For the table, the sweep is
cut into 0.25 breaths/min bins (breaths whose rate is within ±0.125 of 6.5, 6.25, ... 4.5) whose
criteria are computed like a step; the runner-up is the bin at least 0.5 breaths/min from the resonance
rate with the highest mean peak-to-trough. "Repeat" when fewer than 60 % of the breaths are usable
(breath quality: no removed beat, at least 4 valid beats; and the bins covering them usable), or when
the bin nearest the maximum has R² < 0.5 (strong noise), as for the stepped protocol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from biofeedback.hrv.artifacts import detect_artifacts
from biofeedback.hrv.constants import MS_PER_MIN
from biofeedback.hrv.frequency_domain import smoothness_priors_trend
from biofeedback.practices.assessment import AssessmentSchedule
from biofeedback.resonance.criteria import RateCriteria, breath_phase, fit_breathing_rhythm, rate_criteria

__all__ = ["AssessmentResult", "SweepCurve", "assess", "choose_stepped", "NAN"]

NAN = float("nan")
Status = Literal["ok", "repeat"]

#: Score weights of the stepped decision (see the module docstring).
WEIGHTS = {"peak_trough": 2.0, "lf_power": 1.0, "phase": 3.0, "coherence": 1.0, "smoothness": 1.0, "peak_at_rate": 0.5}
MIN_USABLE_STEPS = 3
#: The chosen step's breathing rhythm must explain at least this share of its HR variance (R²).
MIN_BEST_SMOOTHNESS = 0.5
#: Sliding analysis parameters.
SLIDING_LAMBDA = 5000.0
SLIDING_SMOOTH_BREATHS = 7
SLIDING_FIT_HALF_WIDTH_BPM = 0.75
SLIDING_BIN_BPM = 0.25
SLIDING_BIN_CENTRES_BPM: tuple[float, ...] = (6.5, 6.25, 6.0, 5.75, 5.5, 5.25, 5.0, 4.75, 4.5)
MIN_USABLE_BREATH_SHARE = 0.6
RUNNER_UP_MIN_DISTANCE_BPM = 0.5


@dataclass(frozen=True, slots=True)
class SweepCurve:
    """The sliding sweep per breath: the paced rate, the peak-to-trough (``nan`` = unusable breath) and
    its smoothed curve, beats/min."""

    rate_bpm: tuple[float, ...]
    peak_trough_bpm: tuple[float, ...]
    smoothed_bpm: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    """Outcome of one assessment.

    status: ``"ok"`` (a rate is named) or ``"repeat"`` (too little usable: repeat the assessment).
    resonance_rate_bpm / runner_up_bpm: breaths/min (``None`` when not determined).
    rates: the criteria per step (stepped) or per 0.25 breaths/min bin of the sweep (sliding).
    scores: the stepped decision score per entry of ``rates`` (``nan`` = not usable); empty for sliding.
    usable_share: share of the steps / breaths that were usable (0-1).
    reason: why a repeat is needed (``"too_few_usable_steps"``, ``"too_few_usable_breaths"``), else ``None``.
    """

    protocol: str
    status: Status
    resonance_rate_bpm: float | None
    runner_up_bpm: float | None
    rates: tuple[RateCriteria, ...]
    scores: tuple[float, ...] = ()
    usable_share: float = 0.0
    reason: str | None = None
    sweep: SweepCurve | None = field(default=None)

    def to_json_dict(self) -> dict[str, object]:
        """The result as JSON values (the ``--json`` contract: ``resonance_rate_bpm``, ``protocol``,
        ``runner_up_bpm``, ``rates`` with ``rate_bpm``, ``lf_peak_power_ms2``, ``lf_peak_hz``,
        ``peak_trough_bpm``, ``phase_deg``, ``coherence`` and more)."""

        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "protocol": self.protocol,
            "status": self.status,
            "resonance_rate_bpm": self.resonance_rate_bpm,
            "runner_up_bpm": self.runner_up_bpm,
            "usable_share": self.usable_share,
            "reason": self.reason,
            "rates": [
                {**r.to_json_dict(), "score": clean(self.scores[i]) if i < len(self.scores) else None}
                for i, r in enumerate(self.rates)
            ],
            "sweep": None
            if self.sweep is None
            else {
                "rate_bpm": list(self.sweep.rate_bpm),
                "peak_trough_bpm": [clean(x) for x in self.sweep.peak_trough_bpm],
                "smoothed_bpm": [clean(x) for x in self.sweep.smoothed_bpm],
            },
        }

    @classmethod
    def from_json_dict(cls, d: dict) -> "AssessmentResult":
        """Read back what :meth:`to_json_dict` wrote (for stored results and reports)."""

        def num(x: object) -> float:
            return NAN if x is None else float(x)  # type: ignore[arg-type]

        names = [f.name for f in fields(RateCriteria)]
        rates = []
        for r in d.get("rates", []):
            kw = {k: r.get(k) for k in names}
            for k in names:
                if k not in ("n_breaths", "peak_at_rate", "usable", "reason"):
                    kw[k] = num(kw[k])
            kw["n_breaths"] = int(kw["n_breaths"] or 0)
            kw["peak_at_rate"] = bool(kw["peak_at_rate"])
            kw["usable"] = bool(kw["usable"])
            rates.append(RateCriteria(**kw))
        sw = d.get("sweep")
        sweep = None
        if sw:
            sweep = SweepCurve(tuple(sw["rate_bpm"]), tuple(num(x) for x in sw["peak_trough_bpm"]),
                               tuple(num(x) for x in sw["smoothed_bpm"]))
        scores = tuple(num(r.get("score")) for r in d.get("rates", [])) if d.get("protocol") == "stepped" else ()
        return cls(d["protocol"], d["status"], d.get("resonance_rate_bpm"), d.get("runner_up_bpm"), tuple(rates),
                   scores, float(d.get("usable_share", 0.0)), d.get("reason"), sweep)


def _valid_mask(t: NDArray[np.float64], rr: NDArray[np.float64], breaks: NDArray[np.bool_]) -> NDArray[np.bool_]:
    if t.size == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(detect_artifacts(rr, t, breaks).valid, dtype=bool)


def choose_stepped(rates: tuple[RateCriteria, ...]) -> tuple[tuple[float, ...], int | None, int | None]:
    """Scores of the stepped decision rule (module docstring), and the indices of the best and the
    runner-up (``None`` when there are not enough usable steps)."""
    usable = [i for i, r in enumerate(rates) if r.usable]
    scores = [NAN] * len(rates)
    if not usable:
        return tuple(scores), None, None

    def rel(values: list[float]) -> list[float]:
        top = max((v for v in values if math.isfinite(v)), default=NAN)
        return [v / top if math.isfinite(v) and top > 0 else 0.0 for v in values]

    pt = rel([rates[i].peak_trough_bpm for i in usable])
    lf = rel([rates[i].lf_peak_power_ms2 for i in usable])
    coh = rel([rates[i].coherence for i in usable])
    w = WEIGHTS
    for j, i in enumerate(usable):
        r = rates[i]
        phase = max(0.0, 1.0 - abs(r.phase_deg) / 90.0) if math.isfinite(r.phase_deg) else 0.0
        smooth = r.smoothness if math.isfinite(r.smoothness) else 0.0
        scores[i] = (w["peak_trough"] * pt[j] + w["lf_power"] * lf[j] + w["phase"] * phase
                     + w["coherence"] * coh[j] + w["smoothness"] * smooth + w["peak_at_rate"] * r.peak_at_rate)
    order = sorted(usable, key=lambda i: -scores[i])
    return tuple(scores), order[0], (order[1] if len(order) > 1 else None)


def assess(
    schedule: AssessmentSchedule,
    t_s: ArrayLike,
    rr_ms: ArrayLike,
    *,
    pacer_start_s: float,
    breaks: ArrayLike | None = None,
) -> AssessmentResult:
    """The resonance rate from the beats of an assessment (rules in the module docstring).

    Parameters
    ----------
    schedule:
        The pacer that was followed.
    t_s, rr_ms:
        Raw beats: times (s since session start) and RR intervals (ms), as recorded.
    pacer_start_s:
        Session time at which the pacer started (pacer time 0).
    breaks:
        True at beat i = a gap (strap drop, contact loss) right before beat i.
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    b = np.zeros(t.size, dtype=bool) if breaks is None else np.asarray(breaks, dtype=bool)
    valid = _valid_mask(t, rr, b)
    if b.any():
        valid = valid & ~b  # an interval spanning a gap is not a beat-to-beat interval
    if schedule.protocol == "stepped":
        return _assess_stepped(schedule, t, rr, valid, pacer_start_s)
    return _assess_sliding(schedule, t, rr, valid, pacer_start_s)


def _assess_stepped(schedule: AssessmentSchedule, t: NDArray[np.float64], rr: NDArray[np.float64],
                    valid: NDArray[np.bool_], p0: float) -> AssessmentResult:
    rates = []
    for k, step in enumerate(schedule.steps):
        onsets = [p0 + br.onset_s for br in schedule.breaths if br.step == k and br.analysed]
        onsets.append(p0 + step.end_s)
        rates.append(rate_criteria(t, rr, valid, onsets, step.rate_bpm))
    rates_t = tuple(rates)
    scores, best, runner = choose_stepped(rates_t)
    n_usable = sum(r.usable for r in rates_t)
    share = n_usable / len(rates_t) if rates_t else 0.0
    if best is None or n_usable < max(MIN_USABLE_STEPS, math.ceil(len(rates_t) / 2)):
        return AssessmentResult("stepped", "repeat", None, None, rates_t, scores, share, "too_few_usable_steps")
    if not rates_t[best].smoothness >= MIN_BEST_SMOOTHNESS:
        return AssessmentResult("stepped", "repeat", None, None, rates_t, scores, share, "weak_breathing_rhythm")
    return AssessmentResult("stepped", "ok", rates_t[best].rate_bpm,
                            None if runner is None else rates_t[runner].rate_bpm, rates_t, scores, share)


def _moving_average(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Centred moving average ignoring ``nan`` (``nan`` where the window holds no value)."""
    half = width // 2
    out = np.full(x.size, NAN)
    for i in range(x.size):
        seg = x[max(0, i - half): i + half + 1]
        seg = seg[np.isfinite(seg)]
        if seg.size:
            out[i] = float(seg.mean())
    return out


def _assess_sliding(schedule: AssessmentSchedule, t: NDArray[np.float64], rr: NDArray[np.float64],
                    valid: NDArray[np.bool_], p0: float) -> AssessmentResult:
    breaths = schedule.breaths
    onsets = np.array([p0 + br.onset_s for br in breaths] + [p0 + schedule.duration_s])
    rate = np.array([br.rate_bpm for br in breaths])
    # Per-breath peak-to-trough of the detrended HR (valid beats only).
    tv, rv = t[valid], rr[valid]
    pt = np.full(len(breaths), NAN)
    if tv.size >= 8:
        hr = MS_PER_MIN / rv
        hr_d = hr - smoothness_priors_trend(hr, SLIDING_LAMBDA) + float(hr.mean())
        phase = breath_phase(tv - rv / 2000.0, onsets)
        k_of = np.searchsorted(onsets, tv, side="right") - 1
        per_breath = np.full(len(breaths), NAN)
        for k in range(len(breaths)):
            sel = k_of == k
            if np.count_nonzero(sel) >= 4:
                per_breath[k] = 2.0 * fit_breathing_rhythm(hr_d[sel], phase[sel]).amplitude_bpm
        # A breath is usable when it lost no beat to the artifact policy and holds >= 4 valid beats.
        n_all = np.diff(np.searchsorted(t, onsets, side="left"))
        n_ok = np.diff(np.searchsorted(tv, onsets, side="left"))
        good = (n_all == n_ok) & (n_ok >= 4)
        pt = np.where(good, per_breath, NAN)
    smoothed = _moving_average(pt, SLIDING_SMOOTH_BREATHS)

    # The table: 0.25 breaths/min bins of the sweep, criteria as for a step.
    rates: list[RateCriteria] = []
    for centre in SLIDING_BIN_CENTRES_BPM:
        idx = np.flatnonzero(np.abs(rate - centre) <= SLIDING_BIN_BPM / 2 + 1e-9)
        if idx.size < 2:
            continue
        bin_onsets = list(onsets[idx[0]: idx[-1] + 2])
        rates.append(rate_criteria(t, rr, valid, bin_onsets, centre))
    rates_t = tuple(rates)
    unusable_bins = [r for r in rates_t if not r.usable]
    for r in unusable_bins:  # a breath inside an unusable stretch does not count either
        inside = (onsets[:-1] >= r.start_s - 1e-9) & (onsets[1:] <= r.end_s + 1e-9)
        pt[inside] = NAN
    smoothed = _moving_average(pt, SLIDING_SMOOTH_BREATHS)
    share = float(np.count_nonzero(np.isfinite(pt))) / pt.size if pt.size else 0.0
    sweep = SweepCurve(tuple(float(x) for x in rate), tuple(float(x) for x in pt), tuple(float(x) for x in smoothed))
    if share < MIN_USABLE_BREATH_SHARE or not np.isfinite(smoothed).any():
        return AssessmentResult("sliding", "repeat", None, None, rates_t, (), share, "too_few_usable_breaths", sweep)

    # The maximum is searched where the smoothing window is whole (not in the first / last 3 breaths).
    half = SLIDING_SMOOTH_BREATHS // 2
    inner = np.full(smoothed.size, NAN)
    inner[half: smoothed.size - half] = smoothed[half: smoothed.size - half]
    if not np.isfinite(inner).any():
        return AssessmentResult("sliding", "repeat", None, None, rates_t, (), share, "too_few_usable_breaths", sweep)
    i_max = int(np.nanargmax(inner))
    nearest = min((r for r in rates_t if r.usable), key=lambda r: abs(r.rate_bpm - float(rate[i_max])), default=None)
    if nearest is None or not nearest.smoothness >= MIN_BEST_SMOOTHNESS:
        return AssessmentResult("sliding", "repeat", None, None, rates_t, (), share, "weak_breathing_rhythm", sweep)
    r_max = float(rate[i_max])
    # A window symmetric about the maximum (a one-sided window would pull the vertex to its side).
    half_width = min(SLIDING_FIT_HALF_WIDTH_BPM, float(rate.max()) - r_max, r_max - float(rate.min()))
    near = (np.abs(rate - r_max) <= half_width + 1e-9) & np.isfinite(pt)
    rf = r_max
    if np.count_nonzero(near) >= 5:
        c2, c1, _ = np.polyfit(rate[near], pt[near], 2)
        if c2 < 0:
            lo, hi = float(rate[near].min()), float(rate[near].max())
            rf = min(hi, max(lo, -c1 / (2 * c2)))
    rf = round(rf, 2)
    far = [r for r in rates_t if r.usable and abs(r.rate_bpm - rf) >= RUNNER_UP_MIN_DISTANCE_BPM - 1e-9
           and math.isfinite(r.peak_trough_bpm)]
    runner = max(far, key=lambda r: r.peak_trough_bpm).rate_bpm if far else None
    return AssessmentResult("sliding", "ok", rf, runner, rates_t, (), share, None, sweep)
