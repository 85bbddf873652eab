"""Import an RR file as a session, published atomically, written in short transactions.

:func:`import_file` reads the file with :func:`sessions.importers.read_recording`, then writes a
session with ``source_kind="import"`` and ``status="complete"``, its beats, its gaps and one
``import`` event (format, file name, the reader's notes). The session is created unpublished (no
reader sees it), its beats are written :data:`~sessions.store.CHUNK_ROWS` at a time, each chunk its
own short transaction (a live recording commits in between), and the last transaction writes the
gaps and events and publishes it: readers see the whole session or nothing. On any error the partial
session is deleted; if the process dies, the next opening of the store removes it.

Decisions (documented in ``docs/storage.md``):

- **No phases.** An imported file has no protocol; calling the whole file a "baseline" would let
  ``compare`` treat an arbitrary recording (a 22 h Holter, an exercise test) as rest. Commands that
  need phases say the session has none.
- **Beat times** are the file's own when it has them, else the cumulative sum of the intervals
  (first beat at ``rr_ms[0] / 1000``). Where the times jump by more than the next interval plus
  :data:`~sessions.importers.base.GAP_THRESHOLD_S` (a pause the reader left out, e.g. a value
  longer than ``MAX_RR_MS``), a :class:`~biofeedback.beat.Gap` with reason ``"import_gap"`` is
  recorded, so no successive difference is formed across it.
- **Start time**: the file's own when it states one (a time without zone is taken as this machine's
  local time, and a note says so); else the file's modification time, with a note.
- **Re-import**: the sha256 of the file's bytes is stored; importing a file with the same sha256
  again is an :class:`InputError` naming the existing session, unless ``force=True``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from biofeedback.errors import InputError
from biofeedback.events import Event, GapEvent, Imported
from biofeedback.files import open_regular
from sessions.importers._text import unreadable
from sessions.importers import read_recording
from sessions.importers.base import RRRecording, gap_spans
from sessions.locks import yield_write_lock
from sessions.store import CHUNK_ROWS, NewSession, Store
from sessions.store_rows import BeatRow, Rows, event_row, write_rows

BATCH = CHUNK_ROWS  # beats per transaction (and per progress report)

Progress = Callable[[int, int], None]  # (beats written, total beats)
Notes = Callable[[Sequence[str]], None]  # the notes to show, called once the file is read


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_file` stored: the new session's id, the format read, its number of beats,
    and the notes to show the user (the reader's, then how the start time was chosen)."""

    session_id: str
    format: str
    n_beats: int
    notes: tuple[str, ...]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of the file's bytes (:class:`InputError` if unreadable)."""
    h = hashlib.sha256()
    try:
        with open_regular(path) as f:  # a FIFO or a device is refused before reading
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise unreadable(exc, path) from exc
    return h.hexdigest()


def check_not_imported(store: Store, sha256: str, path: str | Path) -> None:
    """:class:`InputError` naming the session(s) already imported from a file with this sha256."""
    existing = store.find_by_sha256(sha256)
    if existing:
        raise InputError(
            f"already imported as session {', '.join(existing)} (same sha256); use --force to import it again",
            path=path,
        )


def session_start(recording: RRRecording) -> tuple[datetime, str | None]:
    """The session's start wall time (timezone-aware) for an imported recording, and a note saying how
    it was chosen when the file does not state it fully (``None`` when it does)."""
    start_wall = recording.start_wall
    if start_wall is None:
        path = Path(recording.path)
        mtime = datetime.fromtimestamp(os.stat(path).st_mtime).astimezone() if path.exists() else None
        return (mtime or datetime.now().astimezone(),
                "the file states no start time: the session starts at the file's modification time")
    if start_wall.tzinfo is None:
        aware = start_wall.astimezone()
        return aware, f"the file's start time has no time zone: taken as this machine's ({aware.tzname()})"
    return start_wall, None


def import_file(
    store: Store,
    path: str | Path,
    format: str | None = None,
    *,
    units: str | None = None,
    column: str | None = None,
    skip_lines: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    on_notes: Notes | None = None,
) -> ImportResult:
    """Import ``path`` as a new complete session (see the module docstring): hash the file, refuse a
    re-import unless ``force``, read it (``format`` detected when ``None``; ``units``, ``column``,
    ``skip_lines`` go to the reader), then write it with :func:`import_recording`.

    ``on_notes`` receives the notes to show once the file is read, before anything is written (also
    in the result); ``progress`` is called between transactions (``(beats written, total)``).
    :class:`InputError` for a bad file (nothing stored), :class:`~sessions.store.StoreError` when the
    store cannot be written."""
    sha256 = file_sha256(path)
    if not force:
        check_not_imported(store, sha256, path)
    recording = read_recording(path, format, units=units, column=column, skip_lines=skip_lines)
    shown: list[str] = []

    def keep(notes: Sequence[str]) -> None:
        shown.extend(notes)
        if on_notes is not None:
            on_notes(notes)

    session_id = import_recording(store, recording, sha256=sha256, force=force, progress=progress, on_notes=keep)
    return ImportResult(session_id, recording.format, len(recording.rr_ms), tuple(shown))


def import_recording(
    store: Store,
    recording: RRRecording,
    *,
    sha256: str,
    force: bool = False,
    progress: Progress | None = None,
    on_notes: Notes | None = None,
) -> str:
    """Write an already-read recording as a session, published atomically; return the session id.

    ``on_notes`` receives the reader's notes and the start-time note before anything is checked or
    written."""
    path = Path(recording.path)
    start_wall, start_note = session_start(recording)
    notes = list(recording.notes) + ([start_note] if start_note else [])
    if on_notes is not None:
        on_notes(tuple(notes))
    rr_ms = [float(v) for v in recording.rr_ms]
    t_s = [float(v) for v in recording.beat_times_s()]
    if len(rr_ms) != len(t_s) or not rr_ms:
        raise InputError("the reader returned no beats, or times that do not match the intervals", path=path)
    ticks = getattr(recording, "rr_ticks_1024", None)
    ticks_list = [None] * len(rr_ms) if ticks is None else [int(v) for v in ticks]
    for i, (rr, t) in enumerate(zip(rr_ms, t_s)):
        if not (math.isfinite(rr) and rr > 0 and math.isfinite(t)):
            raise InputError(f"beat {i + 1}: impossible value (rr_ms={rr!r}, t_s={t!r})", path=path)
        if i and t < t_s[i - 1]:
            raise InputError(f"beat {i + 1}: beat times go backwards ({t!r} s after {t_s[i - 1]!r} s)", path=path)
    gaps = gap_spans(rr_ms, t_s)

    new = NewSession(
        source_kind="import",
        start_wall=start_wall,
        device_name=path.name,
        device_kind="import",
        device_info={"kind": "import", "format": recording.format, "file": path.name},
        import_sha256=sha256,
        import_path=str(path.resolve()),
        import_format=recording.format,
    )
    total = len(rr_ms)
    try:
        end_wall = start_wall + timedelta(seconds=t_s[-1])
    except OverflowError:
        raise InputError(f"the recording ends after the year 9999 (start {start_wall.isoformat()})", path=path) from None
    session_id = store.create_session(new, status="recording", published=False)  # takes its lock
    try:
        for lo in range(0, total, BATCH):
            hi = min(total, lo + BATCH)
            beats: list[BeatRow] = [(session_id, i, ticks_list[i], rr_ms[i], None, t_s[i], None) for i in range(lo, hi)]
            with store.transaction():
                write_rows(store, Rows(beats=beats))
            if progress is not None:
                progress(hi, total)  # between transactions: the write lock is free here
            if hi < total:
                yield_write_lock()
        with store.transaction():
            if not force:
                check_not_imported(store, sha256, path)  # again, inside the write lock
            write_rows(store, _gaps_and_events(session_id, recording, path, sha256, notes, rr_ms, t_s, gaps))
            store.publish(session_id, end_wall)
    except BaseException:
        store.release(session_id)
        with contextlib.suppress(Exception):
            store.delete_session(session_id)
        raise
    store.release(session_id)
    return session_id


def _gaps_and_events(
    session_id: str, recording: RRRecording, path: Path, sha256: str, notes: list[str],
    rr_ms: list[float], t_s: list[float], gaps: list[tuple[int, float, float]],
) -> Rows:
    """The gap rows and the event rows (one ``import`` event, one ``gap`` event per gap) of an import."""
    typed: list[tuple[int, Event]] = [(0, Imported(t_s[0] - rr_ms[0] / 1000.0, recording.format, path.name, sha256, notes))]
    typed += [(i, GapEvent(start, "import_gap", start, end)) for i, start, end in gaps]
    return Rows(
        gaps=[(session_id, k, i, start, end, "import_gap") for k, (i, start, end) in enumerate(gaps)],
        events=[event_row(session_id, k, i, e.t_s, e.kind, e.data) for k, (i, e) in enumerate(typed)],
    )
