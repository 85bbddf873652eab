"""The data of a session report (:class:`sessions.report.ReportData`), built from a stored session read once.

:func:`report_data` reads the session once (:func:`sessions.stored.read_session`): the tachogram,
the phases, events, spectra, Poincaré points and the comparison table all come from that one value
and its one artifact policy (the offline labels ``compare`` uses, not the live ones in one figure
and the offline ones in another). The per-beat indices are those shown live when they were stored
for every beat, else a replay through the live code path. ``biofeedback report`` and the app's
charts (``biofeedback/web``) both call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from biofeedback.events import ContactLost, Disconnected, MalformedPayload, Reconnecting, UserMarker
from sessions.report import ReportData
from sessions.store import Store

__all__ = ["SHOWN_EVENTS", "report_data"]

#: Event kinds drawn on the tachogram, with the key of their label (report.* in the prompt texts).
SHOWN_EVENTS = {
    UserMarker.KIND: "report.marker",
    ContactLost.KIND: "report.contact_lost",
    Disconnected.KIND: "report.disconnected",
    Reconnecting.KIND: "report.reconnecting",
    MalformedPayload.KIND: "report.bad_payload",
}


def _per_beat_series(store: Store, session_id: str, n_beats: int, keys: tuple[str, ...],
                     progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """``key -> float array`` of length ``n_beats`` (NaN where there is no number): the indices
    shown live when stored for every beat (read as columns, no dict per beat), else a replay through
    the live code path (:class:`sessions.replay.SessionReplay`); ``progress(done, total)`` is told
    how far the replay is."""
    out = {k: np.full(n_beats, np.nan) for k in keys}
    if n_beats and store.count_beat_indices(session_id) == n_beats:
        live = store.beat_index_columns(session_id, keys)
        inside = (live.seq >= 0) & (live.seq < n_beats)
        for k in keys:
            out[k][live.seq[inside]] = live.values[k][inside]
        return out
    from sessions.replay import ReplayBeat, SessionReplay

    for rec in SessionReplay(store, session_id).records():
        if isinstance(rec, ReplayBeat) and 0 <= rec.seq < n_beats:
            for k in keys:
                out[k][rec.seq] = _value(rec.indices, k)
            if progress is not None and rec.seq % 1000 == 0:
                progress(rec.seq, n_beats)
    return out


def _value(d: dict[str, Any] | None, key: str) -> float:
    v = None if d is None else d.get(key)
    return math.nan if v is None else float(v)


def report_data(store: Store, session_id: str, lang: str = "en",
                progress: Callable[[int, int], None] | None = None,
                on_figure: Callable[[ReportData], None] | None = None) -> ReportData:
    """Build :class:`sessions.report.ReportData` for a stored session (see the module docstring), in
    ``lang``, with the same numbers and formatting as ``compare``; ``progress(done, total)`` is told
    how far a replay of the per-beat indices is.

    The phases are compared last: ``on_figure(draft)`` is called before, with everything but what
    comes from the comparison (``summary``, ``tables`` and ``legend`` empty); the result is
    ``dataclasses.replace(draft, summary=..., tables=..., legend=...)``. (``biofeedback report``'s
    helper process draws the panels meanwhile: :class:`sessions.report.FigureDraft`.)"""
    import dataclasses

    from biofeedback.hrv.frequency_domain import power_spectrum
    from biofeedback.practices.texts import format_number, shipped_texts
    from sessions.compare import INDEX_KEYS, LABELS, compare_phases, comparison_note, session_beats
    from sessions.compare_text import (
        format_change, format_value, index_label, phase_label, phase_verdict, summary_sentence,
    )
    from sessions.report import (
        PhaseSpectrum, ReportEvent, ReportPhase, ReportTable, Series, poincare_mask, poincare_points,
    )
    from sessions.stored import read_session

    T = shipped_texts(lang)

    session = read_session(store, session_id)  # once: every figure and the table come from it
    info = session.info
    t, rr, breaks = session.t_s, session.rr_ms, session.breaks
    n = session.n_beats
    per_beat = _per_beat_series(store, session_id, n, ("rmssd_ms", "coherence"), progress)
    # one artifact policy for the whole report (the offline labels compare uses), not live labels
    # in one figure and offline ones in another
    labels = session.artifacts.labels
    valid = session.artifacts.valid

    last_t = float(t[-1]) if n else 0.0
    phases = tuple(ReportPhase(p.name, p.start_s, p.end_s) for p in session.phases)
    events = []
    for e in (stored.event for stored in session.events):
        if isinstance(e, Disconnected) and e.reason == "finished":
            continue  # the normal end of a session, not an event worth a line
        if e.kind in SHOWN_EVENTS:
            label = T[SHOWN_EVENTS[e.kind]]
            if isinstance(e, UserMarker) and e.label:
                label += f": {e.label}"
            events.append(ReportEvent(e.t_s, e.kind, label))

    st = session.settings
    beats = session_beats(session)
    spectra = []
    for p in beats.phases:
        if p.rr_ms.size >= 4:
            sp = power_spectrum(p.t_s, p.rr_ms, p.valid, method=st.method, detrend=st.detrend,  # type: ignore[arg-type]
                                fs_hz=st.fs_hz, smoothness_lambda=st.smoothness_lambda, nfft=st.welch_nfft)
            if sp.freq_hz.size:
                spectra.append(PhaseSpectrum(p.name, sp.freq_hz, sp.psd_ms2_per_hz))
    px, py = poincare_points(rr, valid, breaks)
    beat_phase = session.beat_phases()
    pair_phase = tuple(beat_phase[1:][poincare_mask(n, valid, breaks)].tolist()) if phases else ()  # phase names (str)

    what = info.practice or (f"import {info.import_format}" if info.source_kind == "import" else info.source_kind)
    if info.practice:
        what = T.get(f"practice.{info.practice}.title", info.practice)
    minutes = (last_t / 60.0) if n else 0.0
    status = T.get(f"end.{info.status}", info.status)
    subtitle = (f"{info.start_wall[:16].replace('T', ' ')} · {what} · {T['report.beats'].format(n=n)} · "
                f"{format_number(minutes, '.1f', lang)} min · {status}")
    note = comparison_note(beats)  # the comparison's note, known before it is computed
    if note:
        subtitle += " · " + T["compare.no_phases" if "no phases" in note else "compare.no_baseline_phase"]
    assessment = None
    if isinstance(info.practice_settings.get("assessment"), dict):  # a resonance assessment: its figure too
        from sessions.assessment_report import assessment_figure_data

        assessment = assessment_figure_data(store, session_id)
    draft = ReportData(
        assessment=assessment,
        title=T["report.title_simulated" if info.simulated else "report.title"].format(id=session_id),
        beat_t_s=t,
        rr_ms=rr,
        artifacts=labels,
        phases=phases,
        events=tuple(events),
        rmssd=Series(t, per_beat["rmssd_ms"]),
        coherence=Series(t, per_beat["coherence"]),
        spectra=tuple(spectra),
        poincare_x_ms=px,
        poincare_y_ms=py,
        subtitle=subtitle,
        poincare_phase=pair_phase,
        lang=lang,
    )
    if on_figure is not None:
        on_figure(draft)

    comparison = compare_phases(session)
    changes = list(comparison.changes)
    rows = []
    for key in INDEX_KEYS:
        row: list[Any] = [index_label(key, lang), LABELS[key][1]]
        row += [format_value(p.indices[key].value, key, lang) for p in comparison.phases]
        row += [format_change(comparison.changes[c][key], key, lang) for c in changes]
        rows.append(tuple(row))
    rows.append((T["compare.signal_quality"], "", *(phase_verdict(p, lang) for p in comparison.phases),
                 *([""] * len(changes))))
    title = T["report.before_after"] if changes else T["report.indices"]
    columns = (T["compare.index"], "", *(phase_label(p.name, lang) for p in comparison.phases),
               *(T["compare.vs"].format(phase=phase_label(c, lang), base=phase_label("baseline", lang)) for c in changes))
    return dataclasses.replace(
        draft,
        tables=(ReportTable(title, columns, tuple(rows)),),
        summary=summary_sentence(comparison, lang) or "",
        legend=T["compare.legend"] if changes else "",
    )
