"""0004 rebuilds beat_indices as a rowid table, keeping every stored row exactly."""

from __future__ import annotations

import json
import sqlite3

from sessions.migrations import applied_migrations, apply_migrations
from sessions.store import Store


def test_beat_indices_survive_the_rebuild_and_the_table_is_no_longer_without_rowid(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, upto="0003_beat_indices")
    conn.execute("INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
                 "VALUES ('s1', '2026-11-21T08:00:00+01:00', 'complete', 'live', '0.1.0')")
    rows = [("s1", i, json.dumps({"t_s": i * 0.8125, "rmssd_ms": 1 / 3 + i})) for i in range(50)]
    conn.executemany("INSERT INTO beat_indices VALUES (?, ?, ?)", rows)
    conn.close()

    with Store(path) as store:  # opening applies the pending migration
        assert "0004_beat_indices_rowid" in [n for n, _ in applied_migrations(store.conn)]  # later ones follow
        assert dict(store.iter_beat_indices("s1")) == {i: json.loads(t) for _, i, t in rows}

    # (0008 later replaces the table by beat_index_chunks: 0004's result is checked on its own)
    conn = sqlite3.connect(tmp_path / "at_0004.sqlite", isolation_level=None)
    apply_migrations(conn, upto="0004_beat_indices_rowid")
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'beat_indices'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql.upper()
