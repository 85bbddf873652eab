r"""Before / after: the indices of a session's phases side by side, and whether a change beats the noise.

:func:`compare_phases` compares baseline rest, practice and recovery rest of one session;
:func:`compare_sessions` compares two sessions phase by phase (B − A). Both are pure functions of
the stored-session value (:class:`sessions.stored.StoredSession`, read once by
:func:`sessions.stored.read_session`) and use its raw beats only (never the indices shown live),
through the batch kernels of :mod:`biofeedback.hrv`. Whether a change is beyond the noise is
:mod:`sessions.noise`; the words and tables are :mod:`sessions.compare_text` and
:mod:`biofeedback.cli.tables`.

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
   includes its end: :meth:`sessions.stored.SessionOutline.phase_at`).
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
A seeded bootstrap over sub-windows of each phase (:data:`SUBWINDOW_S`, :data:`SUBWINDOW_STEP_S`):
method, seed and limits in :mod:`sessions.noise`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from biofeedback.hrv.quality import Quality, quality_of
from biofeedback.json_values import finite_or_none
from sessions.noise import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    MIN_SUBWINDOW_COVERAGE,
    MIN_SUBWINDOWS,
    Change,
    bootstrap_difference_ci,
    change_between,
)
from sessions.stored import time_slice

if TYPE_CHECKING:  # pragma: no cover
    from biofeedback.engine import EngineSettings
    from biofeedback.hrv.relaxation import Baseline
    from sessions.stored import StoredSession

__all__ = [
    "INDEX_KEYS",
    "PHASE_NAMES",
    "WHOLE",
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
    "session_beats",
    "phase_indices",
    "compare_phases",
    "compare_sessions",
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
# re-exported: the noise verdict's constants (sessions.noise) are part of the comparison's method
__all__ += ["MIN_SUBWINDOW_COVERAGE", "CONFIDENCE", "BOOTSTRAP_SEED"]


@dataclass(frozen=True, slots=True)
class IndexValue:
    """One index of one phase: ``value``, or ``None`` and the ``reason`` why there is none."""

    value: float | None
    reason: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {"value": finite_or_none(self.value), "reason": self.reason}

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
    ordered: bool = True  # t_s never decreases (:attr:`sessions.stored.StoredSession.ordered`)

    @property
    def n_beats(self) -> int:
        return int(self.rr_ms.size)

    @property
    def n_artifacts(self) -> int:
        """Beats whose label is not ``"normal"``."""
        return len(self.labels) - self.labels.count("normal")

    @property
    def data_s(self) -> float:
        """Seconds of data: the sum of the RR intervals that end in this phase (gaps excluded)."""
        return float(self.rr_ms.sum()) / 1000.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def select(self, lo_s: float, hi_s: float) -> "PhaseBeats":
        """The beats with ``lo_s <= t_s < hi_s`` (a sub-window)."""
        if self.ordered:  # time-ordered beats: two binary searches, not an O(n) mask per sub-window
            s = time_slice(self.t_s, lo_s, hi_s)
            return PhaseBeats(self.name, lo_s, hi_s, self.t_s[s], self.rr_ms[s], self.valid[s], self.breaks[s],
                              self.labels[s])
        sel = (self.t_s >= lo_s) & (self.t_s < hi_s)
        return PhaseBeats(self.name, lo_s, hi_s, self.t_s[sel], self.rr_ms[sel], self.valid[sel], self.breaks[sel],
                          tuple(lab for lab, k in zip(self.labels, sel.tolist()) if k), ordered=False)


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


def session_beats(session: StoredSession) -> SessionBeats:
    """A stored session's beats with the one artifact policy's labels (offline, computed once on the
    whole session), split by phase; a session without phases is one ``"whole"`` pseudo-phase."""
    pol = session.artifacts  # the one artifact policy (biofeedback.hrv.policy): flagged beats excluded
    labels, valid = pol.labels, pol.valid
    t, rr, breaks = session.t_s, session.rr_ms, session.breaks
    phases = []
    for p in session.phases:
        s = session.phase_slice(p)
        phase_labels = labels[s] if isinstance(s, slice) else tuple(labels[i] for i in s.tolist())
        phases.append(PhaseBeats(p.name, p.start_s, p.end_s, t[s].copy(), rr[s].copy(), valid[s].copy(),
                                 breaks[s].copy(), phase_labels, session.ordered))
    if not session.has_phases:
        n = session.n_beats
        first = float(t[0] - rr[0] / 1000.0) if n else 0.0
        last_t = float(t[-1]) if n else 0.0
        phases.append(PhaseBeats(WHOLE, first, last_t, t.copy(), rr.copy(), valid.copy(), breaks.copy(), labels,
                                 session.ordered))
    return SessionBeats(session.session_id, session.info.start_wall, session.settings, tuple(phases),
                        session.has_phases, labels, valid)

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


def _baseline_of(p: PhaseIndices | None) -> Baseline | None:
    """The :class:`~biofeedback.hrv.relaxation.Baseline` of a baseline phase's indices, or None."""
    from biofeedback.hrv.relaxation import Baseline

    if p is None:
        return None
    ln, hr = p.value("ln_rmssd"), p.value("mean_hr_bpm")
    if ln is None or hr is None:
        return None
    coh = p.value("coherence")
    return Baseline(ln_rmssd=ln, mean_hr_bpm=hr, coherence=math.nan if coh is None else coh)


def _indices_of(p: PhaseBeats, settings: EngineSettings, baseline: Baseline | None, *, whole: bool,
                parts: tuple[str, ...] = ("time", "frequency", "coherence")) -> dict[str, float]:
    """Every index of one stretch of beats (NaN = undefined); artifacts excluded by ``p.valid``.

    The indices come from :func:`biofeedback.hrv.summary.summarize`, the one function for the
    indices of a stretch (``analyze --json`` of the same beats gives the same values); ``parts``
    (its kernels) leaves out what a sub-window's indices do not need (:data:`KEY_PARTS`)."""
    from biofeedback.hrv.relaxation import relaxation_index
    from biofeedback.hrv.summary import summarize

    sm = summarize(
        p.rr_ms, p.t_s, p.valid, p.breaks,
        artifacts_pct=100.0 * p.n_artifacts / p.n_beats if p.n_beats else math.nan,
        method=settings.method, detrend=settings.detrend,  # type: ignore[arg-type]
        si_bin_ms=settings.si_bin_ms, fs_hz=settings.fs_hz, smoothness_lambda=settings.smoothness_lambda,
        nfft=settings.welch_nfft,
        coherence_mode="mean" if whole else "last", coherence_method=settings.coherence_method,
        extended=False,  # the comparison shows none of the extended (Kubios report) indices
        parts=parts,
    )
    coh = sm.coherence if p.n_beats >= 4 else math.nan
    relax = math.nan
    if baseline is not None and "time" in parts and "coherence" in parts:
        relax = relaxation_index(sm.ln_rmssd, sm.mean_hr_bpm, coh, baseline)
    values = {key: getattr(sm, key) for key in INDEX_KEYS if key not in ("coherence", "relaxation")}
    return {**values, "coherence": coh, "relaxation": relax}


#: The kernels of :func:`biofeedback.hrv.summary.summarize` each index needs (``artifacts_pct`` none:
#: it is counted from the labels).
KEY_PARTS: Mapping[str, tuple[str, ...]] = {
    "mean_hr_bpm": ("time",), "rmssd_ms": ("time",), "ln_rmssd": ("time",), "sdnn_ms": ("time",),
    "lf_ms2": ("frequency",), "hf_ms2": ("frequency",), "lf_hf": ("frequency",),
    "coherence": ("coherence",), "relaxation": ("time", "coherence"), "artifacts_pct": (),
}


def _subwindow_values(p: PhaseBeats, keys: Sequence[str], settings: EngineSettings,
                      baseline: Baseline | None) -> dict[str, tuple[float, ...]]:
    """Each index of ``keys`` on each usable sub-window of the phase (see the module docstring).

    Indices with the same sub-windows (:data:`SUBWINDOW_S`, :data:`SUBWINDOW_STEP_S`) share one
    pass and only the kernels they need run (:data:`KEY_PARTS`); each value is the one
    :func:`_indices_of` gives on the sub-window's beats (``tests/sessions/test_stored.py``). For
    time-ordered beats the sub-windows are index ranges (two binary searches each) and the
    spectra of all of them are batched (:func:`_window_values`); otherwise each is cut by a mask."""
    groups: dict[tuple[float, float], list[str]] = {}
    for key in keys:
        groups.setdefault((SUBWINDOW_S[key], SUBWINDOW_STEP_S[key]), []).append(key)
    out: dict[str, list[float]] = {key: [] for key in keys}
    for (w, step), group in groups.items():
        parts = tuple(part for part in ("time", "frequency", "coherence") if any(part in KEY_PARTS[k] for k in group))
        starts = []
        k = 0
        while p.start_s + k * step + w <= p.end_s + 1e-9:
            starts.append(p.start_s + k * step)
            k += 1
        if p.ordered:
            rows = _window_values(p, starts, w, parts, group, settings, baseline)
        else:
            rows = []
            for lo_s in starts:
                sub = p.select(lo_s, lo_s + w)
                if float(sub.rr_ms[sub.valid].sum()) / 1000.0 < MIN_SUBWINDOW_COVERAGE * w:
                    continue
                rows.append(_indices_of(sub, settings, baseline, whole=False, parts=parts))
        for values in rows:
            for key in group:
                v = values[key]
                if math.isfinite(v):
                    out[key].append(float(v))
    return {key: tuple(v) for key, v in out.items()}


def _window_values(p: PhaseBeats, starts: Sequence[float], w: float, parts: tuple[str, ...], keys: Sequence[str],
                   settings: EngineSettings, baseline: Baseline | None) -> list[dict[str, float]]:
    """:func:`_indices_of` of the usable sub-windows ``[lo_s, lo_s + w)`` of time-ordered beats, in
    order, for ``keys``: the same values, with the frequency-domain and coherence spectra of all the
    sub-windows batched (:func:`biofeedback.hrv.batch.frequency_domain_rows`,
    :func:`biofeedback.hrv.coherence.coherence_ratios`) instead of one call chain per sub-window."""
    from biofeedback.hrv.relaxation import relaxation_index
    from biofeedback.hrv.time_domain import TimeDomain, time_domain, time_domain_fields

    t, rr, valid, breaks = p.t_s, p.rr_ms, p.valid, p.breaks
    lo_s = np.array(starts, dtype=np.float64)
    hi_s = np.array([s + w for s in starts], dtype=np.float64)  # as PhaseBeats.select's bounds
    lo_all = t.searchsorted(lo_s, side="left")
    hi_all = np.maximum(lo_all, t.searchsorted(hi_s, side="left"))  # time_slice
    keep = _covered(rr, valid, lo_all, hi_all, MIN_SUBWINDOW_COVERAGE * w)
    lo = lo_all[keep]
    hi = hi_all[keep]
    n = hi - lo
    nan = math.nan
    rows: list[dict[str, float]] = [{} for _ in keep]
    if "artifacts_pct" in keys:
        art = np.zeros(rr.size + 1, dtype=np.int64)
        np.cumsum(np.fromiter((lab != "normal" for lab in p.labels), dtype=bool, count=rr.size), out=art[1:])
        for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
            row["artifacts_pct"] = float(100.0 * int(art[b] - art[a]) / (b - a)) if b > a else nan
    if "time" in parts and rr.dtype == np.float64 and valid.dtype == np.bool_ and breaks.dtype == np.bool_:
        # time_domain's own fields (its one compiled pass) without its checks and object: the arrays are
        # the phase's, a float64 and two boolean arrays of one length (time_domain would take them as they are)
        si_bin_ms = float(settings.si_bin_ms)
        names = [fd.name for fd in fields(TimeDomain)]
        hr_i, sdnn_i, rmssd_i, ln_i = (names.index(key) for key in _TIME_KEYS)
        for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
            tf = time_domain_fields(rr[a:b], valid[a:b], breaks[a:b], si_bin_ms)
            row.update(mean_hr_bpm=tf[hr_i], rmssd_ms=tf[rmssd_i], ln_rmssd=tf[ln_i], sdnn_ms=tf[sdnn_i])
    elif "time" in parts:
        for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
            td = time_domain(rr[a:b], valid[a:b], breaks[a:b], si_bin_ms=settings.si_bin_ms)
            row.update(mean_hr_bpm=td.mean_hr_bpm, rmssd_ms=td.rmssd_ms, ln_rmssd=td.ln_rmssd, sdnn_ms=td.sdnn_ms)
    else:
        for row in rows:
            row.update(mean_hr_bpm=nan, rmssd_ms=nan, ln_rmssd=nan, sdnn_ms=nan)
    if "frequency" in parts and settings.method == "welch" and settings.detrend == "mean":
        from biofeedback.hrv.batch import frequency_domain_rows

        fd = frequency_domain_rows(t, rr, valid, lo, hi, fs_hz=settings.fs_hz, nfft=settings.welch_nfft)
        for key in ("lf_ms2", "hf_ms2", "lf_hf"):
            for row, x in zip(rows, fd[key].tolist()):
                row[key] = x
    elif "frequency" in parts:
        from biofeedback.hrv.frequency_domain import frequency_domain

        for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
            f = frequency_domain(t[a:b], rr[a:b], valid[a:b], method=settings.method,  # type: ignore[arg-type]
                                 detrend=settings.detrend,  # type: ignore[arg-type]
                                 fs_hz=settings.fs_hz, smoothness_lambda=settings.smoothness_lambda,
                                 nfft=settings.welch_nfft)
            row.update(lf_ms2=f.lf_ms2, hf_ms2=f.hf_ms2, lf_hf=f.lf_hf)
    else:
        for row in rows:
            row.update(lf_ms2=nan, hf_ms2=nan, lf_hf=nan)
    coh = np.full(len(rows), nan)
    if "coherence" in parts:
        from biofeedback.hrv.coherence import coherence_ratios
        from biofeedback.hrv.constants import COHERENCE_WINDOW_S

        # summarize's "last" coherence of a sub-window: the beats of its last 64 s, windows of < 4 beats NaN
        last = np.maximum(lo, t.searchsorted(t[np.maximum(hi - 1, 0)] - COHERENCE_WINDOW_S, side="left"))
        some = np.flatnonzero(n >= 4)
        coh[some] = coherence_ratios(t, rr, valid, last[some], hi[some], window_s=COHERENCE_WINDOW_S,
                                     method=settings.coherence_method)  # type: ignore[arg-type]
    for row, c in zip(rows, coh.tolist()):
        row["coherence"] = c
        row["relaxation"] = (relaxation_index(row["ln_rmssd"], row["mean_hr_bpm"], c, baseline)
                             if baseline is not None and "time" in parts and "coherence" in parts else nan)
    return rows


#: The sub-window indices read from :func:`biofeedback.hrv.time_domain.time_domain_fields` (its fields
#: are :class:`~biofeedback.hrv.time_domain.TimeDomain`'s, in order).
_TIME_KEYS = ("mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd")


def _covered(rr: np.ndarray, valid: np.ndarray, lo: np.ndarray, hi: np.ndarray, need_s: float) -> list[int]:
    """The sub-windows ``k`` (beats ``lo[k]:hi[k]``) whose valid beats' intervals cover at least
    ``need_s`` seconds, as the test ``not float(rr[a:b][valid[a:b]].sum()) / 1000.0 < need_s`` decides
    them: a running sum decides every window whose total lies farther from the threshold than the running
    sum's rounding error can reach (bounded by ``n * eps * sum(|rr|)``, and at least 1 ms); the few
    nearer to it (and any NaN) are summed as written (``tests/sessions/test_compare.py``)."""
    if not lo.size:
        return []
    kept = np.where(valid, rr, 0.0)
    running = np.zeros(rr.size + 1)
    np.cumsum(kept, out=running[1:])
    approx_ms = running[hi] - running[lo]
    need_ms = need_s * 1000.0
    margin_ms = 1.0 + 4.0 * rr.size * float(np.finfo(np.float64).eps) * float(np.abs(kept).sum())
    near = np.flatnonzero(~(np.abs(approx_ms - need_ms) > margin_ms))  # NaN counts as near
    ok = approx_ms >= need_ms
    for j, a, b in zip(near.tolist(), lo[near].tolist(), hi[near].tolist()):
        ok[j] = not float(rr[a:b][valid[a:b]].sum()) / 1000.0 < need_s
    return np.flatnonzero(ok).tolist()


def phase_indices(p: PhaseBeats, settings: EngineSettings, baseline: Baseline | None = None, *,
                  subwindows: bool = True, baseline_reason: str | None = None,
                  raw: Mapping[str, float] | None = None) -> PhaseIndices:
    """The indices of one phase (``baseline``: the relaxation index's reference, or None).

    An index is ``None`` with a reason when the phase holds less data than :data:`MIN_DATA_S`
    says, when the kernel finds it undefined, or (relaxation) when there is no baseline.
    ``raw``: this phase's values already computed without a baseline (``_indices_of``; the baseline
    phase, first computed for its own reference values): only the relaxation index is computed again.
    """
    if raw is None:
        values = _indices_of(p, settings, baseline, whole=True)
    else:
        from biofeedback.hrv.relaxation import relaxation_index

        values = dict(raw)  # the relaxation index as _indices_of computes it
        values["relaxation"] = math.nan if baseline is None else relaxation_index(
            raw["ln_rmssd"], raw["mean_hr_bpm"], raw["coherence"], baseline)
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
        subs = _subwindow_values(p, [key for key in INDEX_KEYS if indices[key].value is not None], settings, baseline)
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
# The change from A to B (judged by sessions.noise).


def _change(a: PhaseIndices, b: PhaseIndices, key: str, seed: Sequence[int], a_name: str) -> Change:
    va, vb = a.value(key), b.value(key)
    if va is None or vb is None:
        which = a_name if va is None else b.name
        reason = (a.indices[key].reason if va is None else b.indices[key].reason) or "not available"
        return Change(None, None, None, None, f"{which}: {reason}")
    return change_between(va, vb, a.subwindows.get(key, ()), b.subwindows.get(key, ()), relative=key != "ln_rmssd",
                          seed=seed, subwindow_s=SUBWINDOW_S[key], a_name=a_name, b_name=b.name)

def _changes(a: PhaseIndices, b: PhaseIndices, seed_base: int, a_name: str | None = None) -> dict[str, Change]:
    return {
        key: _change(a, b, key, (seed_base, i), a_name or a.name) for i, key in enumerate(INDEX_KEYS)
    }


def noise_method() -> dict[str, Any]:
    """The ``method`` object of ``compare --json``: how artifacts and noise were handled."""
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
            "method": noise_method(),
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
    base_raw: dict[str, float] | None = None
    reason = "no baseline phase in this session to relate to" if beats.has_phases else (
        "no phases in this session (an import): no baseline to relate to")
    if base_beats is not None:
        # First the baseline without relaxation, to get its reference values.
        base_raw = _indices_of(base_beats, beats.settings, None, whole=True)  # computed once
        first = phase_indices(base_beats, beats.settings, None, subwindows=False, raw=base_raw)
        baseline = _baseline_of(first)
        refused = baseline_refusal(base_beats)
        if baseline is None:
            reason = "the baseline phase has no lnRMSSD or heart rate to relate to"
        elif refused is not None:
            baseline, reason = None, refused
    for p in beats.phases:
        # sub-windows feed the noise verdict of changes, which a session without phases never has
        out.append(phase_indices(p, beats.settings, baseline, baseline_reason=reason, subwindows=subwindows and beats.has_phases,
                                 raw=base_raw if p is base_beats else None))
    return out


def compare_phases(session: StoredSession) -> PhaseComparison:
    """Compare the baseline, practice and recovery phases of one stored session.

    Every phase's indices come from its stored raw beats (artifacts excluded); each phase after the
    baseline gets the change from the baseline with a bootstrap 95 % interval and a verdict. A
    session without phases (an import) gives its whole recording as the phase ``"whole"`` and no
    changes; a session without a baseline phase gives no changes (``note`` says why).
    """
    beats = session_beats(session)
    # Sub-windows only serve the noise verdict of a change from the baseline: a session without a
    # baseline phase (an import of 22 h) skips them (thousands of spectra otherwise).
    phases = _session_indices(beats, subwindows=beats.phase("baseline") is not None)
    base = next((p for p in phases if p.name == "baseline"), None)
    changes: dict[str, dict[str, Change]] = {}
    note = comparison_note(beats)
    if note is None and base is not None:
        for p in phases:
            if p.name != "baseline":
                changes[p.name] = _changes(base, p, _phase_seed(p.name))
    return PhaseComparison(session.session_id, beats.start_wall, tuple(phases), changes, note)


def comparison_note(beats: SessionBeats) -> str | None:
    """Why a session's phases cannot be compared (:attr:`PhaseComparison.note`), known before any
    index is computed: no phases (an import), or no baseline phase; ``None`` when they can."""
    if not beats.has_phases:
        return "this session has no phases (an import): nothing to compare within it"
    if beats.phase("baseline") is None:
        return "this session has no baseline phase: nothing to compare against"
    return None


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
            "method": noise_method(),
        }


def compare_sessions(a: StoredSession, b: StoredSession) -> SessionComparison:
    """Compare two stored sessions phase by phase: the same indices, and B − A with its noise verdict.

    Phases present in both sessions are compared; when either session has no phases (an import)
    the whole recordings are compared as the phase ``"whole"``. The relaxation index of each
    session is relative to its own baseline.
    """
    id_a, id_b = a.session_id, b.session_id
    ba = session_beats(a)
    bb = session_beats(b)
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
    t = np.concatenate([p.t_s for p in ps])
    joined = PhaseBeats(
        name=WHOLE,
        start_s=ps[0].start_s,
        end_s=ps[-1].end_s,
        t_s=t,
        rr_ms=np.concatenate([p.rr_ms for p in ps]),
        valid=np.concatenate([p.valid for p in ps]),
        breaks=np.concatenate([p.breaks for p in ps]),
        labels=tuple(lab for p in ps for lab in p.labels),
        ordered=bool(np.all(np.diff(t) >= 0)),
    )
    return phase_indices(joined, beats.settings, None, baseline_reason="compared as a whole recording: no baseline")

