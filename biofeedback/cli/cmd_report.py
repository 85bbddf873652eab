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

from biofeedback.cli.common import add_home_option

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

#: Event kinds drawn on the tachogram, with their label.
SHOWN_EVENTS = {
    "user_marker": "marker",
    "contact_lost": "contact lost",
    "disconnected": "disconnected",
    "reconnecting": "reconnecting",
    "malformed_payload": "bad payload",
}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--out", metavar="FILE", required=True,
                        help="the report file: FILE.png or FILE.html; '-' writes to standard output")
    parser.add_argument("--format", choices=("png", "html"), default=None,
                        help="png or html (default: from the --out suffix; html for --out -)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    add_home_option(parser)


def _per_beat_indices(store: Any, session_id: str, n_beats: int) -> list[dict[str, Any] | None]:
    """The indices of every beat: those shown live when stored for every beat, else a replay
    through the live code path (:class:`sessions.replay.SessionReplay`)."""
    live = store.beat_indices(session_id)
    if n_beats and len(live) == n_beats:
        return [live.get(i) for i in range(n_beats)]
    from sessions.replay import ReplayBeat, SessionReplay

    out: list[dict[str, Any] | None] = [None] * n_beats
    for rec in SessionReplay(store, session_id).records():
        if isinstance(rec, ReplayBeat) and 0 <= rec.seq < n_beats:
            out[rec.seq] = rec.indices
    return out


def _value(d: dict[str, Any] | None, key: str) -> float:
    v = None if d is None else d.get(key)
    return math.nan if v is None else float(v)


def report_data(store: Any, session_id: str):  # type: ignore[no-untyped-def]
    """Build :class:`sessions.report.ReportData` for a stored session (see the module docstring)."""
    import numpy as np

    from biofeedback.hrv.frequency_domain import power_spectrum
    from sessions.compare import INDEX_KEYS, LABELS, compare_phases, load_session_beats
    from sessions.report import (
        PhaseSpectrum, ReportData, ReportEvent, ReportPhase, ReportTable, Series, format_cell, poincare_points,
    )

    info = store.get_session(session_id)
    beats = store.beats(session_id)
    n = len(beats)
    t = np.array([b.t_s for b in beats], dtype=float)
    rr = np.array([b.rr_ms for b in beats], dtype=float)
    per_beat = _per_beat_indices(store, session_id, n)
    labels = tuple(
        (d or {}).get("artifact") or b.artifact or "normal" for d, b in zip(per_beat, beats)
    )
    valid = np.array([bool((d or {}).get("valid", lab == "normal")) for d, lab in zip(per_beat, labels)], dtype=bool)
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
    for e in store.events(session_id):
        if e.kind in SHOWN_EVENTS:
            label = SHOWN_EVENTS[e.kind]
            if e.kind == "user_marker" and e.data.get("label"):
                label += f": {e.data['label']}"
            events.append(ReportEvent(e.t_s, e.kind, label))

    session_beats = load_session_beats(store, session_id)
    st = session_beats.settings
    spectra = []
    for p in session_beats.phases:
        if p.rr_ms.size >= 4:
            sp = power_spectrum(p.t_s, p.rr_ms, p.valid, method=st.method, detrend=st.detrend,  # type: ignore[arg-type]
                                fs_hz=st.fs_hz, smoothness_lambda=st.smoothness_lambda)
            if sp.freq_hz.size:
                spectra.append(PhaseSpectrum(p.name, sp.freq_hz, sp.psd_ms2_per_hz))
    px, py = poincare_points(rr, valid, breaks)

    comparison = compare_phases(store, session_id)
    names = [p.name for p in comparison.phases]
    changes = list(comparison.changes)
    rows = []
    for key in INDEX_KEYS:
        label, unit = LABELS[key]
        row: list[Any] = [label, unit]
        row += [comparison.phases[i].indices[key].value for i in range(len(names))]
        for c in changes:
            ch = comparison.changes[c][key]
            row.append("—" if ch.abs is None else f"{format_cell(ch.abs)}, {ch.verdict}")
        rows.append(tuple(row))
    title = "Before and after" if changes else "Indices"
    tables = (ReportTable(title, ("index", "unit", *names, *(f"{c} vs baseline" for c in changes)), tuple(rows)),)

    what = info.practice or (f"import {info.import_format}" if info.source_kind == "import" else info.source_kind)
    minutes = (last_t / 60.0) if n else 0.0
    subtitle = f"{info.start_wall[:16].replace('T', ' ')} · {what} · {n} beats · {minutes:.1f} min · {info.status}"
    if comparison.note:
        subtitle += f" · {comparison.note}"
    return ReportData(
        title=f"Session {session_id}",
        beat_t_s=t,
        rr_ms=rr,
        artifacts=labels,
        phases=phases,
        events=tuple(events),
        rmssd=Series(t, [_value(d, "rmssd_ms") for d in per_beat]),
        coherence=Series(t, [_value(d, "coherence") for d in per_beat]),
        spectra=tuple(spectra),
        poincare_x_ms=px,
        poincare_y_ms=py,
        tables=tables,
        subtitle=subtitle,
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
        data = report_data(store, sid)
    from sessions.report import render_report, report_bytes

    if to_stdout:
        sys.stdout.buffer.write(report_bytes(data, args.format or "html"))
        sys.stdout.flush()
        print(f"report of session {sid} written to standard output", file=sys.stderr)
        return 0
    path = render_report(data, out, force=args.force)
    print(f"report of session {sid} written to {path}", file=sys.stderr)
    return 0
