"""0006 marks simulated sessions: demos recorded before it are marked from their source kind."""

from __future__ import annotations

import sqlite3

from sessions.migrations import applied_migrations, apply_migrations
from sessions.store import Store


def test_old_demos_are_marked_simulated_and_real_sessions_are_not(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, upto="0004_beat_indices_rowid")
    for sid, kind in (("demo", "simulator"), ("mine", "live"), ("file", "import")):
        conn.execute("INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
                     "VALUES (?, '2026-11-21T08:00:00+01:00', 'complete', ?, '0.1.0')", (sid, kind))
    conn.close()

    with Store(path) as store:  # opening applies the pending migration
        assert "0006_simulated_sessions" in [n for n, _ in applied_migrations(store.conn)]
        assert {i.id: i.simulated for i in store.list_sessions()} == {"demo": True, "mine": False, "file": False}
