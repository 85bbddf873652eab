"""``biofeedback report SESSION --out FILE``: one figure (PNG) or page (HTML) of a stored session.

Standard library only at module level (``biofeedback --help`` stays fast); numpy, matplotlib and the
HRV core are imported inside the functions.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from biofeedback.cli.common import add_home_option, progress_bar
from biofeedback.events import ContactLost, Disconnected, MalformedPayload, Reconnecting, UserMarker

HELP = "draw a session report: tachogram, trends, spectra, Poincaré plot (PNG or HTML)"

DESCRIPTION = """\
Draw a report of a stored session: the RR tachogram with the phases, artifacts and events, the
rolling RMSSD and coherence shown live (recomputed from the raw beats for an imported session),
the power spectrum of each phase, the Poincaré plot, and (HTML) the before/after comparison table.
FILE ends in .png (the figure, 1200 x 1100 pixels) or .html (a self-contained page: the figure
embedded, nothing loaded from the network). The file is created private (mode 0600).
"""

EPILOG = """\
examples:
  biofeedback report last --out session.html       page with the figure and the comparison table
  biofeedback report 3fa2 --out 3fa2.png           the figure only
  biofeedback report last --out - --format png > r.png   to standard output
An existing file is not overwritten unless --force; a target that is not a regular file (a device,
a pipe, a directory, a symbolic link) is refused.
Exit status: 0 ok, 2 unknown session, unknown extension, missing directory, existing or odd target.
"""

#: Event kinds drawn on the tachogram, with the key of their label (report.* in the prompt texts).
SHOWN_EVENTS = {
    UserMarker.KIND: "report.marker",
    ContactLost.KIND: "report.contact_lost",
    Disconnected.KIND: "report.disconnected",
    Reconnecting.KIND: "report.reconnecting",
    MalformedPayload.KIND: "report.bad_payload",
}



def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--out", metavar="FILE", required=True,
                        help="the report file: FILE.png or FILE.html; '-' writes to standard output")
    parser.add_argument("--format", choices=("png", "html"), default=None,
                        help="png or html (default: from the --out suffix; html for --out -)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--lang", choices=("en", "nl"), default=None,
                        help="language of the report (default: the session's language)")
    add_home_option(parser)


def _per_beat_series(store: Any, session_id: str, n_beats: int, keys: tuple[str, ...],
                     progress: Any = None) -> dict[str, Any]:
    """``key -> float array`` of length ``n_beats`` (NaN where there is no number): the indices
    shown live when stored for every beat (read as columns, no dict per beat), else a replay through
    the live code path (:class:`sessions.replay.SessionReplay`); ``progress(done, total)`` is told
    how far the replay is."""
    import numpy as np

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


def report_data(store: Any, session_id: str, lang: str = "en", progress: Any = None):  # type: ignore[no-untyped-def]
    """Build :class:`sessions.report.ReportData` for a stored session (see the module docstring), in
    ``lang``, with the same numbers and formatting as ``compare``."""
    import numpy as np

    from biofeedback.hrv.frequency_domain import power_spectrum
    from biofeedback.practices.texts import shipped_texts
    from sessions.compare import (
        INDEX_KEYS, LABELS, compare_phases, format_change, format_value, index_label, load_session_beats,
        phase_label, phase_verdict, summary_sentence,
    )
    from sessions.report import (
        PhaseSpectrum, ReportData, ReportEvent, ReportPhase, ReportTable, Series, poincare_mask, poincare_points,
    )

    T = shipped_texts(lang)

    info = store.get_session(session_id)
    beats = store.beats(session_id)
    n = len(beats)
    t = np.array([b.t_s for b in beats], dtype=float)
    rr = np.array([b.rr_ms for b in beats], dtype=float)
    per_beat = _per_beat_series(store, session_id, n, ("rmssd_ms", "coherence"), progress)
    session_beats = load_session_beats(store, session_id)
    # one artifact policy for the whole report (the offline labels compare uses), not live labels
    # in one figure and offline ones in another
    labels = session_beats.labels
    valid = session_beats.valid
    breaks = np.zeros(n, dtype=bool)
    for g in store.gaps(session_id):
        if 0 < g.next_seq < n:
            breaks[g.next_seq] = True

    last_t = float(t[-1]) if n else 0.0
    phases = tuple(
        ReportPhase(p.name, p.start_s, p.end_s if p.end_s is not None else max(last_t, p.start_s))
        for p in store.phases(session_id)
    )
    events = []
    for e in (stored.event for stored in store.events(session_id)):
        if isinstance(e, Disconnected) and e.reason == "finished":
            continue  # the normal end of a session, not an event worth a line
        if e.kind in SHOWN_EVENTS:
            label = T[SHOWN_EVENTS[e.kind]]
            if isinstance(e, UserMarker) and e.label:
                label += f": {e.label}"
            events.append(ReportEvent(e.t_s, e.kind, label))

    st = session_beats.settings
    spectra = []
    for p in session_beats.phases:
        if p.rr_ms.size >= 4:
            sp = power_spectrum(p.t_s, p.rr_ms, p.valid, method=st.method, detrend=st.detrend,  # type: ignore[arg-type]
                                fs_hz=st.fs_hz, smoothness_lambda=st.smoothness_lambda)
            if sp.freq_hz.size:
                spectra.append(PhaseSpectrum(p.name, sp.freq_hz, sp.psd_ms2_per_hz))
    px, py = poincare_points(rr, valid, breaks)
    beat_phase = np.array([""] * n, dtype=object)
    for span in phases:
        beat_phase[(t >= span.start_s) & (t <= span.end_s if span is phases[-1] else t < span.end_s)] = span.name
    pair_phase = tuple(str(x) for x in beat_phase[1:][poincare_mask(n, valid, breaks)]) if phases else ()

    comparison = compare_phases(store, session_id)
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
    tables = (ReportTable(title, columns, tuple(rows)),)

    what = info.practice or (f"import {info.import_format}" if info.source_kind == "import" else info.source_kind)
    if info.practice:
        what = T.get(f"practice.{info.practice}.title", info.practice)
    minutes = (last_t / 60.0) if n else 0.0
    status = T.get(f"end.{info.status}", info.status)
    subtitle = (f"{info.start_wall[:16].replace('T', ' ')} · {what} · {T['report.beats'].format(n=n)} · "
                f"{minutes:.1f} min · {status}")
    if comparison.note:
        subtitle += " · " + T["compare.no_phases" if "no phases" in comparison.note else "compare.no_baseline_phase"]
    assessment = None
    if isinstance(info.practice_settings.get("assessment"), dict):  # a resonance assessment: its figure too
        from sessions.assessment_report import assessment_figure_data

        assessment = assessment_figure_data(store, session_id)
    return ReportData(
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
        tables=tables,
        subtitle=subtitle,
        summary=summary_sentence(comparison, lang) or "",
        poincare_phase=pair_phase,
        lang=lang,
        legend=T["compare.legend"] if changes else "",
    )


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.common import open_existing_store
    from biofeedback.errors import InputError

    from sessions.exporting import check_output_target

    to_stdout = args.out == "-"
    out = Path(args.out).expanduser()
    if not to_stdout:
        if out.suffix.lower() not in (".png", ".html", ".htm"):
            raise InputError("the report must be a .png or .html file", path=out)
        if not out.parent.is_dir():
            raise InputError("directory does not exist", path=out.parent)
        check_output_target(out, force=args.force)  # before the work, and again before the rename
    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        if not store.get_session(sid).n_beats:
            raise InputError(f"session {sid} has no beats: nothing to draw")
        info = store.get_session(sid)
        from biofeedback.cli.cmd_compare import session_lang

        lang = args.lang or session_lang(info)
        with progress_bar(info.n_beats, "report") as progress:
            data = report_data(store, sid, lang, progress)
            from sessions.report import render_report, report_bytes

            if progress is not None:
                progress(info.n_beats, info.n_beats)
            if to_stdout:
                content = report_bytes(data, args.format or "html")
            else:
                path = render_report(data, out, force=args.force)
    from biofeedback.practices.texts import shipped_texts

    T = shipped_texts(lang)
    if to_stdout:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        print(T["end.report_stdout"].format(id=sid), file=sys.stderr)
        return 0
    print(T["end.report"].format(id=sid, path=path), file=sys.stderr)
    return 0

