"""Migration 0005: the end reason of older sessions is read back from their session_end event, and
raw beats cannot be rewritten through INSERT OR REPLACE."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from biofeedback.beat import Beat
from devices.clock import VirtualClock
from sessions.migrations import apply_migrations
from sessions.recorder import Recorder
from sessions.store import NewSession, Store

WALL = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def test_older_sessions_get_their_end_reason_and_keep_their_status(tmp_path):
    path = tmp_path / "biofeedback.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, upto="0004_beat_indices_rowid")
    conn.execute("INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
                 "VALUES ('a', '2026-03-01T08:00:00+00:00', 'complete', 'simulator', '0.1')")
    conn.execute("INSERT INTO events (session_id, ordinal, next_seq, t_s, kind, data_json) "
                 "VALUES ('a', 0, 5, 12.0, 'session_end', '{\"reason\": \"quit\"}')")
    conn.execute("INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
                 "VALUES ('b', '2026-03-01T09:00:00+00:00', 'complete', 'import', '0.1')")
    conn.close()
    with Store(path) as store:
        assert store.get_session("a").end_reason == "quit" and store.get_session("a").status == "complete"
        assert store.get_session("b").end_reason is None


def test_a_raw_beat_cannot_be_replaced(tmp_path):
    with Store.open_home(tmp_path) as store:
        with Recorder.create(store, NewSession("simulator", WALL), clock=VirtualClock()) as rec:
            rec.add_beat(Beat(800.0, 0.8))
        sid = rec.session_id
        for verb in ("INSERT OR REPLACE", "REPLACE"):
            with pytest.raises(sqlite3.IntegrityError, match="never replaced"):
                store.conn.execute(f"{verb} INTO beats (session_id, seq, rr_ms, t_s) VALUES (?, 0, 1.0, 0.8)", (sid,))
        with pytest.raises(sqlite3.IntegrityError, match="never updated"):
            store.conn.execute("UPDATE OR REPLACE beats SET rr_ms = 1.0 WHERE session_id = ?", (sid,))
        assert [b.rr_ms for b in store.beats(sid)] == [800.0]
