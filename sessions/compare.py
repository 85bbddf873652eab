r"""Before / after: the indices of a session's phases side by side, and whether a change beats the noise.

:func:`compare_phases` compares baseline rest, practice and recovery rest of one session;
:func:`compare_sessions` compares two sessions phase by phase (B − A). Both use the stored raw
beats only (never the indices shown live), through the batch kernels of :mod:`biofeedback.hrv`.

Per phase
---------
1. **Beats.** Artifact detection (Lipponen & Tarvainen 2019,
   :func:`biofeedback.hrv.artifacts.detect_artifacts`, offline, with the session's stored
   :class:`~biofeedback.engine.EngineSettings` ``artifacts`` parameters) runs once on the *whole*
   session (the classifier's 91-beat windows need context at the phase edges), each run between
   gaps separately. Flagged beats, and the beat after one whose interval its correction would
   rewrite (``ArtifactResult.valid`` False), are then *removed*, as the live engine does: no
   successive difference is formed across them or across a gap, and the spectral kernels bridge
   them with the spline. They are not replaced by the interpolated values of the corrected series,
   because next to each other (a premature beat beside a missed one) the interpolation leaves
   intervals of the wrong length: on a simulated session with 2 % ectopic and 1 % missed beats the
   corrected series gave a recovery RMSSD of 64 ms where the clean beats give 35 ms. A session
   recorded with artifact detection off is analysed raw. The stored beats are never changed. A
   beat belongs to the phase in which it ends (``start_s <= t_s < end_s``; the last phase
   includes its end).
2. **Indices** (units, formulas and references: ``docs/indices.md`` and the kernels' docstrings),
   each over the whole phase:

   - ``mean_hr_bpm`` (beats/min): mean of 60000/RR over valid beats
     (:func:`~biofeedback.hrv.time_domain.time_domain`); minimum 10 s.
   - ``rmssd_ms`` (ms), ``ln_rmssd`` (ln ms): RMSSD over successive pairs of valid beats of one
     run, and its natural log; minimum 30 s.
   - ``sdnn_ms`` (ms): SD of the valid NN intervals; minimum 60 s.
   - ``lf_ms2``, ``hf_ms2`` (ms², absolute): power in 0.04-0.15 Hz and 0.15-0.40 Hz of the 4 Hz
     spline, Welch (or the session's stored method and detrending)
     (:func:`~biofeedback.hrv.frequency_domain.frequency_domain`); minimum 120 s and 60 s.
   - ``lf_hf``: LF/HF; minimum 120 s.
   - ``coherence``: the mean HeartMath-style coherence ratio of 64 s windows every 5 s
     (:func:`~biofeedback.hrv.summary.mean_coherence`); minimum 64 s.
   - ``relaxation`` (0-100): :func:`~biofeedback.hrv.relaxation.relaxation_index` of the phase's
     lnRMSSD, mean HR and coherence against the *baseline phase's* values (the baseline is 50 by
     construction); minimum 64 s.
   - ``artifacts_pct`` (%): 100 · raw beats labelled as artifacts / raw beats; minimum 1 beat.

   The minimum is the data a phase must hold (the sum of its beats' RR intervals, so gaps do not
   count). Below it the value is ``None`` with a reason instead of a number that looks meaningful.
   Derivations: mean HR should average over at least one slow breath (10 s at 6/min) so the
   respiratory swing of HR cancels; RMSSD is valid from about 30 s (ultra-short recordings:
   Munoz et al. 2015, doi:10.1371/journal.pone.0138921; Shaffer & Ginsberg 2017,
   doi:10.3389/fpubh.2017.00258); SDNN grows with the recording length and needs the ~0.1 Hz
   (Mayer, 6/min breathing) oscillation several times over: 60 s; LF's lowest frequency 0.04 Hz
   completes one cycle in 25 s and a spectrum needs several cycles of it with bins inside the band
   (resolution 1/T): Kubios recommends ≥ 2 min for LF and ≥ 1 min for HF (its lowest frequency
   0.15 Hz: 6.7 s a cycle); coherence is defined on 64 s windows (McCraty 2022,
   doi:10.1007/s10484-022-09554-2); the relaxation index uses the phase's coherence, hence 64 s.

Is a change beyond the noise?
-----------------------------
Method: a seeded, deterministic **bootstrap over sub-windows**. Each phase is cut into
consecutive, non-overlapping sub-windows aligned at the phase start, of a length per index
(:data:`SUBWINDOW_S`: 30 s for mean HR, RMSSD, lnRMSSD and artifacts; 60 s for SDNN and HF;
64 s for coherence and relaxation; 120 s for LF and LF/HF: each index's own minimum, or 30 s);
coherence and relaxation windows advance by 32 s (:data:`SUBWINDOW_STEP_S`, half overlap as in
Welch), so a 128 s phase holds three of them. A
sub-window is used when its beats cover at least 80 % of it (gaps, removed beats). The index is
computed on every sub-window; the spread of these values within a phase is the index's
moment-to-moment noise. ``B`` = 2000 times, the sub-windows of each phase are resampled with
replacement and the difference of their means taken; the 2.5th and 97.5th percentiles of these
differences, shifted so that they are centred on the whole-phase difference, give ``ci95``. A
change is ``beyond_noise`` when ``ci95`` excludes 0. Each phase needs at least
:data:`MIN_SUBWINDOWS` = 3 usable sub-windows for a verdict, else ``ci95`` and ``beyond_noise`` are
``None`` with a reason (e.g. a 2-minute baseline holds only one 120 s sub-window, so LF cannot be
judged). The random generator is seeded from a constant and the index, so the same data always
give the same interval.

Limits (what this does not tell):

* Sub-windows are treated as independent. Neighbouring sub-windows are correlated (slow drifts,
  Mayer waves), which makes the interval too narrow; a trend within a phase (the relaxation
  response building up during practice) makes it wider. With 3-5 sub-windows the bootstrap
  underestimates the spread by about ``sqrt((n-1)/n)`` and has few distinct values.
* The interval describes noise within *this* session (is the practice different from this
  baseline?), not day-to-day variation (would it happen again tomorrow?). For that, see
  :mod:`sessions.trends`.
* For indices that depend on the window length (SDNN, LF, LF/HF) the sub-window values are
  smaller or noisier than the whole-phase value; only their spread is used, centred on the
  whole-phase difference, which makes the verdict conservative for them.
* Ten indices are tested at once without correction for multiple comparisons: about one in
  twenty "beyond noise" flags can be chance even when nothing changed.
* Phases of different length are compared as they are (SDNN and LF grow with length).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from biofeedback.errors import InputError
from biofeedback.hrv.quality import Quality, quality_of
from biofeedback.practices.texts import format_number, say

if TYPE_CHECKING:  # pragma: no cover
    from biofeedback.engine import EngineSettings
    from sessions.store import Store

__all__ = [
    "INDEX_KEYS",
    "PHASE_NAMES",
    "MIN_DATA_S",
    "SUBWINDOW_S",
    "SUBWINDOW_STEP_S",
    "MIN_SUBWINDOWS",
    "BOOTSTRAP_RESAMPLES",
    "IndexValue",
    "Change",
    "PhaseBeats",
    "SessionBeats",
    "PhaseIndices",
    "PhaseComparison",
    "SessionComparison",
    "load_session_beats",
    "phase_indices",
    "phase_verdict",
    "compare_phases",
    "compare_sessions",
    "render_phase_comparison",
    "render_session_comparison",
    "bootstrap_difference_ci",
]

INDEX_KEYS: tuple[str, ...] = (
    "mean_hr_bpm",
    "rmssd_ms",
    "ln_rmssd",
    "sdnn_ms",
    "lf_ms2",
    "hf_ms2",
    "lf_hf",
    "coherence",
    "relaxation",
    "artifacts_pct",
)
PHASE_NAMES: tuple[str, ...] = ("baseline", "practice", "recovery")
WHOLE = "whole"  # the pseudo-phase of a session recorded without phases (an import)

@dataclass(frozen=True, slots=True)
class IndexSpec:
    """How one index is shown and judged: label and unit; the data (s, sum of RR intervals) a phase
    must hold for it and why (derivations in the module docstring); its sub-window length (s) for the
    noise estimate."""

    label: str
    unit: str
    min_data_s: float
    why_min: str
    subwindow_s: float
    subwindow_step_s: float | None = None  # None = consecutive, non-overlapping sub-windows


_RMSSD_WHY = "RMSSD is valid from about 30 s of beats"
_LF_WHY = "0.04 Hz takes 25 s a cycle; Kubios recommends >= 2 min"
#: One row per compared index (the single source of the tables below).
INDEX_SPECS: Mapping[str, IndexSpec] = {
    "mean_hr_bpm": IndexSpec("heart rate", "bpm", 10.0,
                             "one slow breath (10 s at 6/min) so the breathing swing of HR averages out", 30.0),
    "rmssd_ms": IndexSpec("RMSSD", "ms", 30.0, _RMSSD_WHY, 30.0),
    "ln_rmssd": IndexSpec("ln RMSSD", "ln ms", 30.0, _RMSSD_WHY, 30.0),
    "sdnn_ms": IndexSpec("SDNN", "ms", 60.0, "SDNN needs the ~0.1 Hz oscillation several times over", 60.0),
    "lf_ms2": IndexSpec("LF power", "ms²", 120.0, f"its lowest frequency {_LF_WHY}", 120.0),
    "hf_ms2": IndexSpec("HF power", "ms²", 60.0, "Kubios recommends >= 1 min for HF", 60.0),
    "lf_hf": IndexSpec("LF/HF", "", 120.0, f"its LF part needs >= 2 min: {_LF_WHY}", 120.0),
    "coherence": IndexSpec("coherence", "", 64.0, "coherence is defined on 64 s windows", 64.0, 32.0),
    "relaxation": IndexSpec("relaxation", "0-100", 64.0,
                            "the relaxation index uses the phase's coherence (64 s windows)", 64.0, 32.0),
    "artifacts_pct": IndexSpec("artifacts", "%", 0.0, "no beats", 30.0),
}
MIN_DATA_S: Mapping[str, float] = {k: v.min_data_s for k, v in INDEX_SPECS.items()}
SUBWINDOW_S: Mapping[str, float] = {k: v.subwindow_s for k, v in INDEX_SPECS.items()}
SUBWINDOW_STEP_S: Mapping[str, float] = {k: v.subwindow_step_s or v.subwindow_s for k, v in INDEX_SPECS.items()}
#: A phase of exactly an index's minimum length holds about one beat less of RR intervals than its
#: length (the first interval ends after the phase began): data within this many seconds of the
#: minimum count as enough (one beat at 40 bpm).
MIN_DATA_SLACK_S = 1.5
LABELS: Mapping[str, tuple[str, str]] = {k: (v.label, v.unit) for k, v in INDEX_SPECS.items()}  # key -> (label, unit)
MIN_SUBWINDOWS = 3
MIN_SUBWINDOW_COVERAGE = 0.8
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20190603  # any constant: the intervals are reproducible, not tuned


def _clean(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class IndexValue:
    """One index of one phase: ``value``, or ``None`` and the ``reason`` why there is none."""

    value: float | None
    reason: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {"value": _clean(self.value), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Change:
    """The change of one index from phase (or session) A to B.

    ``abs`` = B − A in the index's unit; ``rel_pct`` = 100·(B − A)/|A| (``None`` for ``ln_rmssd``,
    already a log ratio, and when A is 0); ``ci95`` = bootstrap 95 % interval of B − A over
    sub-windows; ``beyond_noise`` = ``ci95`` excludes 0. ``None`` values carry a ``reason``.
    ``n_subwindows`` = usable sub-windows in A and B.
    """

    abs: float | None
    rel_pct: float | None
    ci95: tuple[float, float] | None
    beyond_noise: bool | None
    reason: str | None = None
    n_subwindows: tuple[int, int] = (0, 0)

    @property
    def verdict(self) -> str:
        """``"higher (beyond noise)"``, ``"lower (beyond noise)"``, ``"no clear change"``, ``"not judged"``
        or ``"not available"``."""
        if self.abs is None:
            return "not available"
        if self.beyond_noise is None:
            return "not judged"
        if self.beyond_noise:
            return ("higher" if self.abs > 0 else "lower") + " (beyond noise)"
        return "no clear change"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "abs": _clean(self.abs),
            "rel_pct": _clean(self.rel_pct),
            "ci95": None if self.ci95 is None else [_clean(self.ci95[0]), _clean(self.ci95[1])],
            "beyond_noise": self.beyond_noise,
            "verdict": self.verdict,
            "reason": self.reason,
            "n_subwindows": list(self.n_subwindows),
        }


# ---------------------------------------------------------------------------------------------
# Beats of a session, corrected and split by phase.


@dataclass(frozen=True, eq=False)
class PhaseBeats:
    """The stored beats of one phase: times ``t_s``, raw intervals ``rr_ms``, the offline detector's
    ``labels`` and ``valid`` flags (False = the beat is an artifact, or its interval would be
    rewritten by the correction of the beat before it) and ``breaks`` (True = a gap right before
    that beat). ``end_s`` is the stored phase end, or the last beat for a phase never closed."""

    name: str
    start_s: float
    end_s: float
    t_s: np.ndarray
    rr_ms: np.ndarray
    valid: np.ndarray
    breaks: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_beats(self) -> int:
        return int(self.rr_ms.size)

    @property
    def n_artifacts(self) -> int:
        return sum(1 for lab in self.labels if lab != "normal")

    @property
    def data_s(self) -> float:
        """Seconds of data: the sum of the RR intervals that end in this phase (gaps excluded)."""
        return float(self.rr_ms.sum()) / 1000.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def select(self, lo_s: float, hi_s: float) -> "PhaseBeats":
        """The beats with ``lo_s <= t_s < hi_s`` (a sub-window)."""
        sel = (self.t_s >= lo_s) & (self.t_s < hi_s)
        return PhaseBeats(self.name, lo_s, hi_s, self.t_s[sel], self.rr_ms[sel], self.valid[sel], self.breaks[sel],
                          tuple(lab for lab, s in zip(self.labels, sel.tolist()) if s))


@dataclass(frozen=True, eq=False)
class SessionBeats:
    """A session's beats, classified once, split by phase (or one ``"whole"`` pseudo-phase)."""

    session_id: str
    start_wall: str
    settings: EngineSettings
    phases: tuple[PhaseBeats, ...]
    has_phases: bool
    #: every beat's label and validity under the artifact policy (phases may not cover every beat)
    labels: tuple[str, ...] = ()
    valid: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))

    def phase(self, name: str) -> PhaseBeats | None:
        for p in self.phases:
            if p.name == name:
                return p
        return None


def _engine_settings(info: Any) -> EngineSettings:
    from biofeedback.engine import EngineSettings

    if info.engine_settings is None:
        return EngineSettings()
    try:
        return EngineSettings.from_dict(info.engine_settings)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"session {info.id}: its stored engine settings cannot be read ({exc})") from exc


def load_session_beats(store: Store, session_id: str) -> SessionBeats:
    """Read a session's raw beats, gaps and phases; classify artifacts once (offline); split by phase."""
    from biofeedback.hrv.policy import apply_policy

    info = store.get_session(session_id)
    settings = _engine_settings(info)
    beats = store.beats(session_id)
    n = len(beats)
    t = np.array([b.t_s for b in beats], dtype=np.float64)
    rr = np.array([b.rr_ms for b in beats], dtype=np.float64)
    breaks = np.zeros(n, dtype=bool)
    for g in store.gaps(session_id):
        if 0 < g.next_seq < n:
            breaks[g.next_seq] = True
    # the one artifact policy (biofeedback.hrv.policy): flagged beats excluded, raw beats kept
    pol = apply_policy(rr, t, breaks, correction="exclude", detection=settings.artifact_detection,
                       settings=settings.artifacts, mode="offline")
    labels, valid = pol.labels, pol.valid

    stored = store.phases(session_id)
    last_t = float(t[-1]) if n else 0.0
    spans: list[tuple[str, float, float]] = []
    for p in stored:
        end = p.end_s if p.end_s is not None else max(last_t, p.start_s)
        spans.append((p.name, float(p.start_s), float(end)))
    has_phases = bool(spans)
    if not has_phases:
        first = float(t[0] - rr[0] / 1000.0) if n else 0.0
        spans = [(WHOLE, first, last_t)]
    phases = []
    for i, (name, start, end) in enumerate(spans):
        last = i == len(spans) - 1
        sel = (t >= start) & ((t <= end) if last else (t < end))
        phases.append(PhaseBeats(name, start, end, t[sel].copy(), rr[sel].copy(), valid[sel].copy(), breaks[sel].copy(),
                                 tuple(lab for lab, s in zip(labels, sel.tolist()) if s)))
    return SessionBeats(session_id, info.start_wall, settings, tuple(phases), has_phases, labels, valid)


# ---------------------------------------------------------------------------------------------
# Indices of a phase and of its sub-windows.


@dataclass(frozen=True)
class PhaseIndices:
    """The indices of one phase (``indices[key]``) and, per index, its sub-window values."""

    name: str
    start_s: float
    end_s: float
    duration_s: float
    data_s: float
    n_beats: int
    n_artifacts: int
    indices: Mapping[str, IndexValue]
    subwindows: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    quality: Quality | None = None

    def value(self, key: str) -> float | None:
        return self.indices[key].value

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": self.duration_s,
            "data_s": self.data_s,
            "n_beats": self.n_beats,
            "n_artifacts": self.n_artifacts,
            "indices": {k: self.indices[k].to_json_dict() for k in INDEX_KEYS},
            "quality": None if self.quality is None else self.quality.to_json_dict(),
        }


def _baseline_of(p: PhaseIndices | None):
    """The :class:`~biofeedback.hrv.relaxation.Baseline` of a baseline phase's indices, or None."""
    from biofeedback.hrv.relaxation import Baseline

    if p is None:
        return None
    ln, hr = p.value("ln_rmssd"), p.value("mean_hr_bpm")
    if ln is None or hr is None:
        return None
    coh = p.value("coherence")
    return Baseline(ln_rmssd=ln, mean_hr_bpm=hr, coherence=math.nan if coh is None else coh)


def _indices_of(p: PhaseBeats, settings: EngineSettings, baseline: Any, *, whole: bool) -> dict[str, float]:
    """Every index of one stretch of beats (NaN = undefined); artifacts excluded by ``p.valid``.

    The indices come from :func:`biofeedback.hrv.summary.summarize`, the one function for the
    indices of a stretch (``analyze --json`` of the same beats gives the same values)."""
    from biofeedback.hrv.relaxation import relaxation_index
    from biofeedback.hrv.summary import summarize

    sm = summarize(
        p.rr_ms, p.t_s, p.valid, p.breaks,
        artifacts_pct=100.0 * p.n_artifacts / p.n_beats if p.n_beats else math.nan,
        method=settings.method, detrend=settings.detrend,  # type: ignore[arg-type]
        si_bin_ms=settings.si_bin_ms, fs_hz=settings.fs_hz, smoothness_lambda=settings.smoothness_lambda,
        coherence_mode="mean" if whole else "last", coherence_method=settings.coherence_method,
        extended=False,  # the comparison shows none of the extended (Kubios report) indices
    )
    coh = sm.coherence if p.n_beats >= 4 else math.nan
    relax = math.nan
    if baseline is not None:
        relax = relaxation_index(sm.ln_rmssd, sm.mean_hr_bpm, coh, baseline)
    values = {key: getattr(sm, key) for key in INDEX_KEYS if key not in ("coherence", "relaxation")}
    return {**values, "coherence": coh, "relaxation": relax}


def _subwindow_values(p: PhaseBeats, key: str, settings: EngineSettings, baseline: Any) -> tuple[float, ...]:
    """The index ``key`` on each usable sub-window of the phase (see the module docstring)."""
    w = SUBWINDOW_S[key]
    step = SUBWINDOW_STEP_S[key]
    out: list[float] = []
    k = 0
    while p.start_s + k * step + w <= p.end_s + 1e-9:
        sub = p.select(p.start_s + k * step, p.start_s + k * step + w)
        k += 1
        if float(sub.rr_ms[sub.valid].sum()) / 1000.0 < MIN_SUBWINDOW_COVERAGE * w:
            continue
        v = _indices_of(sub, settings, baseline, whole=False)[key]
        if math.isfinite(v):
            out.append(float(v))
    return tuple(out)


def phase_indices(p: PhaseBeats, settings: EngineSettings, baseline: Any = None, *,
                  subwindows: bool = True, baseline_reason: str | None = None) -> PhaseIndices:
    """The indices of one phase (``baseline``: the relaxation index's reference, or None).

    An index is ``None`` with a reason when the phase holds less data than :data:`MIN_DATA_S`
    says, when the kernel finds it undefined, or (relaxation) when there is no baseline.
    """
    values = _indices_of(p, settings, baseline, whole=True)
    data_s = p.data_s
    indices: dict[str, IndexValue] = {}
    for key in INDEX_KEYS:
        label = LABELS[key][0]
        need = MIN_DATA_S[key]
        if p.n_beats == 0:
            indices[key] = IndexValue(None, "no beats in this phase")
        elif data_s < need - MIN_DATA_SLACK_S:
            shown = math.floor(data_s * 10.0) / 10.0  # never "has 120.0 s" for 119.95 s
            indices[key] = IndexValue(
                None, f"too short: {label} needs >= {need:g} s of beats ({INDEX_SPECS[key].why_min}); this phase has {shown:.1f} s"
            )
        elif key == "relaxation" and baseline is None:
            indices[key] = IndexValue(None, baseline_reason or "no baseline to relate to")
        elif not math.isfinite(values[key]):
            indices[key] = IndexValue(None, f"undefined: too few valid beats for {label}")
        else:
            indices[key] = IndexValue(float(values[key]))
    subs: dict[str, tuple[float, ...]] = {}
    if subwindows:
        for key in INDEX_KEYS:
            if indices[key].value is not None:
                subs[key] = _subwindow_values(p, key, settings, baseline)
    return PhaseIndices(
        name=p.name,
        start_s=p.start_s,
        end_s=p.end_s,
        duration_s=p.duration_s,
        data_s=data_s,
        n_beats=p.n_beats,
        n_artifacts=p.n_artifacts,
        indices=indices,
        subwindows=subs,
        quality=quality_of(p.t_s, p.rr_ms, p.valid, p.n_artifacts),
    )


# ---------------------------------------------------------------------------------------------
# The noise verdict.


def bootstrap_difference_ci(
    a: Sequence[float], b: Sequence[float], *, seed: Sequence[int] = (),
    n_resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Percentile bootstrap of ``mean(b) − mean(a)``: ``(lo, hi, observed)``.

    ``a`` and ``b`` (sub-window values) are resampled independently with replacement
    ``n_resamples`` times; ``lo``/``hi`` are the ``(1 ± confidence)/2`` quantiles of the resampled
    differences, ``observed`` the difference of the sample means. Deterministic: the generator is
    PCG64 seeded with ``[BOOTSTRAP_SEED, *seed]``.

    Examples
    --------
    >>> lo, hi, d = bootstrap_difference_ci([1.0, 1.1, 0.9, 1.0], [2.0, 2.1, 1.9, 2.0])
    >>> round(d, 6), lo > 0
    (1.0, True)
    """
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.size < 1 or xb.size < 1:
        raise ValueError("need at least one value on each side")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([BOOTSTRAP_SEED, *seed])))
    ia = rng.integers(0, xa.size, size=(n_resamples, xa.size))
    ib = rng.integers(0, xb.size, size=(n_resamples, xb.size))
    d = xb[ib].mean(axis=1) - xa[ia].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
    return float(lo), float(hi), float(xb.mean() - xa.mean())


def _change(a: PhaseIndices, b: PhaseIndices, key: str, seed: Sequence[int], a_name: str) -> Change:
    va, vb = a.value(key), b.value(key)
    if va is None or vb is None:
        which = a_name if va is None else b.name
        reason = (a.indices[key].reason if va is None else b.indices[key].reason) or "not available"
        return Change(None, None, None, None, f"{which}: {reason}")
    d = vb - va
    rel = None if (key == "ln_rmssd" or va == 0) else 100.0 * d / abs(va)
    sa, sb = a.subwindows.get(key, ()), b.subwindows.get(key, ())
    counts = (len(sa), len(sb))
    if min(counts) < MIN_SUBWINDOWS:
        w = SUBWINDOW_S[key]
        return Change(
            d, rel, None, None,
            f"not judged: needs >= {MIN_SUBWINDOWS} usable {w:g} s sub-windows in each phase "
            f"({a_name} has {counts[0]}, {b.name} has {counts[1]})",
            counts,
        )
    lo, hi, observed = bootstrap_difference_ci(sa, sb, seed=seed)
    ci = (d + lo - observed, d + hi - observed)
    beyond = bool(ci[0] > 0 or ci[1] < 0)
    return Change(d, rel, ci, beyond, None, counts)


def _changes(a: PhaseIndices, b: PhaseIndices, seed_base: int, a_name: str | None = None) -> dict[str, Change]:
    return {
        key: _change(a, b, key, (seed_base, i), a_name or a.name) for i, key in enumerate(INDEX_KEYS)
    }


def _noise_method() -> dict[str, Any]:
    return {
        "artifacts": "Lipponen & Tarvainen 2019 offline detection on the whole session; flagged beats removed",
        "noise": "bootstrap of the difference of sub-window means, centred on the whole-phase difference",
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "confidence": CONFIDENCE,
        "seed": BOOTSTRAP_SEED,
        "min_subwindows": MIN_SUBWINDOWS,
        "min_subwindow_coverage": MIN_SUBWINDOW_COVERAGE,
        "subwindow_s": dict(SUBWINDOW_S),
        "subwindow_step_s": dict(SUBWINDOW_STEP_S),
        "min_data_s": dict(MIN_DATA_S),
    }


# ---------------------------------------------------------------------------------------------
# One session: baseline vs practice vs recovery.


@dataclass(frozen=True)
class PhaseComparison:
    """Baseline vs practice vs recovery of one session (see the module docstring).

    ``phases`` in recorded order; ``changes[phase][key]`` is the change from the baseline phase
    for every other phase. ``note`` says why there is nothing to compare, when so.
    """

    session_id: str
    start_wall: str
    phases: tuple[PhaseIndices, ...]
    changes: Mapping[str, Mapping[str, Change]]
    note: str | None = None

    def phase(self, name: str) -> PhaseIndices | None:
        for p in self.phases:
            if p.name == name:
                return p
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """The documented structure (``docs/comparison.md``)::

            {"session_id": ..., "start_wall": ..., "note": null,
             "phases": {"baseline": {"start_s", "end_s", "duration_s", "data_s", "n_beats", "n_artifacts", "quality",
                                     "indices": {"mean_hr_bpm": {"value": 66.1, "reason": null}, ...}}, ...},
             "changes": {"practice": {"mean_hr_bpm": {"abs", "rel_pct", "ci95": [lo, hi], "beyond_noise",
                                                      "verdict", "reason", "n_subwindows": [na, nb]}, ...},
                         "recovery": {...}},
             "method": {...}}
        """
        return {
            "session_id": self.session_id,
            "start_wall": self.start_wall,
            "note": self.note,
            "phases": {p.name: p.to_json_dict() for p in self.phases},
            "changes": {
                name: {k: ch[k].to_json_dict() for k in INDEX_KEYS} for name, ch in self.changes.items()
            },
            "method": _noise_method(),
        }


def baseline_refusal(p: PhaseBeats) -> str | None:
    """Why a baseline phase is too poor to be the relaxation index's reference (``None`` if fine): the
    rule of :mod:`biofeedback.hrv.quality` (>= 60 s of valid beats, >= 80 % valid), as live."""
    from biofeedback.hrv.quality import baseline_problem

    valid_pct = 100.0 * float(p.valid.mean()) if p.n_beats else 0.0
    return baseline_problem(float(p.rr_ms[p.valid].sum()) / 1000.0, valid_pct)


def _session_indices(beats: SessionBeats, subwindows: bool = True) -> list[PhaseIndices]:
    base_beats = beats.phase("baseline")
    out: list[PhaseIndices] = []
    baseline = None
    reason = "no baseline phase in this session to relate to" if beats.has_phases else (
        "no phases in this session (an import): no baseline to relate to")
    if base_beats is not None:
        # First the baseline without relaxation, to get its reference values.
        first = phase_indices(base_beats, beats.settings, None, subwindows=False)
        baseline = _baseline_of(first)
        refused = baseline_refusal(base_beats)
        if baseline is None:
            reason = "the baseline phase has no lnRMSSD or heart rate to relate to"
        elif refused is not None:
            baseline, reason = None, refused
    for p in beats.phases:
        # sub-windows feed the noise verdict of changes, which a session without phases never has
        out.append(phase_indices(p, beats.settings, baseline, baseline_reason=reason, subwindows=subwindows and beats.has_phases))
    return out


def compare_phases(store: Store, session_id: str) -> PhaseComparison:
    """Compare the baseline, practice and recovery phases of one stored session.

    Every phase's indices come from its stored raw beats (artifact-corrected); each phase after the
    baseline gets the change from the baseline with a bootstrap 95 % interval and a verdict. A
    session without phases (an import) gives its whole recording as the phase ``"whole"`` and no
    changes; a session without a baseline phase gives no changes (``note`` says why).
    """
    beats = load_session_beats(store, session_id)
    # Sub-windows only serve the noise verdict of a change from the baseline: a session without a
    # baseline phase (an import of 22 h) skips them (thousands of spectra otherwise).
    phases = _session_indices(beats, subwindows=beats.phase("baseline") is not None)
    base = next((p for p in phases if p.name == "baseline"), None)
    changes: dict[str, dict[str, Change]] = {}
    note = None
    if not beats.has_phases:
        note = "this session has no phases (an import): nothing to compare within it"
    elif base is None:
        note = "this session has no baseline phase: nothing to compare against"
    else:
        for p in phases:
            if p.name != "baseline":
                changes[p.name] = _changes(base, p, _phase_seed(p.name))
    return PhaseComparison(session_id, beats.start_wall, tuple(phases), changes, note)


def _phase_seed(name: str) -> int:
    return (PHASE_NAMES + (WHOLE,)).index(name) + 1 if name in PHASE_NAMES + (WHOLE,) else 99


# ---------------------------------------------------------------------------------------------
# Two sessions side by side.


@dataclass(frozen=True)
class SessionComparison:
    """Sessions A and B phase by phase: ``a[phase]``, ``b[phase]`` and ``changes[phase]`` (B − A)."""

    session_a: str
    session_b: str
    start_wall_a: str
    start_wall_b: str
    phase_names: tuple[str, ...]
    a: Mapping[str, PhaseIndices]
    b: Mapping[str, PhaseIndices]
    changes: Mapping[str, Mapping[str, Change]]
    notes: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """``{"session_a", "session_b", "start_wall_a", "start_wall_b", "notes": [...],
        "phases": {phase: {"a": <phase>, "b": <phase>, "changes": {key: <change B − A>}}}, "method"}``
        with ``<phase>`` and ``<change>`` as in :meth:`PhaseComparison.to_json_dict`."""
        return {
            "session_a": self.session_a,
            "session_b": self.session_b,
            "start_wall_a": self.start_wall_a,
            "start_wall_b": self.start_wall_b,
            "notes": list(self.notes),
            "phases": {
                name: {
                    "a": self.a[name].to_json_dict(),
                    "b": self.b[name].to_json_dict(),
                    "changes": {k: self.changes[name][k].to_json_dict() for k in INDEX_KEYS},
                }
                for name in self.phase_names
            },
            "method": _noise_method(),
        }


def compare_sessions(store: Store, id_a: str, id_b: str) -> SessionComparison:
    """Compare two stored sessions phase by phase: the same indices, and B − A with its noise verdict.

    Phases present in both sessions are compared; when either session has no phases (an import)
    the whole recordings are compared as the phase ``"whole"``. The relaxation index of each
    session is relative to its own baseline.
    """
    ba = load_session_beats(store, id_a)
    bb = load_session_beats(store, id_b)
    notes: list[str] = []
    if ba.has_phases and bb.has_phases:
        pa = {p.name: p for p in _session_indices(ba)}
        pb = {p.name: p for p in _session_indices(bb)}
    else:
        which = [s.session_id for s in (ba, bb) if not s.has_phases]
        notes.append(f"no phases in {', '.join(which)}: the whole recordings are compared")
        pa = {WHOLE: _whole(ba)}
        pb = {WHOLE: _whole(bb)}
    names = tuple(n for n in (*PHASE_NAMES, WHOLE) if n in pa and n in pb)
    for n in sorted(set(pa) ^ set(pb)):
        notes.append(f"phase {n} is only in session {id_a if n in pa else id_b}: not compared")
    changes = {n: _changes(pa[n], pb[n], _phase_seed(n) + 10, a_name=n) for n in names}
    return SessionComparison(id_a, id_b, ba.start_wall, bb.start_wall, names,
                             {n: pa[n] for n in names}, {n: pb[n] for n in names}, changes, tuple(notes))


def _whole(beats: SessionBeats) -> PhaseIndices:
    """A session as one stretch: its phases' beats joined (a gap-free session stays gap-free)."""
    if not beats.has_phases:
        return phase_indices(beats.phases[0], beats.settings, None,
                             baseline_reason="compared as a whole recording: no baseline")
    ps = beats.phases
    joined = PhaseBeats(
        name=WHOLE,
        start_s=ps[0].start_s,
        end_s=ps[-1].end_s,
        t_s=np.concatenate([p.t_s for p in ps]),
        rr_ms=np.concatenate([p.rr_ms for p in ps]),
        valid=np.concatenate([p.valid for p in ps]),
        breaks=np.concatenate([p.breaks for p in ps]),
        labels=tuple(lab for p in ps for lab in p.labels),
    )
    return phase_indices(joined, beats.settings, None, baseline_reason="compared as a whole recording: no baseline")


# ---------------------------------------------------------------------------------------------
# Rendering.


def _spec(key: str) -> str:
    """The format spec of an index in tables: whole ms² for powers, 2 decimals for ratios, else 1."""
    if key in ("lf_ms2", "hf_ms2"):
        return ".0f"
    if key in ("ln_rmssd", "lf_hf", "coherence"):
        return ".2f"
    return ".1f"


def _fmt(v: float | None, key: str) -> str:
    return format_number(v, _spec(key), "en")


def _fmt_change(ch: Change, key: str, sep: str = "  ") -> str:
    if ch.abs is None:
        return "—"
    sign = "+" if ch.abs > 0 else ("−" if ch.abs < 0 else "±")
    text = sign + _fmt(abs(ch.abs), key)
    if ch.rel_pct is not None and math.isfinite(ch.rel_pct):
        text += f" ({ch.rel_pct:+.0f}%)".replace("-", "−")
    arrow = ""
    if ch.beyond_noise:
        arrow = "↑ " if ch.abs > 0 else "↓ "
    return f"{text}{sep}{arrow}{ch.verdict}"


class _Output:
    """A rich console for ``out``: colour on a terminal; plain text (no escape codes, 140 columns,
    no trailing spaces) otherwise. Use as a context manager; the text is written on exit."""

    def __init__(self, out: TextIO):
        import io

        from rich.console import Console

        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        if self.tty:
            self.console = Console(file=out, highlight=False)
            self.buffer = None
        else:
            self.buffer = io.StringIO()
            self.console = Console(file=self.buffer, force_terminal=False, no_color=True, color_system=None,
                                   width=140, highlight=False, emoji=False)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.console

    def __exit__(self, *exc: object) -> None:
        if self.buffer is not None:
            text = "\n".join(line.rstrip() for line in self.buffer.getvalue().splitlines())
            self.out.write(text + "\n")


def phase_verdict(p: PhaseIndices, lang: str = "en") -> str:
    """The phase's signal-quality verdict, ``good``/``fair``/``poor`` (docs/artifacts.md) in ``lang``, or "—"."""
    q = p.quality
    if q is None or not math.isfinite(q.valid_pct):
        return "—"
    return _t(f"compare.verdict.{q.verdict}", lang)


def _footnotes(items: list[tuple[str, str]]) -> list[str]:
    seen: list[str] = []
    for who, reason in items:
        line = f"{who}: {reason}"
        if line not in seen:
            seen.append(line)
    return seen


def _t(key: str, lang: str, **values: object) -> str:
    """A comparison text of ``lang`` (``biofeedback/practices/prompts/{en,nl}.toml``), filled."""
    return say(key, lang, **values)


def index_label(key: str, lang: str = "en") -> str:
    """The index's name in ``lang`` (``"heart rate"``, ``"hartslag"``)."""
    return _t(f"compare.idx.{key}", lang)


def phase_label(name: str, lang: str = "en") -> str:
    """A phase's name in ``lang`` (``"baseline"``, ``"rustmeting"``)."""
    return _t(f"compare.phase.{name}", lang) if name in (*PHASE_NAMES, WHOLE) else name


def _num(v: float, key: str, lang: str) -> str:
    return format_number(v, _spec(key), lang)


def format_value(v: float | None, key: str, lang: str = "en") -> str:
    """An index value as ``compare`` shows it (``—`` when not available; decimal comma in Dutch)."""
    if v is None or not math.isfinite(v):
        return "—"
    return _num(v, key, lang)


def _signed(v: float, key: str, lang: str) -> str:
    sign = "+" if v > 0 else ("−" if v < 0 else "±")
    return sign + _num(abs(v), key, lang)


def format_change(ch: Change, key: str, lang: str = "en", *, with_range: bool = True) -> str:
    """A change as ``compare`` shows it: ``−2.2 (−3.1…−1.2) ↓`` = the change, its 95 % range over
    sub-windows, and ``↑``/``↓`` beyond noise, ``≈`` within noise, ``?`` not judged; ``—`` not available."""
    if ch.abs is None:
        return "—"
    text = _signed(ch.abs, key, lang)
    if ch.ci95 is not None and with_range:
        text += f" ({_signed(ch.ci95[0], key, lang)}…{_signed(ch.ci95[1], key, lang)})"
    if ch.beyond_noise is None:
        return text + " ?"
    if ch.beyond_noise:
        return text + (" ↑" if ch.abs > 0 else " ↓")
    return text + " ≈"


def _reasons(comparison: "PhaseComparison", lang: str) -> tuple[list[str], list[str]]:
    """(folded items, detailed lines) for what is missing or not judged, in ``lang``."""
    base = comparison.phase("baseline")
    lines: list[str] = []
    for p in comparison.phases:
        for key in INDEX_KEYS:
            iv = p.indices[key]
            if iv.value is not None:
                continue
            label, phase = index_label(key, lang), phase_label(p.name, lang)
            if p.n_beats and p.data_s < MIN_DATA_S[key] - MIN_DATA_SLACK_S:
                lines.append(_t("compare.too_short", lang, label=label, phase=phase, need=f"{MIN_DATA_S[key]:g}",
                                has=_num(math.floor(p.data_s * 10) / 10, "rmssd_ms", lang)))
            elif key == "relaxation" and (iv.reason or "").startswith("no baseline"):
                lines.append(_t("compare.no_baseline", lang, label=label, phase=phase))
            else:
                lines.append(_t("compare.other", lang, label=label, phase=phase, reason=iv.reason or "—"))
    unjudged: dict[str, list[str]] = {}
    for name, changes in comparison.changes.items():
        for key in INDEX_KEYS:
            ch = changes[key]
            if ch.beyond_noise is not None:
                continue
            unjudged.setdefault(name, []).append(key)
            if ch.abs is None or base is None:
                continue
            lines.append(_t("compare.few_windows", lang, label=index_label(key, lang), phase=phase_label(name, lang),
                            base=phase_label("baseline", lang), n=MIN_SUBWINDOWS, w=f"{SUBWINDOW_S[key]:g}",
                            na=ch.n_subwindows[0], nb=ch.n_subwindows[1]))
    items = []
    for name, keys in unjudged.items():
        what = _t("compare.all", lang) if len(keys) == len(INDEX_KEYS) else ", ".join(index_label(k, lang) for k in keys)
        items.append(f"{phase_label(name, lang)}: {what}")
    return items, list(dict.fromkeys(lines))


def summary_sentence(comparison: "PhaseComparison", lang: str = "en", key: str = "rmssd_ms") -> str | None:
    """One sentence on the practice's change of ``key`` from the baseline (``None`` without one)."""
    ch = comparison.changes.get("practice", {}).get(key)
    if ch is None or ch.abs is None:
        return None
    phase = phase_label("practice", lang)
    if ch.beyond_noise is None:
        return _t("compare.summary_unjudged", lang, phase=phase)
    unit = LABELS[key][1]
    change = _num(abs(ch.abs), key, lang) + (f" {unit}" if unit else "")
    if ch.rel_pct is not None and math.isfinite(ch.rel_pct):
        change += f" ({abs(ch.rel_pct):.0f}%)"
    which = "compare.summary_none" if not ch.beyond_noise else (
        "compare.summary_up" if ch.abs > 0 else "compare.summary_down")
    label = _t("compare.hrv", lang) if key == "rmssd_ms" else index_label(key, lang)
    return _t(which, lang, phase=phase, label=label, change=change)


def render_phase_comparison(comparison: PhaseComparison, out: TextIO, *, lang: str = "en",
                            details: bool = False, simulated: bool = False) -> None:
    """Print the comparison as a table in ``lang`` (colour only when ``out`` is a terminal).

    One line per index; what cannot be judged is folded into one line, the reasons one per line
    with ``details``. At 80 columns only the practice-vs-baseline change is shown (and the
    recovery's too from 110 columns on); on a terminal it fits 80x24.
    """
    with _Output(out) as console:
        _phase_table(comparison, console, lang, details, simulated)


def _phase_table(comparison: PhaseComparison, console: Any, lang: str, details: bool, simulated: bool) -> None:
    from rich import box
    from rich.table import Table

    phases = comparison.phases
    title = _t("compare.title_simulated" if simulated else "compare.title", lang, id=comparison.session_id,
               phases=" · ".join(f"{phase_label(p.name, lang)} {p.data_s / 60:.1f}".replace(".", "," if lang == "nl" else ".")
                                 for p in phases) + " min")
    table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column(_t("compare.index", lang), no_wrap=True)
    for p in phases:
        table.add_column(phase_label(p.name, lang), justify="right", no_wrap=True)
    change_names = [n for n in comparison.changes if n == "practice" or console.width >= 110]
    if not change_names:
        change_names = list(comparison.changes)[:1]
    for name in change_names:
        table.add_column(_t("compare.vs", lang, phase=phase_label(name, lang), base=phase_label("baseline", lang)),
                         no_wrap=True)
    for key in INDEX_KEYS:
        row = [f"{index_label(key, lang)} {LABELS[key][1]}".strip()]
        for p in phases:
            row.append(format_value(p.indices[key].value, key, lang))
        for name in change_names:
            ch = comparison.changes[name][key]
            cell = format_change(ch, key, lang)
            if ch.abs is not None and ch.beyond_noise and console.is_terminal:
                cell = f"[bold]{cell}[/bold]"
            row.append(cell)
        table.add_row(*row)
    table.add_row(_t("compare.signal_quality", lang), *[phase_verdict(p, lang) for p in phases],
                  *[""] * len(change_names))
    console.print(title, markup=False)
    sentence = summary_sentence(comparison, lang)
    if sentence:
        console.print(sentence, markup=False)
    console.print(table)
    if comparison.note:
        note_key = "compare.no_phases" if "no phases" in comparison.note else "compare.no_baseline_phase"
        console.print(_t(note_key, lang), markup=False)
    if comparison.changes:
        console.print(_t("compare.legend", lang), markup=False)
    items, lines = _reasons(comparison, lang)
    if details and lines:
        console.print(_t("compare.reasons", lang), markup=False)
        for line in lines:
            console.print("  " + line, markup=False)
    elif items:  # one line: a terminal wraps it; plain text keeps it whole
        console.print(_t("compare.folded", lang, items="; ".join(items)), markup=False,
                      soft_wrap=not console.is_terminal)


def render_session_comparison(comparison: SessionComparison, out: TextIO, *, lang: str = "en",
                              details: bool = False) -> None:
    """Print two sessions side by side, phase by phase, with B − A and its verdict (in ``lang``)."""
    with _Output(out) as console:
        _session_tables(comparison, console, lang, details)


def _session_tables(comparison: SessionComparison, console: Any, lang: str, details: bool) -> None:
    from rich import box
    from rich.table import Table

    a, b = comparison.session_a, comparison.session_b
    notes: list[str] = []
    unjudged: list[str] = []
    for name in comparison.phase_names:
        pa, pb = comparison.a[name], comparison.b[name]
        console.print(f"{phase_label(name, lang)}: A = {a} ({pa.data_s / 60:.1f} min)  ·  B = {b} ({pb.data_s / 60:.1f} min)",
                      markup=False)
        table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, padding=(0, 1))
        for col, just in ((_t("compare.index", lang), "left"), ("", "left"), ("A", "right"), ("B", "right")):
            table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
        table.add_column("B − A", justify="left", no_wrap=True)
        for key in INDEX_KEYS:
            label = index_label(key, lang)
            ch = comparison.changes[name][key]
            table.add_row(label, LABELS[key][1], format_value(pa.value(key), key, lang),
                          format_value(pb.value(key), key, lang), format_change(ch, key, lang))
            for who, p in (("A", pa), ("B", pb)):
                if p.value(key) is None and p.indices[key].reason:
                    notes.append(_t("compare.other", lang, label=label, phase=f"{phase_label(name, lang)} {who}",
                                    reason=p.indices[key].reason or ""))
            if ch.beyond_noise is None:
                unjudged.append(f"{phase_label(name, lang)} {label}")
                if ch.abs is not None and ch.reason:
                    notes.append(_t("compare.other", lang, label=label, phase=phase_label(name, lang), reason=ch.reason))
        table.add_row(_t("compare.signal_quality", lang), "", phase_verdict(pa, lang), phase_verdict(pb, lang), "")
        console.print(table)
    for note in comparison.notes:
        console.print(note, markup=False)
    if not comparison.phase_names:
        console.print("no phase in common: nothing to compare", markup=False)
    console.print(_t("compare.legend", lang), markup=False)
    if details and notes:
        console.print(_t("compare.reasons", lang), markup=False)
        for line in dict.fromkeys(notes):
            console.print("  " + line, markup=False)
    elif unjudged:
        console.print(_t("compare.folded", lang, items=", ".join(unjudged)), markup=False,
                      soft_wrap=not console.is_terminal)
