"""Reading commands never write to the store: not a migrations table, not an orphan's status."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone

from biofeedback.beat import Beat
from devices.clock import VirtualClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store
from tests.reliability.reliability_cli import run_cli

WALL = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def _dump(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_read_of_a_foreign_database_creates_nothing(tmp_path):
    db = tmp_path / "biofeedback.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for command in (["sessions"], ["show", "last"], ["trends"]):
        proc = run_cli(*command, "--home", str(tmp_path))
        assert proc.returncode == 1, proc.stderr
        assert "not a biofeedback session store" in proc.stderr and "internal error" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_reads_leave_the_store_as_it_was_and_show_a_crashed_recording_as_incomplete(tmp_path):
    with Store.open_home(tmp_path) as store:
        rec = Recorder.create(store, NewSession("simulator", WALL, practice="resonance"), clock=VirtualClock())
        for k in range(1, 30):
            rec.add_beat(Beat(1000.0, float(k)))
        rec.flush()
        sid = rec.session_id
        store.locks.release(sid)  # the recorder "died": its lock is free, its status still 'recording'
    db = tmp_path / "biofeedback.sqlite"
    before = _dump(db)
    listing = run_cli("sessions", "--json", "--home", str(tmp_path))
    assert [s["status"] for s in json.loads(listing.stdout)] == ["incomplete"]
    for command in (["show", sid], ["trends"], ["compare", sid], ["export", sid, "--out", "-"]):
        proc = run_cli(*command, "--home", str(tmp_path))
        assert "internal error" not in proc.stderr, (command, proc.stderr)
    assert _dump(db) == before  # still 'recording' in the file: only a writing command recovers it
