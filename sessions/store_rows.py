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
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sessions.store import Store, environment_failure


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

    ``index_chunks_replaced`` ``(session id, first seq, last seq)``, when set, deletes the session's
    index chunks whose first seq is in that range before ``index_chunks`` are inserted (a merge of
    JSON chunks into columnar ones)."""

    beats: list[BeatRow] = field(default_factory=list)
    labels: list[LabelRow] = field(default_factory=list)
    gaps: list[GapRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    phases: list[PhaseRow] = field(default_factory=list)
    phase_ends: list[PhaseEndRow] = field(default_factory=list)
    index_chunks: list[IndexChunkRow] = field(default_factory=list)
    index_chunks_replaced: tuple[str, int, int] | None = None  # (session id, first seq, last seq)

    def __len__(self) -> int:
        """Rows held (index chunks not counted: they are derived at write time)."""
        return (len(self.beats) + len(self.labels) + len(self.gaps) + len(self.events) + len(self.phases)
                + len(self.phase_ends))

    def clear(self) -> None:
        for rows in (self.beats, self.labels, self.gaps, self.events, self.phases, self.phase_ends, self.index_chunks):
            rows.clear()
        self.index_chunks_replaced = None


_INSERT_BEATS = "INSERT INTO beats (session_id, seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact) VALUES "
_BEAT_VALUES = "(?, ?, ?, ?, ?, ?, ?)"
#: ``_INSERT_BEATS_OF[n]``: one statement inserting ``n`` beats (``n`` <= 4: the few beats of a
#: commit per second of session time; SQLite caches each once prepared)
_INSERT_BEATS_OF = [""] + [_INSERT_BEATS + ", ".join([_BEAT_VALUES] * n) for n in range(1, 5)]


def write_rows(store: Store, rows: Rows) -> None:
    """Insert ``rows``, in the caller's transaction (``with store.transaction(): write_rows(...)``);
    tables in the order their foreign keys need."""
    conn = store.conn
    if rows.beats:
        conn.executemany(_INSERT_BEATS_OF[1], rows.beats)
    if rows.labels:
        # one UPDATE per run of consecutive beats with the same label (a day at --speed max writes
        # ~2000 labels a second of real time in ~20 runs): what updating each in turn would give
        conn.executemany("UPDATE beats SET artifact = ? WHERE session_id = ? AND seq BETWEEN ? AND ?",
                         label_runs(rows.labels))
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
    if rows.index_chunks_replaced is not None:
        conn.execute("DELETE FROM beat_index_chunks WHERE session_id = ? AND first_seq BETWEEN ? AND ?",
                     rows.index_chunks_replaced)
    if rows.index_chunks:
        conn.executemany(
            "INSERT INTO beat_index_chunks (session_id, first_seq, last_seq, n, data) VALUES (?, ?, ?, ?, ?)",
            rows.index_chunks,
        )


def insert_beats(store: Store, beats: list[BeatRow]) -> None:
    """Insert ``beats`` in a transaction of their own, as ``with store.transaction(): write_rows(store,
    Rows(beats=beats))`` does (the same rows, the same errors), for less: up to four beats (a
    commit per second of session time) are one ``INSERT`` statement, which SQLite makes a
    transaction of its own (atomic; the same write lock, busy wait and WAL commit as ``BEGIN
    IMMEDIATE ... COMMIT``), without the two statements around it."""
    conn = store.conn
    n = len(beats)
    if not 0 < n < len(_INSERT_BEATS_OF) or conn.in_transaction:
        with store.transaction():
            write_rows(store, Rows(beats=beats))
        return
    try:
        conn.execute(_INSERT_BEATS_OF[n], beats[0] if n == 1 else tuple(chain.from_iterable(beats)))
    except sqlite3.Error as exc:  # SQLite rolled the statement back
        translated = environment_failure(store.path, exc)
        if translated is None:
            raise
        raise translated from exc


def label_runs(labels: list[LabelRow]) -> list[tuple[str | None, str, int, int]]:
    """``(artifact, session_id, first_seq, last_seq)`` for each run of ``labels`` (in the order
    given) that sets one label on consecutive seqs of one session: updating those ranges in order
    leaves every beat with the label the last of its rows gives it, as updating row by row does.

    >>> label_runs([("normal", "s", 3), ("normal", "s", 4), ("ectopic", "s", 5), ("normal", "s", 6)])
    [('normal', 's', 3, 4), ('ectopic', 's', 5, 5), ('normal', 's', 6, 6)]
    """
    runs: list[tuple[str | None, str, int, int]] = []
    for label, session_id, seq in labels:
        if runs:
            run_label, run_session, first, last = runs[-1]
            if seq == last + 1 and label == run_label and session_id == run_session:
                runs[-1] = (run_label, run_session, first, seq)
                continue
        runs.append((label, session_id, seq, seq))
    return runs


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


def checkpoint_wal(conn: sqlite3.Connection) -> None:
    """A passive WAL checkpoint on ``conn`` (a connection of its own to a store file): copies back
    into the database what it can without waiting for, or blocking, any writer."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # (fetched: the statement ends here)


def set_auto_checkpoint(store: Store, pages: int) -> None:
    """The WAL size (pages) from which this store's commits checkpoint it themselves (``wal_autocheckpoint``)."""
    store.conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")


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
