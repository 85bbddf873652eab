"""Recording locks: which process is writing a session right now.

A recorder (or a chunked import, or a delete) holds an exclusive ``flock`` on
``<db>.locks/<session id>.lock`` for as long as it writes the session; the kernel releases that lock
when the process dies, however it dies (SIGKILL, power loss), so the next opening of the store can
tell a crashed recording (lock free, status still ``recording``) from a live one (lock held).
Without ``fcntl`` (Windows) a held lock is only this process's own record, and orphan detection
falls back to the session's pid + hostname (:func:`pid_alive`).

:class:`~sessions.store.Store` owns one :class:`RecordingLocks` for its file; nothing else takes
these locks. :func:`yield_write_lock` is the pause between two chunks of a long write (an import,
a delete) that lets a waiting recorder commit.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

try:  # POSIX; elsewhere orphan detection falls back to pid + hostname
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Whether locks are real ``flock`` locks that the kernel drops with a dead process.
FLOCK = fcntl is not None
#: Pause between two chunks of a long write, long enough for a waiting recorder's busy handler to get
#: the SQLite write lock.
CHUNK_PAUSE_S = 0.03


def yield_write_lock() -> None:
    """Between two chunks of a long write: let a waiting writer (a live recording) take the lock."""
    time.sleep(CHUNK_PAUSE_S)


def create_private_dir(path: Path) -> None:
    """Create ``path`` and every missing parent with mode 0700, whatever the umask."""
    if path.is_dir():
        return
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask


def pid_alive(pid: int) -> bool:  # pragma: no cover - used only without fcntl
    """Whether process ``pid`` exists on this machine (the fallback evidence without ``flock``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RecordingLocks:
    """The recording locks of one store file, kept in ``locks_dir`` (``<db>.locks``, mode 0700)."""

    def __init__(self, locks_dir: Path):
        self.dir = locks_dir
        self._held: dict[str, int] = {}  # session id -> fd of its lock file (-1 without fcntl)

    def path(self, session_id: str) -> Path:
        return self.dir / f"{session_id}.lock"

    def held(self, session_id: str) -> bool:
        """True while this object holds the lock of ``session_id``."""
        return session_id in self._held

    def held_ids(self) -> list[str]:
        return list(self._held)

    def acquire(self, session_id: str) -> bool:
        """Take the recording lock of ``session_id`` (non-blocking); True if now held here."""
        if fcntl is None:  # pragma: no cover - no flock: pid + hostname are the evidence
            self._held[session_id] = -1
            return True
        create_private_dir(self.dir)
        fd = os.open(self.path(session_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._held[session_id] = fd
        return True

    def release(self, session_id: str, *, remove: bool = True) -> None:
        """Release the lock of ``session_id`` if held here (and remove its file unless ``remove=False``)."""
        fd = self._held.pop(session_id, None)
        if fd is None:
            return
        if remove:
            try:
                self.path(session_id).unlink()
            except FileNotFoundError:
                pass
        if fd >= 0:
            os.close(fd)  # closing releases the flock

    def release_all(self) -> None:
        for session_id in list(self._held):
            self.release(session_id)

    def writer_gone(self, session_id: str) -> bool:
        """True when no process holds the lock of ``session_id`` (checked without creating or changing
        anything: a shared, non-blocking flock on the lock file if it exists). Always False without
        ``fcntl``."""
        if fcntl is None:  # pragma: no cover
            return False
        try:
            fd = os.open(self.path(session_id), os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False
        finally:
            os.close(fd)  # closing releases the shared lock, if taken
        return True
