"""A live recording keeps committing while a long import or delete runs in another process's
connection: the long operation holds the write lock only one chunk at a time, the session it writes
appears whole or not at all, and a recorder that meets a busy store buffers and retries."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from biofeedback.beat import Beat
from devices.clock import VirtualClock
from sessions.importers.base import RRRecording
from sessions.importing import import_recording
from sessions.recorder import Recorder
from sessions.store import CHUNK_ROWS, NewSession, Store

WALL = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def _recording(n: int) -> RRRecording:
    rr = np.full(n, 800.0)
    return RRRecording(rr_ms=rr, t_s=np.cumsum(rr) / 1000.0, format="plain", path="big.txt",
                       start_wall=WALL, notes=())


def test_a_live_recorder_commits_between_the_chunks_of_a_long_import(tmp_path):
    n = 3 * CHUNK_ROWS + 5
    with Store.open_home(tmp_path) as live, Store.open_home(tmp_path) as importer:
        rec = Recorder.create(live, NewSession("simulator", WALL), clock=VirtualClock())
        live.conn.execute("PRAGMA busy_timeout = 0")  # any wait for the import's lock would fail at once
        seen_during: list[int] = []

        def progress(done: int, total: int) -> None:
            rec.add_beat(Beat(1000.0, float(done // CHUNK_ROWS)))
            rec.flush()  # must not meet the import's write lock
            seen_during.append(len(live.list_sessions()))

        sid = import_recording(importer, _recording(n), sha256="0" * 64, progress=progress)
        assert rec.failed_commits == 0 and rec.commits == 4
        assert seen_during == [1, 1, 1, 1]  # only the live session: the import is not visible half-written
        rec.finish()
        assert importer.get_session(sid).n_beats == n and importer.get_session(sid).status == "complete"
        assert len(live.beats(rec.session_id)) == 4


def test_a_recorder_buffers_and_retries_when_another_writer_holds_the_store(tmp_path):
    with Store.open_home(tmp_path) as live, Store.open_home(tmp_path) as other:
        clock = VirtualClock()
        rec = Recorder.create(live, NewSession("simulator", WALL), clock=clock)
        live.conn.execute("PRAGMA busy_timeout = 0")
        other.conn.execute("BEGIN IMMEDIATE")  # a long write elsewhere holds the lock
        for k in range(1, 4):
            rec.add_beat(Beat(1000.0, float(k)))  # each is a due commit: refused, kept, no exception
        assert rec.store_error is not None and rec.store_error.busy and rec.unstored_beats == 3
        other.conn.execute("COMMIT")
        rec.add_beat(Beat(1000.0, 4.0))  # the next due commit writes everything, in order
        assert rec.store_error is None and rec.unstored_beats == 0
        rec.finish()
        assert [b.t_s for b in live.beats(rec.session_id)] == [1.0, 2.0, 3.0, 4.0]


def test_a_delete_unpublishes_first_and_deletes_in_chunks(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = import_recording(store, _recording(2 * CHUNK_ROWS + 1), sha256="1" * 64)
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        deleted = store.delete_session(sid)
        store.conn.set_trace_callback(None)
        assert deleted.beats == 2 * CHUNK_ROWS + 1 and store.list_sessions() == []
        assert sum(1 for s in statements if s.startswith("BEGIN")) >= 4  # unpublish, 3 chunks, the rest
