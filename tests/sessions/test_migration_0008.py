"""0008 converts the live indices of sessions recorded before it (one JSON row a beat) into chunks:
an old session, migrated, still replays bit for bit, and reads back exactly as it was stored."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3

import pytest

from biofeedback.errors import BiofeedbackError
from biofeedback.practices import Protocol, customize, get_practice
from devices.clock import VirtualClock
from devices.simulator import SimulatorSource
from sessions.exporting import export_session
from sessions.index_chunks import CHUNK_BEATS, COLUMNAR
from sessions.live import SessionPlan, run_session
from sessions.migrations import applied_migrations, apply_migrations
from sessions.replay import replay_session
from sessions.simulated import simulated_person
from sessions.store import Store

# 18 minutes: about 1 200 beats, so the migrated indices span two chunks
PROTOCOL = Protocol(baseline_s=240, practice_s=600, recovery_s=240)
TABLES = ("sessions", "phases", "beats", "gaps", "events")


def _record(home) -> str:  # type: ignore[no-untyped-def]
    practice = customize(get_practice("resonance"), rate_bpm=6.0)
    plan = SessionPlan(practice=practice, protocol=PROTOCOL, source_kind="simulator")
    clock = VirtualClock()
    person = simulated_person(practice, PROTOCOL, seed=11, ectopic_rate=0.01, contact_loss_per_hour=10)
    source = SimulatorSource(person, clock=clock, duration_s=PROTOCOL.total_s)
    with Store.open_home(home) as store:
        return asyncio.run(run_session(source, plan, store, clock=clock, commit_clock=clock)).session_id


def _old_store(tmp_path, live_home, sid):  # type: ignore[no-untyped-def]
    """A store at schema 0007 holding the session as the recorder before 0008 wrote it: the same
    rows, and one ``beat_indices`` row per beat with ``json.dumps`` of what was shown."""
    with Store.open_home(live_home, readonly=True) as live:
        shown = list(live.iter_beat_indices(sid))
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, upto="0007_assessments")
    conn.execute("ATTACH DATABASE ? AS live", (str(live_home / "biofeedback.sqlite"),))
    conn.execute("BEGIN")
    for table in TABLES:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM live.{table}")
    texts = [(sid, seq, json.dumps(dict(d))) for seq, d in shown]
    conn.executemany("INSERT OR REPLACE INTO beat_indices (session_id, seq, indices_json) VALUES (?, ?, ?)", texts)
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE live")
    conn.close()
    return path, texts


def test_an_old_session_migrated_replays_bit_for_bit_and_reads_back_exactly(tmp_path):
    live_home = tmp_path / "live"
    sid = _record(live_home)
    path, texts = _old_store(tmp_path, live_home, sid)
    assert len(texts) > CHUNK_BEATS

    with Store(path) as store:  # opening applies 0008
        assert [n for n, _ in applied_migrations(store.conn)][-1] == "0008_compact_beat_indices"
        names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "beat_indices" not in names and "beat_index_chunks" in names
        chunks = store.conn.execute(
            "SELECT first_seq, last_seq, n, data FROM beat_index_chunks WHERE session_id = ? ORDER BY first_seq", (sid,)
        ).fetchall()
        assert [c[2] for c in chunks] == [CHUNK_BEATS, len(texts) - CHUNK_BEATS]
        assert all(bytes(c[3]).startswith(COLUMNAR) for c in chunks)
        # read back exactly: the same rows, key order and float bits (the JSON text is identical)
        assert [(sid, seq, json.dumps(d)) for seq, d in store.iter_beat_indices(sid)] == texts
        assert store.count_beat_indices(sid) == len(texts)
        buffer = io.StringIO()
        export_session(store, sid, "json", buffer)
        exported = json.loads(buffer.getvalue())["indices"]
        assert json.dumps(exported) == json.dumps({str(seq): json.loads(text) for _, seq, text in texts})
        _, outcome = replay_session(store, sid)
    assert outcome.reanalysis is False and outcome.matches is True
    assert outcome.n_beats == outcome.n_live == outcome.n_compared == outcome.n_identical == len(texts)


def test_a_damaged_json_row_stops_the_migration_and_changes_nothing(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, upto="0007_assessments")
    conn.execute("INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
                 "VALUES ('s1', '2026-11-21T08:00:00+01:00', 'complete', 'live', '0.1.0')")
    conn.executemany("INSERT INTO beat_indices VALUES (?, ?, ?)", [("s1", 0, '{"rmssd_ms": 1.5}'), ("s1", 1, '{"rms')])
    conn.close()
    with pytest.raises(BiofeedbackError, match="session s1, beat 1: its stored live indices are not JSON"):
        Store(path)
    conn = sqlite3.connect(path)
    assert [n for n, _ in applied_migrations(conn)][-1] == "0007_assessments"
    assert conn.execute("SELECT count(*) FROM beat_indices").fetchone()[0] == 2
    conn.close()
