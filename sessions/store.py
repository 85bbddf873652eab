"""The session store: one SQLite file, ``<home>/biofeedback.sqlite``, through the standard ``sqlite3``.

Opening a :class:`Store`

- creates the home directory (0700) and the database file (0600; SQLite gives the ``-wal`` and
  ``-shm`` files the database file's permissions) when they do not exist;
- switches to WAL journalling with ``synchronous=NORMAL`` and applies pending migrations
  (:mod:`sessions.migrations`);
- marks ``incomplete`` every session still ``recording`` whose recorder is gone: a recorder holds an
  exclusive ``flock`` on ``<db>.locks/<session id>.lock`` for as long as it records, and the kernel
  releases that lock when the process dies, however it dies (SIGKILL, power loss). An incomplete
  session stays readable and analysable; nothing recorded is deleted.

The recording locks themselves are :mod:`sessions.locks`. The rows recorded inside a session
(beats, gaps, events, phases, live indices, assessments) are written by :mod:`sessions.store_rows`,
which the recorder (:class:`sessions.recorder.Recorder`) and the importer (:mod:`sessions.importing`)
call inside this module's transactions; this module creates, reads, publishes, resolves and deletes
sessions. No other module holds SQL (besides :mod:`sessions.migrations`). Session references given by a user (``SESSION`` in the CLI)
are resolved by :meth:`Store.resolve_session`: a full id, a unique id prefix, or ``last``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
from collections.abc import Iterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biofeedback.beat import Beat, Gap
from biofeedback.errors import BiofeedbackError, InputError
from biofeedback.events import OLD_PHASE_CHANGE, Event, PhaseBegin, PhaseEnd, event_from_data
from sessions.locks import FLOCK, RecordingLocks, create_private_dir, pid_alive, yield_write_lock
from sessions.migrations import MIGRATIONS, applied_migrations, apply_migrations

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

DB_FILENAME = "biofeedback.sqlite"
#: Rows written or deleted per transaction by long operations (imports, deletes): each holds the
#: write lock for tens of milliseconds, so a live recording commits in between.
CHUNK_ROWS = 20_000
#: Chunks of live indices deleted per transaction (:data:`sessions.index_chunks.CHUNK_BEATS` rows
#: each: about as many beats as :data:`CHUNK_ROWS`).
CHUNK_INDEX_CHUNKS = 20
SOURCE_KINDS = ("live", "simulator", "import", "replay")
STATUSES = ("recording", "complete", "incomplete")
#: Why a recording ended (``sessions.end_reason``): the protocol ran to its end, the user pressed q,
#: Ctrl-C/SIGTERM, or the source stopped sending (strap gone for good, end of a replayed file).
END_REASONS = ("finished", "quit", "interrupted", "source_ended")


class StoreError(BiofeedbackError):
    """The store file cannot be used (not a database, locked, unwritable...). Exit status 1.

    ``busy`` is true when another process holds the write lock (worth retrying soon)."""

    def __init__(self, message: str, *, busy: bool = False):
        super().__init__(message)
        self.busy = busy


# SQLite primary result codes that mean "the machine", not "the program": the disk, the file system,
# another process. Anything else from SQLite is a bug and is not translated.
_ENVIRONMENT_CODES = {
    3: "the store's file system refused access (permission)",  # SQLITE_PERM
    5: "the store is busy (another program holds its write lock)",  # SQLITE_BUSY
    6: "the store is locked",  # SQLITE_LOCKED
    8: "the store is read-only (its file or folder cannot be written)",  # SQLITE_READONLY
    10: "the disk could not be written (disk full, file size limit, or an I/O error)",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the store file cannot be opened",  # SQLITE_CANTOPEN
}


def environment_failure(path: Path, exc: BaseException) -> "StoreError | None":
    """A plain-words :class:`StoreError` (exit 1) for an SQLite error caused by the machine (disk
    full, read-only, I/O error, busy), or ``None`` for any other error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    reason = _ENVIRONMENT_CODES.get(code & 0xFF)
    if reason is None:
        return None
    return StoreError(f"{path}: {reason}", busy=(code & 0xFF) in (5, 6))


def db_path(home: str | Path) -> Path:
    """The store file inside a data directory."""
    return Path(home) / DB_FILENAME


@dataclass(frozen=True)
class NewSession:
    """What is known when a session starts; given to :meth:`Store.create_session`.

    ``protocol`` holds the planned phase lengths (e.g. ``{"baseline_s": 60, "practice_s": 300,
    "recovery_s": 60}``); ``engine_settings`` is ``EngineSettings.to_dict()`` so a replay uses the
    same settings; ``device_info`` the :class:`devices.source.DeviceInfo` fields as a dict.
    """

    source_kind: str
    start_wall: datetime
    device_name: str | None = None
    device_address: str | None = None
    device_kind: str | None = None
    device_info: Mapping[str, Any] = field(default_factory=dict)
    practice: str | None = None
    practice_settings: Mapping[str, Any] = field(default_factory=dict)
    protocol: Mapping[str, Any] = field(default_factory=dict)
    engine_settings: Mapping[str, Any] | None = None
    software_version: str | None = None  # default: biofeedback.__version__
    import_sha256: str | None = None
    import_path: str | None = None
    import_format: str | None = None
    simulated: bool = False  # the beats came from the simulator (a demo), not a person

    @classmethod
    def from_device(cls, source_kind: str, start_wall: datetime, info: Any, **kwargs: Any) -> "NewSession":
        """Build from a :class:`devices.source.DeviceInfo` (any dataclass with ``name``/``address``/``kind``)."""
        from dataclasses import asdict, is_dataclass

        data = asdict(info) if is_dataclass(info) and not isinstance(info, type) else dict(info)
        return cls(
            source_kind=source_kind,
            start_wall=start_wall,
            device_name=data.get("name"),
            device_address=data.get("address"),
            device_kind=data.get("kind"),
            device_info=data,
            **kwargs,
        )


@dataclass(frozen=True)
class SessionInfo:
    """One session's metadata as stored (JSON columns decoded), plus beat count and duration."""

    id: str
    start_wall: str
    end_wall: str | None
    status: str
    source_kind: str
    device_name: str | None
    device_address: str | None
    device_kind: str | None
    device_info: dict[str, Any]
    practice: str | None
    practice_settings: dict[str, Any]
    protocol: dict[str, Any]
    engine_settings: dict[str, Any] | None
    software_version: str
    import_sha256: str | None
    import_path: str | None
    import_format: str | None
    n_beats: int
    duration_s: float | None  # t_s of the last beat, None when there is none
    simulated: bool = False  # a demo on the simulator: not the user's practice (left out of trends)
    end_reason: str | None = None  # one of END_REASONS; None for imports and crashed recordings

    def to_json_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True, slots=True)
class StoredBeat:
    """A beat row: the raw :class:`~biofeedback.beat.Beat` fields plus ``seq`` and the artifact label."""

    seq: int
    rr_ms: float
    t_s: float
    rr_ticks_1024: int | None
    arrival_s: float | None
    contact: bool | None
    artifact: str | None

    def to_beat(self) -> Beat:
        return Beat(
            rr_ms=self.rr_ms,
            t_s=self.t_s,
            rr_ticks_1024=self.rr_ticks_1024,
            arrival_s=self.arrival_s,
            contact=self.contact,
        )


@dataclass(frozen=True, slots=True)
class StoredPhase:
    name: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True, slots=True)
class StoredGap:
    """A gap and its place in the stream: ``next_seq`` beats were recorded before it."""

    next_seq: int
    gap: Gap


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event and its place in the stream: ``next_seq`` beats were recorded before it."""

    next_seq: int
    t_s: float
    kind: str
    data: dict[str, Any]

    @property
    def event(self) -> Event:
        """The typed event (:mod:`biofeedback.events`)."""
        return event_from_data(self.kind, self.t_s, self.data)


def _stored_event(next_seq: int, t_s: float, kind: str, data: dict[str, Any]) -> StoredEvent:
    """A stored event row, in today's spelling: sessions recorded before one vocabulary of events
    say ``phase_change`` (``{"phase", "action"}``), read as ``phase_begin`` / ``phase_end``."""
    if kind == OLD_PHASE_CHANGE:
        event = event_from_data(kind, t_s, data)
        if isinstance(event, (PhaseBegin, PhaseEnd)):
            return StoredEvent(next_seq, t_s, event.kind, dict(event.data))
    return StoredEvent(next_seq, t_s, kind, data)


@dataclass(frozen=True)
class IndexColumns:
    """Live indices as columns (:meth:`Store.beat_index_columns`): ``seq`` (int64, ascending) and
    ``values[key]`` (float64, NaN where there is no number), all of the same length."""

    seq: "np.ndarray"
    values: dict[str, "np.ndarray"]


@dataclass(frozen=True)
class Deleted:
    """What :meth:`Store.delete_session` removed."""

    session_id: str
    beats: int
    gaps: int
    events: int
    phases: int
    indices: int


def new_session_id() -> str:
    """12 random hex digits (48 bits): short to type, and any 4-6 leading digits are usually unique."""
    return secrets.token_hex(6)


def _json(value: Any) -> str:
    return json.dumps(dict(value) if isinstance(value, Mapping) else value, default=str)


def ensure_private(path: Path, mode: int) -> None:
    """Refuse (:class:`InputError`, exit 2) a file or directory of the store that belongs to another
    user; tighten one of ours that others may read or write to ``mode`` (0600 files, 0700 dirs).

    Health data: another user must not read the beats, nor plant or swap files in the home."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # pragma: no cover - Windows: ACLs, not modes
        return
    if st.st_uid != getuid():
        kind = "directory" if path.is_dir() else "file"
        raise InputError(
            f"{path}: this {kind} belongs to another user (uid {st.st_uid}), so it is not a private place for "
            "your recordings; use a --home of your own"
        )
    if st.st_mode & 0o777 != mode:
        try:
            os.chmod(path, mode)
        except OSError as exc:
            raise StoreError(f"{path}: cannot make it private (mode {mode:o}): {exc.strerror}") from exc


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (never wider, whatever the umask) if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
    os.close(fd)


class Store:
    """A session store file. Use as a context manager, or call :meth:`close`.

    ``Store(path)`` opens (creating if needed) the SQLite file at ``path``; see the module docstring
    for what opening does. ``Store.open_home(home)`` opens ``<home>/biofeedback.sqlite``.
    """

    def __init__(self, path: str | Path, *, migrate: bool = True, recover: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self.locks_dir = self.path.with_name(self.path.name + ".locks")
        self.locks = RecordingLocks(self.locks_dir)  # sessions.locks: who is writing which session
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: no session store here")
        else:
            try:
                create_private_dir(self.path.parent)
            except OSError as exc:
                raise StoreError(f"{self.path.parent}: cannot create the store's folder: {exc.strerror or exc}") from exc
        ensure_private(self.path.parent, 0o700)
        if not readonly:
            try:
                _create_private_file(self.path)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot create the store: {exc.strerror or exc}") from exc
        for private in (self.path, *(self.path.with_name(self.path.name + x) for x in ("-wal", "-shm"))):
            ensure_private(private, 0o600)
        ensure_private(self.locks_dir, 0o700)
        try:
            # Autocommit mode: transactions are explicit (BEGIN ... COMMIT), see transaction().
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            self.conn.execute("PRAGMA foreign_keys = ON")
            if readonly:
                self._open_for_reading()
                return
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # synchronous=NORMAL in WAL mode: a commit is appended to the WAL without fsync, so it
            # survives any crash of this process (the OS has the data), and is atomic either way:
            # the database is never corrupted. Only an OS crash or power loss may lose the last
            # commits since the last checkpoint fsync. With the recorder committing at least once a
            # second, a killed recorder loses at most the beats of the last second.
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch the store to WAL mode (got {mode!r})")
            if migrate:
                apply_migrations(self.conn)
        except sqlite3.DatabaseError as exc:
            failure = environment_failure(self.path, exc)
            if failure is not None:
                raise failure from exc
            raise StoreError(f"{self.path}: not a usable session store: {exc}") from exc
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists() and (side.stat().st_mode & 0o077):
                os.chmod(side, 0o600)
        if recover:
            self.recover_orphans()

    def _open_for_reading(self) -> None:
        """A reading command's store: nothing is created or written (no migrations table, no orphan
        recovery, ``query_only``). The one exception is the schema upgrade of a store written by an
        older biofeedback (pending known migrations are applied, as any command would)."""
        has_migrations = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
        ).fetchone()
        if not has_migrations:
            self.conn.close()
            raise StoreError(
                f"{self.path}: not a biofeedback session store (it has no migrations table); nothing was changed"
            )
        done = {name for name, _ in applied_migrations(self.conn)}
        if any(m.name not in done for m in MIGRATIONS) or done - {m.name for m in MIGRATIONS}:
            apply_migrations(self.conn)  # an upgrade (or the refusal of a newer store)
        self.conn.execute("PRAGMA query_only = ON")

    @classmethod
    def open_home(cls, home: str | Path, **kwargs: Any) -> "Store":
        """Open ``<home>/biofeedback.sqlite``, creating the directory (0700) and the file (0600)."""
        return cls(db_path(home), **kwargs)

    @classmethod
    def open_existing(cls, home: str | Path, **kwargs: Any) -> "Store | None":
        """Open ``<home>/biofeedback.sqlite`` if it exists, else ``None`` (read commands create nothing).
        With ``readonly=True`` nothing in the store is written (see :meth:`_open_for_reading`)."""
        path = db_path(home)
        return cls(path, **kwargs) if path.exists() else None

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and release any recording lock still held (its session stays
        ``recording`` until some store opening notices the lock is free and marks it incomplete)."""
        self.locks.release_all()
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def transaction(self) -> "_Transaction":
        """``with store.transaction():`` one ``BEGIN IMMEDIATE ... COMMIT``, rolled back on any exception."""
        return _Transaction(self.conn, self.path)

    # -- recording locks -------------------------------------------------------------------------

    def holds_lock(self, session_id: str) -> bool:
        """True while this store holds the recording lock of ``session_id`` (:mod:`sessions.locks`)."""
        return self.locks.held(session_id)

    def recover_orphans(self) -> list[str]:
        """Mark ``incomplete`` every ``recording`` session whose recorder is gone, and remove what an
        interrupted chunked import or delete left unpublished; return the ids marked incomplete."""
        rows = self.conn.execute(
            "SELECT id, pid, hostname, published FROM sessions WHERE status = 'recording' OR published = 0"
        ).fetchall()
        recovered: list[str] = []
        for session_id, pid, hostname, published in rows:
            if not published:
                if not self.locks.held(session_id) and self.locks.acquire(session_id):
                    self.locks.release(session_id)
                    self.delete_session(session_id)  # its writer is gone: never shown, now removed
                continue
            if self.locks.held(session_id):
                continue
            if FLOCK:
                if not self.locks.acquire(session_id):
                    continue  # a live recorder holds it
            elif hostname == socket.gethostname() and pid and pid_alive(pid):  # pragma: no cover
                continue
            try:
                with self.transaction():
                    self.conn.execute(
                        "UPDATE sessions SET status = 'incomplete' WHERE id = ? AND status = 'recording'",
                        (session_id,),
                    )
                recovered.append(session_id)
            finally:
                self.locks.release(session_id)
        return recovered

    # -- creating and finishing ------------------------------------------------------------------

    def create_session(
        self, new: NewSession, *, status: str = "recording", session_id: str | None = None, published: bool = True
    ) -> str:
        """Insert a session and return its id.

        With ``status="recording"`` (a live recording, or a chunked import) this store takes the
        session's recording lock first and keeps it until :meth:`finish_session` or :meth:`publish`;
        with ``"complete"`` (inside the caller's transaction) no lock is taken. ``published=False``
        keeps the session out of every reading method until :meth:`publish`.
        """
        if new.source_kind not in SOURCE_KINDS:
            raise ValueError(f"source_kind must be one of {SOURCE_KINDS}, got {new.source_kind!r}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if new.start_wall.tzinfo is None:
            raise ValueError("start_wall must be timezone-aware")
        if new.software_version is None:
            from biofeedback import __version__ as version
        else:
            version = new.software_version
        session_id = session_id or new_session_id()
        if status == "recording" and not self.locks.acquire(session_id):
            raise StoreError(f"session {session_id} is locked by another recorder")
        row = (
            session_id,
            new.start_wall.isoformat(),
            status,
            new.source_kind,
            new.device_name,
            new.device_address,
            new.device_kind,
            _json(new.device_info),
            new.practice,
            _json(new.practice_settings),
            _json(new.protocol),
            None if new.engine_settings is None else _json(new.engine_settings),
            version,
            os.getpid(),
            socket.gethostname(),
            new.import_sha256,
            new.import_path,
            new.import_format,
            1 if (new.simulated or new.source_kind == "simulator") else 0,
            int(published),
        )
        sql = (
            "INSERT INTO sessions (id, start_wall, status, source_kind, device_name, device_address, device_kind, "
            "device_info_json, practice, practice_settings_json, protocol_json, engine_settings_json, "
            "software_version, pid, hostname, import_sha256, import_path, import_format, simulated, published) "
            "VALUES (" + ", ".join("?" * len(row)) + ")"
        )
        try:
            if self.conn.in_transaction:
                self.conn.execute(sql, row)
            else:
                with self.transaction():
                    self.conn.execute(sql, row)
        except BaseException:
            self.locks.release(session_id)
            raise
        return session_id

    def publish(self, session_id: str, end_wall: datetime | None) -> None:
        """Inside the caller's transaction: make an unpublished session ``complete`` and visible,
        with its end time. The caller releases the lock after the commit (:meth:`release`)."""
        self.conn.execute(
            "UPDATE sessions SET status = 'complete', published = 1, end_wall = ? WHERE id = ?",
            (None if end_wall is None else end_wall.isoformat(), session_id),
        )

    def release(self, session_id: str) -> None:
        """Release this store's lock on ``session_id`` (after :meth:`publish` was committed, or
        after giving up on an unpublished session)."""
        self.locks.release(session_id)

    def finish_session(
        self, session_id: str, status: str, end_wall: datetime | None, end_reason: str | None = None
    ) -> None:
        """Set the final status (``complete`` or ``incomplete``), end time and end reason (one of
        :data:`END_REASONS`, or ``None`` when unknown); release the lock."""
        if status not in ("complete", "incomplete"):
            raise ValueError(f"a finished session is 'complete' or 'incomplete', not {status!r}")
        if end_reason is not None and end_reason not in END_REASONS:
            raise ValueError(f"end_reason must be one of {END_REASONS}, got {end_reason!r}")
        try:
            with self.transaction():
                self.conn.execute(
                    "UPDATE sessions SET status = ?, end_wall = ?, end_reason = ? WHERE id = ?",
                    (status, None if end_wall is None else end_wall.isoformat(), end_reason, session_id),
                )
        finally:
            self.locks.release(session_id)

    # -- reading ---------------------------------------------------------------------------------

    _INFO_SQL = (
        "SELECT s.id, s.start_wall, s.end_wall, s.status, s.source_kind, s.device_name, s.device_address, "
        "s.device_kind, s.device_info_json, s.practice, s.practice_settings_json, s.protocol_json, "
        "s.engine_settings_json, s.software_version, s.import_sha256, s.import_path, s.import_format, "
        "(SELECT count(*) FROM beats b WHERE b.session_id = s.id), "
        "(SELECT b.t_s FROM beats b WHERE b.session_id = s.id ORDER BY b.seq DESC LIMIT 1), "
        "s.simulated, s.end_reason "
        "FROM sessions s WHERE s.published = 1"
    )

    def _info(self, row: tuple[Any, ...]) -> SessionInfo:
        status = row[3]
        if status == "recording" and self.readonly and self.locks.writer_gone(row[0]):
            status = "incomplete"  # what the next writing open will store (recover_orphans)
        return SessionInfo(
            id=row[0],
            start_wall=row[1],
            end_wall=row[2],
            status=status,
            source_kind=row[4],
            device_name=row[5],
            device_address=row[6],
            device_kind=row[7],
            device_info=json.loads(row[8]),
            practice=row[9],
            practice_settings=json.loads(row[10]),
            protocol=json.loads(row[11]),
            engine_settings=None if row[12] is None else json.loads(row[12]),
            software_version=row[13],
            import_sha256=row[14],
            import_path=row[15],
            import_format=row[16],
            n_beats=row[17],
            duration_s=row[18],
            simulated=bool(row[19]),
            end_reason=row[20],
        )

    def list_sessions(self) -> list[SessionInfo]:
        """Every session, oldest first (by start time, then id)."""
        rows = self.conn.execute(self._INFO_SQL + " ORDER BY s.start_wall, s.id").fetchall()
        return [self._info(r) for r in rows]

    def get_session(self, session_id: str) -> SessionInfo:
        """The session with exactly this id (:class:`InputError` if there is none)."""
        row = self.conn.execute(self._INFO_SQL + " AND s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise InputError(f"no session {session_id!r}")
        return self._info(row)

    def resolve_session(self, ref: str) -> str:
        """A user's session reference -> a session id.

        ``ref`` is a full id, a unique prefix of one (case-insensitive), or ``last`` (the session that
        started most recently). Unknown or ambiguous references raise :class:`InputError` (exit 2),
        listing the candidates when ambiguous.
        """
        text = ref.strip().lower()
        if not text:
            raise InputError("empty session reference (give an id, a unique prefix of one, or 'last')")
        if text == "last":
            row = self.conn.execute("SELECT id FROM sessions WHERE published = 1 ORDER BY start_wall DESC, rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise InputError("no sessions recorded yet, so there is no 'last' session")
            return str(row[0])
        exact = self.conn.execute("SELECT id FROM sessions WHERE id = ? AND published = 1", (text,)).fetchone()
        if exact is not None:
            return str(exact[0])
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' AND published = 1 ORDER BY start_wall", (escaped + "%",)
            )
        ]
        if not ids:
            raise InputError(f"no session matches {ref!r} (see `biofeedback sessions`)")
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise InputError(f"session reference {ref!r} is ambiguous: {len(ids)} sessions match ({shown})")
        return str(ids[0])

    def beats(self, session_id: str) -> list[StoredBeat]:
        """Every beat of a session in ``seq`` order."""
        return list(self.iter_beats(session_id))

    def iter_beats(self, session_id: str) -> Iterator[StoredBeat]:
        """The beats of a session in ``seq`` order, read as iterated (memory stays flat)."""
        rows = self.conn.execute(
            "SELECT seq, rr_ms, t_s, rr_ticks_1024, arrival_s, contact, artifact FROM beats "
            "WHERE session_id = ? ORDER BY seq",
            (session_id,),
        )
        for r in rows:
            yield StoredBeat(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else bool(r[5]), r[6])

    def beat_times(self, session_id: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(t_s, rr_ms)`` of a session's beats in ``seq`` order as float64 arrays: one query, no
        :class:`StoredBeat` per row (the analyses read only these two columns)."""
        import numpy as np

        rows = self.conn.execute(
            "SELECT t_s, rr_ms FROM beats WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()
        both = np.array(rows, dtype=np.float64).reshape(len(rows), 2)
        return np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1])

    def last_beat_s(self, session_id: str) -> float | None:
        """``t_s`` of the last beat, ``None`` when the session has none."""
        row = self.conn.execute(
            "SELECT t_s FROM beats WHERE session_id = ? ORDER BY seq DESC LIMIT 1", (session_id,)
        ).fetchone()
        return None if row is None else float(row[0])

    def phases(self, session_id: str) -> list[StoredPhase]:
        rows = self.conn.execute(
            "SELECT name, start_s, end_s FROM phases WHERE session_id = ? ORDER BY ordinal", (session_id,)
        )
        return [StoredPhase(*r) for r in rows]

    def gaps(self, session_id: str) -> list[StoredGap]:
        rows = self.conn.execute(
            "SELECT next_seq, start_s, end_s, reason FROM gaps WHERE session_id = ? ORDER BY ordinal", (session_id,)
        )
        return [StoredGap(r[0], Gap(r[1], r[2], r[3])) for r in rows]

    def events(self, session_id: str) -> list[StoredEvent]:
        rows = self.conn.execute(
            "SELECT next_seq, t_s, kind, data_json FROM events WHERE session_id = ? ORDER BY ordinal", (session_id,)
        )
        return [_stored_event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def beat_indices(self, session_id: str) -> dict[int, dict[str, Any]]:
        """``seq -> BeatIndices.to_json_dict()`` as shown live (decoded; floats exact)."""
        return dict(self.iter_beat_indices(session_id))

    def _index_chunks(self, session_id: str) -> Iterator[bytes]:
        rows = self.conn.execute(
            "SELECT data FROM beat_index_chunks WHERE session_id = ? ORDER BY first_seq", (session_id,)
        )
        for (data,) in rows:
            yield bytes(data)

    def iter_beat_indices(self, session_id: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(seq, indices)`` in seq order, read as iterated: one chunk of at most
        :data:`~sessions.index_chunks.CHUNK_BEATS` rows decoded at a time (memory does not grow with
        the session)."""
        from sessions.index_chunks import decode_rows

        for data in self._index_chunks(session_id):
            yield from decode_rows(data)

    def beat_index_columns(self, session_id: str, keys: Sequence[str]) -> IndexColumns:
        """Some of the live indices of every beat as columns (for figures): ``seq`` and one float64
        array per key, NaN where the value is ``None``, missing or not a number. Only those columns
        are decoded (no dict per beat)."""
        import numpy as np

        from sessions.index_chunks import decode_columns

        seqs: list[Any] = []
        columns: dict[str, list[Any]] = {k: [] for k in keys}
        for data in self._index_chunks(session_id):
            seq, values = decode_columns(data, keys)
            seqs.append(seq)
            for k in keys:
                columns[k].append(values[k])
        empty = np.empty(0)
        return IndexColumns(
            seq=np.concatenate(seqs) if seqs else np.empty(0, dtype=np.int64),
            values={k: np.concatenate(v) if v else empty for k, v in columns.items()},
        )

    def count_beat_indices(self, session_id: str) -> int:
        row = self.conn.execute(
            "SELECT coalesce(sum(n), 0) FROM beat_index_chunks WHERE session_id = ?", (session_id,)
        ).fetchone()
        return int(row[0])

    def items(self, session_id: str) -> Iterable[Beat | Gap]:
        """Beats and gaps in the order the source produced them (what a replay feeds the engine)."""
        gaps = self.gaps(session_id)
        g = 0
        for b in self.iter_beats(session_id):
            while g < len(gaps) and gaps[g].next_seq <= b.seq:
                yield gaps[g].gap
                g += 1
            yield b.to_beat()
        for rest in gaps[g:]:
            yield rest.gap

    def find_by_sha256(self, sha256: str) -> list[str]:
        """Ids of sessions imported from a file with this sha256."""
        return [r[0] for r in self.conn.execute("SELECT id FROM sessions WHERE import_sha256 = ? AND published = 1", (sha256,))]

    # -- deleting --------------------------------------------------------------------------------

    def delete_session(self, session_id: str) -> Deleted:
        """Delete a session and everything recorded in it. Refuses a session that a live recorder is
        writing.

        Atomic for readers, brief for writers: the first transaction unpublishes the session (it is
        gone for every reader at once), then its beats and live indices are deleted
        :data:`CHUNK_ROWS` at a time, each chunk its own short transaction (a live recording commits
        in between), and the last transaction removes the rest. An interrupted delete leaves an
        unpublished session that the next opening of the store removes."""
        held = self.locks.held(session_id)
        if not held and FLOCK:
            if not self.locks.acquire(session_id):
                raise InputError(f"session {session_id} is being recorded right now; stop it first")
        try:
            with self.transaction():
                if self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                    raise InputError(f"no session {session_id!r}")
                self.conn.execute("UPDATE sessions SET published = 0 WHERE id = ?", (session_id,))
            counts = {"beats": 0, "beat_indices": 0}
            # (table, its ordering column, rows a transaction, what a row counts as)
            chunked = (("beats", "seq", CHUNK_ROWS, "1"), ("beat_index_chunks", "first_seq", CHUNK_INDEX_CHUNKS, "n"))
            for table, key, limit, rows_of in chunked:
                counted = "beats" if table == "beats" else "beat_indices"
                while True:
                    with self.transaction():
                        victims = f"SELECT {key} FROM {table} WHERE session_id = ? ORDER BY {key} LIMIT ?"
                        counts[counted] += self.conn.execute(
                            f"SELECT coalesce(sum({rows_of}), 0) FROM {table} "
                            f"WHERE session_id = ? AND {key} IN ({victims})",
                            (session_id, session_id, limit),
                        ).fetchone()[0]
                        n = self.conn.execute(
                            f"DELETE FROM {table} WHERE session_id = ? AND {key} IN ({victims})",
                            (session_id, session_id, limit),
                        ).rowcount
                    if n < limit:
                        break
                    yield_write_lock()
            with self.transaction():
                for table in ("gaps", "events", "phases"):
                    counts[table] = self.conn.execute(
                        f"DELETE FROM {table} WHERE session_id = ?", (session_id,)
                    ).rowcount
                self.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        finally:
            if not held:
                self.locks.release(session_id)
        return Deleted(
            session_id, counts["beats"], counts["gaps"], counts["events"], counts["phases"], counts["beat_indices"]
        )


class _Transaction:
    """``BEGIN IMMEDIATE ... COMMIT``; rolled back on any exception. An SQLite error caused by the
    machine (disk full, read-only, I/O, busy) leaves as a plain-words :class:`StoreError`."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise (environment_failure(self.path, exc) or exc) from exc
        return self.conn

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as commit_exc:
                exc = commit_exc
        if self.conn.in_transaction:  # SQLite may already have rolled back (SQLITE_FULL, IOERR)
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        translated = None if exc is None else environment_failure(self.path, exc)
        if translated is not None:
            raise translated from exc
        if exc_type is None and exc is not None:
            raise exc
