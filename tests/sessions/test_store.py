"""The store file: creation modes, migrations, orphan recovery, session references, deletion."""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from biofeedback.beat import Beat, Gap
from biofeedback.errors import BiofeedbackError, InputError
from devices.clock import VirtualClock
from sessions.migrations import MIGRATIONS, applied_migrations, apply_migrations
from sessions.recorder import Recorder
from sessions.store import DB_FILENAME, NewSession, Store

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _record(store: Store, n: int = 5, *, start_wall: datetime = WALL, session_id: str | None = None) -> str:
    clock = VirtualClock(start_wall=start_wall)
    sid = store.create_session(NewSession("simulator", start_wall, device_name="sim"), session_id=session_id)
    with Recorder(store, sid, clock=clock) as rec:
        t = 0.0
        for i in range(n):
            t += 0.8
            rec.add_beat(Beat(800.0 + i, t))
    return sid


def test_home_and_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        home = tmp_path / "a" / "home"
        with Store.open_home(home) as store:
            _record(store)
            assert _mode(home) == 0o700
            for name in (DB_FILENAME, DB_FILENAME + "-wal", DB_FILENAME + "-shm"):
                assert (home / name).exists(), name
                assert _mode(home / name) == 0o600, name
            assert _mode(store.locks_dir) == 0o700
    finally:
        os.umask(old)


def test_wal_mode_and_all_migrations_on_a_new_store(home: Path) -> None:
    with Store.open_home(home) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert [n for n, _ in applied_migrations(store.conn)] == [m.name for m in MIGRATIONS]
    with Store.open_home(home) as store:  # re-opening applies nothing twice
        assert [n for n, _ in applied_migrations(store.conn)] == [m.name for m in MIGRATIONS]


def test_migrating_a_store_at_the_first_schema_keeps_its_data(home: Path) -> None:
    path = home / DB_FILENAME
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, upto="0001_initial") == ["0001_initial"]
    conn.execute(
        "INSERT INTO sessions (id, start_wall, status, source_kind, software_version) "
        "VALUES ('abc123', '2025-12-01T10:00:00+01:00', 'complete', 'live', '0.0.1')"
    )
    conn.executemany(
        "INSERT INTO beats (session_id, seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact) VALUES (?,?,?,?,?,?,?)",
        [("abc123", 0, 722, 705.078125, 0.9, 0.705078125, 1), ("abc123", 1, 712, 695.3125, 1.9, 1.400390625, 1)],
    )
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'beat_indices'").fetchone()[0] == 0
    conn.close()

    with Store(path) as store:
        assert [n for n, _ in applied_migrations(store.conn)] == [m.name for m in MIGRATIONS]
        info = store.get_session("abc123")
        assert (info.status, info.n_beats, info.import_sha256) == ("complete", 2, None)
        assert [b.rr_ms for b in store.beats("abc123")] == [705.078125, 695.3125]
        assert store.beat_indices("abc123") == {}


def test_a_failing_migration_is_rolled_back_entirely(home: Path) -> None:
    from sessions.migrations import Migration

    conn = sqlite3.connect(home / "x.sqlite", isolation_level=None)
    broken = Migration("0099_broken", ("CREATE TABLE t1 (a)", "CREATE TABLE t1 (b)"))
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, migrations=(MIGRATIONS[0], broken))
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "t1" not in names and "sessions" in names
    assert [n for n, _ in applied_migrations(conn)] == ["0001_initial"]


def test_a_store_from_a_newer_version_is_refused(home: Path) -> None:
    with Store.open_home(home) as store:
        store.conn.execute("INSERT INTO migrations VALUES ('9999_future', '2030-01-01T00:00:00+00:00')")
    with pytest.raises(BiofeedbackError, match="9999_future"):
        Store.open_home(home)


def test_not_a_database_is_a_clear_error(home: Path) -> None:
    (home / DB_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BiofeedbackError, match="not a usable session store"):
        Store.open_home(home)


def test_raw_beat_columns_can_never_be_updated(home: Path) -> None:
    with Store.open_home(home) as store:
        sid = _record(store)
        with pytest.raises(sqlite3.IntegrityError, match="never updated"):
            store.conn.execute("UPDATE beats SET rr_ms = 1 WHERE session_id = ?", (sid,))
        store.conn.execute("UPDATE beats SET artifact = 'ectopic' WHERE session_id = ? AND seq = 0", (sid,))
        assert store.beats(sid)[0].artifact == "ectopic"


def test_a_recording_held_by_a_live_recorder_is_left_alone(home: Path) -> None:
    a = Store.open_home(home)
    sid = a.create_session(NewSession("live", WALL))
    rec = Recorder(a, sid, clock=VirtualClock())
    rec.add_beat(Beat(800.0, 0.8))
    rec.flush()
    with Store.open_home(home) as b:  # another opener (same or other process) sees the lock held
        assert b.get_session(sid).status == "recording"
        with pytest.raises(InputError, match="being recorded"):
            b.delete_session(sid)
    rec.finish()
    with Store.open_home(home) as b:
        assert b.get_session(sid).status == "complete"
    a.close()


def test_a_recording_whose_store_went_away_becomes_incomplete(home: Path) -> None:
    a = Store.open_home(home)
    sid = a.create_session(NewSession("live", WALL))
    rec = Recorder(a, sid, clock=VirtualClock())
    rec.add_beat(Beat(800.0, 0.8))
    rec.flush()
    a.close()  # releases the lock without finishing, as a dying process would
    with Store.open_home(home) as b:
        info = b.get_session(sid)
        assert info.status == "incomplete" and info.n_beats == 1


def test_resolve_session_by_id_prefix_and_last(home: Path) -> None:
    with Store.open_home(home) as store:
        first = _record(store, start_wall=WALL, session_id="aaaa11112222")
        second = _record(store, start_wall=datetime(2026, 3, 2, tzinfo=timezone.utc), session_id="aaab33334444")
        third = _record(store, start_wall=datetime(2026, 2, 1, tzinfo=timezone.utc), session_id="bbbb55556666")
        assert store.resolve_session("last") == second
        assert store.resolve_session("LAST") == second
        assert store.resolve_session(first) == first
        assert store.resolve_session("aaaa") == first
        assert store.resolve_session("b") == third
        with pytest.raises(InputError, match="ambiguous: 2 sessions match"):
            store.resolve_session("aaa")
        with pytest.raises(InputError, match="no session matches 'zz'"):
            store.resolve_session("zz")
        with pytest.raises(InputError, match="no session matches"):
            store.resolve_session("a%")  # LIKE wildcards are literal
        assert [s.id for s in store.list_sessions()] == [third, first, second]


def test_last_on_an_empty_store(home: Path) -> None:
    with Store.open_home(home) as store:
        with pytest.raises(InputError, match="no sessions recorded yet"):
            store.resolve_session("last")


def test_delete_removes_the_session_and_only_it(home: Path) -> None:
    with Store.open_home(home) as store:
        keep = _record(store, 3)
        clock = VirtualClock()
        sid = store.create_session(NewSession("simulator", WALL))
        with Recorder(store, sid, clock=clock) as rec:
            rec.begin_phase("baseline", 0.0)
            s = rec.add_beat(Beat(800.0, 0.8))
            rec.add_indices(s, {"rmssd_ms": None})
            rec.add_gap(Gap(0.8, 3.0, "disconnect"))
            rec.end_phase("baseline", 3.0)
        deleted = store.delete_session(sid)
        assert (deleted.beats, deleted.gaps, deleted.phases, deleted.indices) == (1, 1, 1, 1)
        assert deleted.events == 3  # phase begin, gap, phase end
        assert [s.id for s in store.list_sessions()] == [keep]
        for table in ("beats", "gaps", "events", "phases", "beat_index_chunks"):
            assert store.conn.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (sid,)).fetchone()[0] == 0
        assert len(store.beats(keep)) == 3
        with pytest.raises(InputError):
            store.delete_session(sid)
