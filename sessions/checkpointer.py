"""WAL checkpoints on a thread of their own, for a recorder that commits many times a second.

In WAL mode every commit is appended to the ``-wal`` file, and SQLite copies the WAL back into the
database (a *checkpoint*) once it holds :data:`AUTO_CHECKPOINT_PAGES` pages: by default inside the
commit that crossed that size, on the committing thread. With ``synchronous = NORMAL`` a
checkpoint is the only step that calls ``fsync`` (the WAL, then the database). At ``--speed max``
the recorder commits once per second of session time, several thousand times a second of real
time, and those checkpoints took a third of the wall time of its commits (24 h demo: about 80
checkpoints, ~1 s).

:class:`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection and thread
whenever asked (the recorder asks every :data:`CHECKPOINT_EVERY_COMMITS` commits). SQLite releases
the GIL while it copies pages and waits for ``fsync``, so this runs beside the session, on the
other core. A passive checkpoint never blocks a writer and never waits for one. While it runs,
the recording connection's own automatic checkpoint is raised to :data:`BACKSTOP_PAGES`: it only
finishes what the thread has not yet copied (little, and its ``fsync`` has little left to write),
and it is what lets SQLite start the WAL again from its beginning. It also bounds the WAL if the
thread falls behind or fails. A checkpoint that fails (disk full, a read-only store) changes
nothing: every commit is still in the WAL, and the backstop, and the store's close, checkpoint as
before.

Crash safety is unchanged: what a commit appended to the WAL survives any crash of this process,
and a checkpoint is atomic wherever it stops.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sessions.store_rows import checkpoint_wal

#: SQLite's default ``wal_autocheckpoint`` (pages): what the recording connection gets back at the end.
AUTO_CHECKPOINT_PAGES = 1000
#: The recording connection's own automatic checkpoint while a :class:`WalCheckpointer` runs (pages:
#: 16 MiB of WAL at most, about 2 500 commits of beats at ``--speed max``).
BACKSTOP_PAGES = 4000
#: The recorder asks for a checkpoint after this many commits (at ``--speed max`` about 400 pages
#: of WAL, the size SQLite's own automatic checkpoint would have copied 2-3 times).
CHECKPOINT_EVERY_COMMITS = 256


class WalCheckpointer:
    """Passive WAL checkpoints of the store file at ``path``, on a thread of its own, when asked.

    ``request()`` asks for one (it never waits); ``close()`` runs the one still asked for, then
    stops the thread and closes its connection. :attr:`checkpoints` counts those that ran,
    :attr:`error` holds the latest failure (``None`` if none).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoints = 0
        self.error: BaseException | None = None
        self._wake = threading.Event()
        self._pending = False  # a checkpoint asked for and not yet begun
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="biofeedback-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Ask for a checkpoint as soon as the thread is free (requests made meanwhile are one)."""
        self._pending = True
        self._wake.set()

    def close(self) -> None:
        """Run the checkpoint still asked for, if any, then stop the thread (idempotent)."""
        self._stop = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            # mode=rw: the store exists; a store that vanished is not created again here
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=True)
        except sqlite3.Error as exc:
            self.error = exc  # no checkpoints here: the recording connection's backstop does them
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._pending and conn is not None:
                self._pending = False
                try:
                    checkpoint_wal(conn)
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # nothing changed; the next one, or the backstop, retries
                    self.error = exc
            if self._stop:
                break
        if conn is not None:
            conn.close()
