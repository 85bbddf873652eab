"""Named schema migrations for the session store, recorded in a ``migrations`` table.

Each migration is a name and a list of SQL statements. :func:`apply_migrations` applies, in order,
every migration whose name is not yet in ``migrations(name, applied_at)``, each inside its own
transaction together with the row that records it: a migration is either fully applied and recorded,
or not at all. Names never change once released; a schema change is always a new migration appended
to :data:`MIGRATIONS` (the pattern of sqlite-utils' ``migrations.py``, written here without it).

A store that records a migration this program does not know was written by a newer version:
:func:`apply_migrations` refuses it rather than guess (:class:`~biofeedback.errors.BiofeedbackError`).

The resulting schema is described in ``docs/storage.md``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from biofeedback.errors import BiofeedbackError


@dataclass(frozen=True)
class Migration:
    """One schema change: a unique ``name`` and its steps, in order: SQL statements (no transaction
    control) or functions of the connection (a conversion SQL cannot express), all in one transaction."""

    name: str
    statements: tuple[str | Callable[[sqlite3.Connection], None], ...]


_M0001 = Migration(
    "0001_initial",
    (
        # One row per recorded or imported session. JSON columns hold text written by json.dumps.
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            start_wall TEXT NOT NULL,            -- ISO 8601 with UTC offset
            end_wall TEXT,                       -- set by finish(); NULL while recording / if it crashed
            status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'incomplete')),
            source_kind TEXT NOT NULL,           -- 'live', 'simulator', 'import', 'replay'
            device_name TEXT,
            device_address TEXT,
            device_kind TEXT,
            device_info_json TEXT NOT NULL DEFAULT '{}',
            practice TEXT,
            practice_settings_json TEXT NOT NULL DEFAULT '{}',
            protocol_json TEXT NOT NULL DEFAULT '{}',  -- planned phase lengths, e.g. {"baseline_s": 60}
            engine_settings_json TEXT,           -- EngineSettings.to_dict(), for exact replay
            software_version TEXT NOT NULL,
            pid INTEGER,                         -- recording process, for orphan detection
            hostname TEXT
        )
        """,
        "CREATE INDEX sessions_start ON sessions(start_wall)",
        """
        CREATE TABLE phases (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            name TEXT NOT NULL,                  -- 'baseline', 'practice', 'recovery'
            start_s REAL NOT NULL,
            end_s REAL,                          -- NULL until the phase ends
            PRIMARY KEY (session_id, ordinal)
        ) WITHOUT ROWID
        """,
        # Raw beats, exactly as the source gave them. Only `artifact` is ever updated (trigger below).
        """
        CREATE TABLE beats (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,                -- 0, 1, 2... in arrival order
            rr_ticks_1024 INTEGER,               -- raw 1/1024 s value from the strap, if any
            rr_ms REAL NOT NULL,                 -- exact float64, never rounded
            arrival_s REAL,                      -- notification arrival, s since session start
            t_s REAL NOT NULL,                   -- reconstructed beat time, s since session start
            contact INTEGER,                     -- 1/0/NULL
            artifact TEXT,                       -- label settled by the engine, NULL until then
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID
        """,
        """
        CREATE TRIGGER beats_raw_columns_immutable
        BEFORE UPDATE OF session_id, seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact ON beats
        BEGIN
            SELECT RAISE(ABORT, 'raw beat columns are never updated');
        END
        """,
        """
        CREATE TABLE gaps (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            next_seq INTEGER NOT NULL,           -- beats recorded before the gap (seq of the next beat)
            start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (session_id, ordinal)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE events (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            next_seq INTEGER NOT NULL,           -- beats recorded before the event
            t_s REAL NOT NULL,
            kind TEXT NOT NULL,
            data_json TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (session_id, ordinal)
        ) WITHOUT ROWID
        """,
    ),
)

_M0002 = Migration(
    "0002_import_fingerprint",
    (
        "ALTER TABLE sessions ADD COLUMN import_sha256 TEXT",  # sha256 of the imported file's bytes
        "ALTER TABLE sessions ADD COLUMN import_path TEXT",
        "ALTER TABLE sessions ADD COLUMN import_format TEXT",
        "CREATE INDEX sessions_import_sha256 ON sessions(import_sha256) WHERE import_sha256 IS NOT NULL",
    ),
)

_M0003 = Migration(
    "0003_beat_indices",
    (
        # What the screen showed for each settled beat: BeatIndices.to_json_dict() as JSON text,
        # so a replay can be compared bit for bit (json round-trips float64 exactly).
        """
        CREATE TABLE beat_indices (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            indices_json TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID
        """,
    ),
)

_M0004 = Migration(
    "0004_beat_indices_rowid",
    (
        # A WITHOUT ROWID table keeps at most ~1 KB of a row in its b-tree page (4 KB pages); the
        # ~1.2 KB of JSON per beat spilled into one 4 KB overflow page per row (about 4 KB per beat,
        # 370 MB for a day). An ordinary rowid table packs several rows per page.
        "CREATE TABLE beat_indices_new ("
        " session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
        " seq INTEGER NOT NULL,"
        " indices_json TEXT NOT NULL,"
        " PRIMARY KEY (session_id, seq))",
        "INSERT INTO beat_indices_new (session_id, seq, indices_json) "
        "SELECT session_id, seq, indices_json FROM beat_indices ORDER BY session_id, seq",
        "DROP TABLE beat_indices",
        "ALTER TABLE beat_indices_new RENAME TO beat_indices",
    ),
)

_M0005 = Migration(
    "0005_end_reason_and_raw_beats_replace_guard",
    (
        # Why a recording ended: 'finished' (the protocol ran to its end), 'quit' (q), 'interrupted'
        # (Ctrl-C, SIGTERM), 'source_ended' (the strap or file stopped); NULL for imports and for a
        # recording that crashed. The status column keeps its meaning (complete = finished cleanly).
        "ALTER TABLE sessions ADD COLUMN end_reason TEXT",
        # Older stores: the reason was already recorded as the session_end event.
        "UPDATE sessions SET end_reason = ("
        " SELECT json_extract(e.data_json, '$.reason') FROM events e"
        " WHERE e.session_id = sessions.id AND e.kind = 'session_end' ORDER BY e.ordinal DESC LIMIT 1)"
        " WHERE end_reason IS NULL",
        # A session written in several transactions (a long import, a long delete) is 0 until its
        # last transaction publishes it: readers see it whole or not at all, and the write lock is
        # held only briefly at a time, so a live recording can commit in between.
        "ALTER TABLE sessions ADD COLUMN published INTEGER NOT NULL DEFAULT 1",
        # INSERT OR REPLACE deletes the old row and inserts a new one: the UPDATE trigger of 0001
        # does not see it. A raw beat is written once: a second insert of (session_id, seq) aborts,
        # whatever the conflict clause.
        """
        CREATE TRIGGER beats_raw_rows_never_replaced
        BEFORE INSERT ON beats
        WHEN EXISTS (SELECT 1 FROM beats WHERE session_id = NEW.session_id AND seq = NEW.seq)
        BEGIN
            SELECT RAISE(ABORT, 'raw beats are never replaced');
        END
        """,
    ),
)

_M0006 = Migration(
    "0006_simulated_sessions",
    (
        # 1 = the beats came from the simulator (`biofeedback demo`, also through the virtual BLE
        # strap): shown as such in `sessions`, left out of `trends`. Sessions recorded before this
        # migration by the simulator are marked from their source kind.
        "ALTER TABLE sessions ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1))",
        "UPDATE sessions SET simulated = 1 WHERE source_kind = 'simulator'",
    ),
)

_M0007 = Migration(
    "0007_assessments",
    (
        # One row per resonance-frequency assessment session (`biofeedback assess`, `demo --assess`):
        # its result, recomputable from the session's raw beats (sessions/assessments.py). The user's
        # resonance rate is the rate of the latest assessment with status 'ok'.
        """
        CREATE TABLE assessments (
            session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            assessed_wall TEXT NOT NULL,         -- ISO 8601 with UTC offset (the session's start)
            protocol TEXT NOT NULL CHECK (protocol IN ('stepped', 'sliding')),
            status TEXT NOT NULL CHECK (status IN ('ok', 'repeat')),
            resonance_rate_bpm REAL,             -- breaths/min; NULL when status = 'repeat'
            runner_up_bpm REAL,
            result_json TEXT NOT NULL            -- AssessmentResult.to_json_dict()
        )
        """,
        "CREATE INDEX assessments_wall ON assessments(assessed_wall)",
    ),
)



def _compact_beat_indices(conn: sqlite3.Connection) -> None:
    """0008: every ``beat_indices`` JSON row into columnar chunks (:mod:`sessions.index_chunks`),
    read in primary-key order and written :data:`~sessions.index_chunks.CHUNK_BEATS` rows at a time
    (memory does not grow with the store)."""
    from sessions.index_chunks import CHUNK_BEATS, Row, columnar_chunks

    def write(session_id: str, rows: list[Row]) -> None:
        conn.executemany(
            "INSERT INTO beat_index_chunks (session_id, first_seq, last_seq, n, data) VALUES (?, ?, ?, ?, ?)",
            [(session_id, c.first_seq, c.last_seq, c.n, c.data) for c in columnar_chunks(rows)],
        )

    current: str | None = None
    rows: list[Row] = []
    cursor = conn.execute("SELECT session_id, seq, indices_json FROM beat_indices ORDER BY session_id, seq")
    while batch := cursor.fetchmany(CHUNK_BEATS):
        for session_id, seq, text in batch:
            if rows and (session_id != current or len(rows) == CHUNK_BEATS):
                write(str(current), rows)
                rows = []
            current = session_id
            try:
                indices = json.loads(text)
            except ValueError as exc:  # a damaged store: nothing is changed (the migration rolls back)
                raise BiofeedbackError(
                    f"session {session_id}, beat {seq}: its stored live indices are not JSON ({exc}); "
                    "the store was left as it was"
                ) from exc
            rows.append((int(seq), indices))
    if rows:
        write(str(current), rows)


_M0008 = Migration(
    "0008_compact_beat_indices",
    (
        # The live indices as chunks of up to 1024 rows (about 142 bytes a beat instead of 1.4 KB of
        # JSON text): columnar and compressed, or, for the rows of one recorder commit not yet merged,
        # JSON (sessions/index_chunks.py). Rows of a session never overlap: a chunk covers the seqs
        # first_seq..last_seq, n of them. An ordinary rowid table: a chunk's blob (about 150 KB)
        # lives in overflow pages either way.
        """
        CREATE TABLE beat_index_chunks (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            n INTEGER NOT NULL,                  -- rows in the chunk
            data BLOB NOT NULL,                  -- sessions/index_chunks.py
            PRIMARY KEY (session_id, first_seq)
        )
        """,
        _compact_beat_indices,
        "DROP TABLE beat_indices",
    ),
)

#: Every migration, in the order applied. Append only.
MIGRATIONS: tuple[Migration, ...] = (_M0001, _M0002, _M0003, _M0004, _M0005, _M0006, _M0007, _M0008)

_CREATE_TABLE = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """``(name, applied_at)`` of every migration recorded in the store, in the order applied."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").fetchone()
    if not exists:
        return []
    return [(r[0], r[1]) for r in conn.execute("SELECT name, applied_at FROM migrations ORDER BY rowid")]


def apply_migrations(
    conn: sqlite3.Connection, *, upto: str | None = None, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[str]:
    """Apply every pending migration (or those up to and including ``upto``); return the names applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``): each migration runs in its own
    ``BEGIN IMMEDIATE ... COMMIT`` and is rolled back entirely if any statement fails.
    """
    if upto is not None and upto not in {m.name for m in migrations}:
        raise ValueError(f"unknown migration {upto!r}")
    conn.execute(_CREATE_TABLE)
    done = {name for name, _ in applied_migrations(conn)}
    unknown = done - {m.name for m in migrations}
    if unknown:
        raise BiofeedbackError(
            f"the session store has schema migrations this version does not know ({', '.join(sorted(unknown))}); "
            "it was written by a newer biofeedback: upgrade"
        )
    applied: list[str] = []
    for migration in migrations:
        if migration.name not in done:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-check inside the write lock: another process may have migrated meanwhile.
                if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (migration.name,)).fetchone() is None:
                    for statement in migration.statements:
                        if callable(statement):
                            statement(conn)
                        else:
                            conn.execute(statement)
                    conn.execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                        (migration.name, datetime.now(timezone.utc).isoformat(timespec="seconds")),
                    )
                    applied.append(migration.name)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if migration.name == upto:
            break
    return applied
