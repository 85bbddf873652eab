"""Writing a session's rows: the one place with an ``INSERT`` for beats, gaps, events, phases, live
indices and assessments.

:mod:`sessions.store` creates, reads, publishes and deletes sessions; this sibling writes what is
recorded inside one. Both the :class:`~sessions.recorder.Recorder` (one transaction per commit
interval) and :mod:`sessions.importing` (one transaction per :data:`~sessions.store.CHUNK_ROWS`
beats) fill a :class:`Rows` and call :func:`write_rows` inside a transaction they open with
``store.transaction()``: the commit policy stays theirs, the SQL is here. Raw beat columns are
inserted once and never updated (the schema's triggers refuse it); the engine's artifact label is
an ``UPDATE`` of the ``artifact`` column only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessions.store import Store


# Rows are plain tuples in the column order of their statement (no per-row object: an import
# writes hundreds of thousands of beats).
#: ``(session_id, seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact)``; contact 0/1 or None.
BeatRow = tuple[str, int, int | None, float, float | None, float, int | None]
#: ``(artifact, session_id, seq)``: the engine's artifact label (an ``UPDATE``; raw columns never change).
LabelRow = tuple[str | None, str, int]
#: ``(session_id, ordinal, next_seq, start_s, end_s, reason)``; ``next_seq`` beats were recorded before it.
GapRow = tuple[str, int, int, float, float, str]
#: ``(session_id, ordinal, next_seq, t_s, kind, data_json)``: see :func:`event_row`.
EventRow = tuple[str, int, int, float, str, str]
#: ``(session_id, ordinal, name, start_s)``.
PhaseRow = tuple[str, int, str, float]
#: ``(end_s, session_id, ordinal)``: the end of a begun phase.
PhaseEndRow = tuple[float, str, int]
#: ``(session_id, first_seq, last_seq, n, data)``: one chunk of live indices (:mod:`sessions.index_chunks`).
IndexChunkRow = tuple[str, int, int, int, bytes]


def event_row(session_id: str, ordinal: int, next_seq: int, t_s: float, kind: str,
              data: Mapping[str, Any] | None) -> EventRow:
    """An event row; ``data`` as JSON (values that are not JSON-serialisable are stored as their ``str``)."""
    return (session_id, ordinal, next_seq, float(t_s), str(kind), json.dumps(dict(data or {}), default=str))


@dataclass
class Rows:
    """Rows of one session, written together by :func:`write_rows` (a buffer: fill, write, clear).

    ``index_chunks_from`` (a seq), when set, deletes the session's index chunks from that seq on
    before ``index_chunks`` are inserted (a merge of JSON chunks into columnar ones)."""

    beats: list[BeatRow] = field(default_factory=list)
    labels: list[LabelRow] = field(default_factory=list)
    gaps: list[GapRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    phases: list[PhaseRow] = field(default_factory=list)
    phase_ends: list[PhaseEndRow] = field(default_factory=list)
    index_chunks: list[IndexChunkRow] = field(default_factory=list)
    index_chunks_from: tuple[str, int] | None = None  # (session id, first seq replaced)

    def __len__(self) -> int:
        """Rows held (index chunks not counted: they are derived at write time)."""
        return (len(self.beats) + len(self.labels) + len(self.gaps) + len(self.events) + len(self.phases)
                + len(self.phase_ends))

    def clear(self) -> None:
        for rows in (self.beats, self.labels, self.gaps, self.events, self.phases, self.phase_ends, self.index_chunks):
            rows.clear()
        self.index_chunks_from = None


def write_rows(store: Store, rows: Rows) -> None:
    """Insert ``rows``, in the caller's transaction (``with store.transaction(): write_rows(...)``);
    tables in the order their foreign keys need."""
    conn = store.conn
    if rows.beats:
        conn.executemany(
            "INSERT INTO beats (session_id, seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows.beats,
        )
    if rows.labels:
        conn.executemany("UPDATE beats SET artifact = ? WHERE session_id = ? AND seq = ?", rows.labels)
    if rows.gaps:
        conn.executemany(
            "INSERT INTO gaps (session_id, ordinal, next_seq, start_s, end_s, reason) VALUES (?, ?, ?, ?, ?, ?)",
            rows.gaps,
        )
    if rows.events:
        conn.executemany(
            "INSERT INTO events (session_id, ordinal, next_seq, t_s, kind, data_json) VALUES (?, ?, ?, ?, ?, ?)",
            rows.events,
        )
    if rows.phases:
        conn.executemany("INSERT INTO phases (session_id, ordinal, name, start_s) VALUES (?, ?, ?, ?)", rows.phases)
    if rows.phase_ends:
        conn.executemany("UPDATE phases SET end_s = ? WHERE session_id = ? AND ordinal = ?", rows.phase_ends)
    if rows.index_chunks_from is not None:
        conn.execute("DELETE FROM beat_index_chunks WHERE session_id = ? AND first_seq >= ?", rows.index_chunks_from)
    if rows.index_chunks:
        conn.executemany(
            "INSERT INTO beat_index_chunks (session_id, first_seq, last_seq, n, data) VALUES (?, ?, ?, ?, ?)",
            rows.index_chunks,
        )


@dataclass(frozen=True)
class NextOrdinals:
    """Where a recording that goes on writing a session continues: the next beat seq, gap, event and
    phase ordinals, and the last seq whose live indices are stored (-1: none)."""

    seq: int
    gap: int
    event: int
    phase: int
    last_indices_seq: int


def next_ordinals(store: Store, session_id: str) -> NextOrdinals:
    conn = store.conn

    def next_of(sql: str) -> int:
        value = conn.execute(sql, (session_id,)).fetchone()[0]
        return 0 if value is None else int(value) + 1

    last = conn.execute("SELECT max(last_seq) FROM beat_index_chunks WHERE session_id = ?", (session_id,)).fetchone()[0]
    return NextOrdinals(
        seq=next_of("SELECT max(seq) FROM beats WHERE session_id = ?"),
        gap=next_of("SELECT max(ordinal) FROM gaps WHERE session_id = ?"),
        event=next_of("SELECT max(ordinal) FROM events WHERE session_id = ?"),
        phase=next_of("SELECT max(ordinal) FROM phases WHERE session_id = ?"),
        last_indices_seq=-1 if last is None else int(last),
    )


def session_status(store: Store, session_id: str) -> str | None:
    """The stored status of ``session_id`` (published or not), ``None`` when there is no such session."""
    row = store.conn.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else str(row[0])


def set_busy_wait(store: Store, ms: int) -> None:
    """How long this store's writes wait for another writer's lock before failing (``busy_timeout``)."""
    store.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")


def wal_autocheckpoint(store: Store, pages: int | None = None) -> int:
    """This connection's automatic checkpoint threshold in WAL pages (0: none); set it first when
    ``pages`` is given. SQLite's default is 1000. On a closed connection: nothing, -1."""
    try:
        if pages is not None:
            store.conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
        return int(store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    except sqlite3.ProgrammingError:
        return -1


class WalCheckpointer:
    """Checkpoints a store's WAL from a thread and a connection of its own.

    SQLite copies the WAL back into the database (a checkpoint, with an fsync of each file) inside
    the commit that takes the WAL past ``wal_autocheckpoint`` pages: that commit waits for the
    disk. A recorder at ``--speed max`` commits every session second, so it waited for a
    checkpoint about every 200 commits. With the recorder's connection set to
    ``wal_autocheckpoint = 0``, :meth:`committed` counts its commits and every ``every_commits``
    wakes this thread, which runs ``PRAGMA wal_checkpoint(PASSIVE)``: the same checkpoint, which
    never blocks the writer (its commits go on appending to the WAL meanwhile), and sqlite3
    releases the GIL while it runs. Durability is unchanged (a commit is in the WAL either way;
    the checkpoint fsyncs before it copies). A failed or busy checkpoint is left to the next one
    (a store that refuses writes says so on the recorder's own commits). :meth:`close` waits for a
    checkpoint under way and closes the connection.
    """

    def __init__(self, path: Path, every_commits: int):
        if every_commits < 1:
            raise ValueError(f"every_commits must be >= 1, got {every_commits!r}")
        self.path = Path(path)
        self.every_commits = int(every_commits)
        self.checkpoints = 0  # checkpoints run (for tests and benchmarks)
        self._commits = 0
        self._requested = 0  # checkpoints asked for by committed()
        self._due = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="biofeedback-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """One more commit on the store: wake the thread every ``every_commits``."""
        self._commits += 1
        if self._commits >= self.every_commits:
            self._commits = 0
            self._requested += 1
            self._due.set()

    def close(self) -> None:
        """Run the checkpoint asked for, if one is waiting, then stop the thread (waits for it)."""
        self._closing = True
        self._due.set()
        self._thread.join()

    def _work(self) -> None:
        conn = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=0.0)
            done = 0
            while True:
                self._due.wait()
                self._due.clear()
                if self._requested != done:
                    done = self._requested
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                        self.checkpoints += 1
                    except sqlite3.Error:
                        pass  # busy (another checkpoint) or a failing disk: the next one retries
                if self._closing:
                    return
        except sqlite3.Error:
            return  # no connection: the store checkpoints when its last connection closes
        finally:
            if conn is not None:
                conn.close()


# -- assessments -------------------------------------------------------------------------------------


#: ``(session_id, assessed_wall, protocol, status, resonance_rate_bpm, runner_up_bpm, result_json)``.
AssessmentRow = tuple[str, str, str, str, float | None, float | None, str]


_ASSESSMENTS = ("SELECT session_id, assessed_wall, protocol, status, resonance_rate_bpm, runner_up_bpm, result_json "
                "FROM assessments")


def put_assessment(store: Store, row: AssessmentRow) -> None:
    """Keep (or replace) the assessment of a session (``row[0]``), in its own transaction."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO assessments (session_id, assessed_wall, protocol, status, resonance_rate_bpm, "
            "runner_up_bpm, result_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )


def assessment_rows(store: Store) -> list[AssessmentRow]:
    """Every kept assessment, oldest first."""
    return list(store.conn.execute(_ASSESSMENTS + " ORDER BY assessed_wall, session_id"))


def assessment_row(store: Store, session_id: str) -> AssessmentRow | None:
    row: AssessmentRow | None = store.conn.execute(_ASSESSMENTS + " WHERE session_id = ?", (session_id,)).fetchone()
    return row


def latest_ok_assessment_row(store: Store) -> AssessmentRow | None:
    """The latest assessment with status ``ok`` and a resonance rate."""
    row: AssessmentRow | None = store.conn.execute(
        _ASSESSMENTS
        + " WHERE status = 'ok' AND resonance_rate_bpm IS NOT NULL ORDER BY assessed_wall DESC, session_id DESC"
    ).fetchone()
    return row
