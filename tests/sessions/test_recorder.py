"""The recorder's commit policy (injected VirtualClock, no sleeps) and what it writes."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat, Gap
from devices.clock import VirtualClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store
from sessions.store_rows import Rows, write_rows

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def _committed_beats(path: Path) -> int:
    """Beats visible to another connection, i.e. committed."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM beats").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def store(home: Path):
    with Store.open_home(home) as s:
        yield s


def test_commits_once_the_interval_has_passed_on_the_injected_clock(store: Store) -> None:
    clock = VirtualClock()
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock, commit_interval_s=1.0)
    for i in range(4):  # 0.0, 0.3, 0.6, 0.9 s: nothing committed yet (session time 0.1 ... 0.4 s)
        rec.add_beat(Beat(300.0, 0.1 * (i + 1)))
        assert _committed_beats(store.path) == 0
        clock.advance(0.3)
    assert clock.monotonic_s() == pytest.approx(1.2)
    rec.add_beat(Beat(300.0, 0.5))  # 1.2 s since the last commit: this call commits all five
    assert _committed_beats(store.path) == 5 and rec.commits == 1 and rec.pending == 0
    clock.advance(0.5)
    rec.add_beat(Beat(300.0, 0.6))
    assert _committed_beats(store.path) == 5
    assert rec.poll() is False
    clock.advance(0.5)
    assert rec.poll() is True  # a periodic poll commits with no new beat
    assert _committed_beats(store.path) == 6
    rec.add_beat(Beat(300.0, 0.7))
    rec.flush()  # flush commits at once
    assert _committed_beats(store.path) == 7 and rec.commits == 3
    rec.finish()
    assert store.get_session(sid).status == "complete"


def test_commits_once_per_second_of_session_time_too(store: Store) -> None:
    """A session faster than real time (--speed 20) commits once per session second, so a kill
    loses at most one second of the session, not twenty."""
    clock = VirtualClock()  # real time stands still
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock, commit_interval_s=1.0)
    rec.add_beat(Beat(500.0, 0.5))
    assert _committed_beats(store.path) == 0
    rec.add_beat(Beat(500.0, 1.0))  # one second of session time: committed
    assert _committed_beats(store.path) == 2 and rec.commits == 1
    rec.add_beat(Beat(500.0, 1.5))
    rec.add_event(2.1, "battery", {"battery_pct": 80})  # events move session time too
    assert _committed_beats(store.path) == 3 and rec.commits == 2
    rec.finish()


def _committed(path: Path) -> tuple[int, int, int]:
    """(beats, labelled beats, rows of live indices) visible to another connection."""
    conn = sqlite3.connect(path)
    try:
        beats, labelled = conn.execute("SELECT count(*), count(artifact) FROM beats").fetchone()
        indices = conn.execute("SELECT coalesce(sum(n), 0) FROM beat_index_chunks").fetchone()[0]
        return beats, labelled, indices
    finally:
        conn.close()


def test_faster_than_real_time_labels_and_indices_follow_the_clock(store: Store) -> None:
    """At --speed max the commits per session second carry the raw beats; the labels and live
    indices (recomputed exactly by replay) go once half a commit interval of real time has passed
    since they were last written, and on their own after a whole one: a kill loses at most one
    second of session of beats and one second of real time of labels and indices."""
    clock = VirtualClock()  # real time stands still
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock, commit_interval_s=1.0)

    def beat(i: int) -> None:
        seq = rec.add_beat(Beat(500.0, 0.5 * (i + 1)))
        rec.set_artifact_label(seq, "normal")
        rec.add_indices(seq, {"rmssd_ms": 10.0 + i})

    for i in range(6):  # 3 s of session: a commit per session second, beats only
        beat(i)
    assert _committed(store.path) == (6, 0, 0) and rec.commits == 3
    clock.advance(0.6)  # half an interval of real time: the next commit carries them along
    assert rec.poll() is False
    beat(6)
    assert _committed(store.path) == (6, 0, 0)
    beat(7)  # session second 4: this commit writes the beats and what was derived so far
    assert _committed(store.path) == (8, 7, 7) and rec.commits == 4
    clock.advance(1.0)
    assert rec.poll() is True  # a whole interval: the labels and indices left go on their own
    assert _committed(store.path) == (8, 8, 8) and rec.pending == 0
    rec.finish()
    assert store.beat_indices(sid) == {i: {"rmssd_ms": 10.0 + i} for i in range(8)}


def test_overdue_beats_after_a_stall_still_commit_every_session_second(store: Store) -> None:
    """After a stall (the first run compiling the kernels), an event stamped with the clock's present
    can be far ahead of the overdue beats that follow it; they must still be committed once per
    session second (at --speed 20 a kill once lost 32 s of printed session this way)."""
    clock = VirtualClock()  # real time stands still
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock, commit_interval_s=1.0)
    rec.add_beat(Beat(800.0, 0.8))
    rec.add_event(60.0, "battery", {"battery_pct": 80})  # stamped late: committed with beat 0
    assert _committed_beats(store.path) == 1
    committed = []
    for i in range(2, 40):  # the overdue beats, 0.8 s apart, all before the event's time
        rec.add_beat(Beat(800.0, 0.8 * i))
        committed.append(_committed_beats(store.path))
    # never more than the last second of session (two beats) waits in memory
    assert all(i + 2 - n <= 2 for i, n in enumerate(committed))
    rec.finish()


def test_one_transaction_per_commit(store: Store) -> None:
    clock = VirtualClock()
    sid = store.create_session(NewSession("simulator", WALL))
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    with Recorder(store, sid, clock=clock) as rec:
        for i in range(50):
            seq = rec.add_beat(Beat(800.0, 0.08 * (i + 1), rr_ticks_1024=819))  # slower than real time
            rec.set_artifact_label(seq, "normal")
            rec.add_indices(seq, {"rmssd_ms": 12.5 + i})
            clock.advance(0.1)  # 5 s in all -> commits at 1.0, 2.0, 3.0, 4.0 s, and on finish
    store.conn.set_trace_callback(None)
    begins = [s for s in statements if s.startswith("BEGIN")]
    commits = [s for s in statements if s == "COMMIT"]
    assert len(begins) == len(commits) == rec.commits + 1  # + the final status update
    assert rec.commits == 5
    beats = store.beats(sid)
    assert [b.seq for b in beats] == list(range(50))
    assert all(b.artifact == "normal" for b in beats)


def test_values_are_stored_exactly(store: Store) -> None:
    clock = VirtualClock(start_wall=WALL)
    sid = store.create_session(NewSession("live", WALL, engine_settings={"window_s": 60.0}))
    tricky = [705.078125, 0.1 + 0.2, 1000 / 3, math.nextafter(800.0, 900.0)]
    indices = {"t_s": 0.1 + 0.2, "rmssd_ms": 1 / 3, "lf_hf": None, "artifact": "normal", "coherence": 5e-324}
    with Recorder(store, sid, clock=clock) as rec:
        t = 0.0
        for i, rr in enumerate(tricky):
            t += rr / 1000
            rec.add_beat(Beat(rr, t, rr_ticks_1024=None if i else 722, arrival_s=t + 1e-3, contact=bool(i % 2)))
        rec.add_indices(2, indices)
        rec.add_event(0.5, "user_marker", {"note": "eyes closed", "n": 1})
        rec.add_event(0.6, "prompt_shown", {"text": datetime(2026, 1, 1)})  # not JSON: stored as str
        clock.advance(42.0)
    got = store.beats(sid)
    assert [b.rr_ms for b in got] == tricky
    assert got[0].rr_ticks_1024 == 722 and got[1].rr_ticks_1024 is None
    assert [b.contact for b in got] == [False, True, False, True]
    assert store.beat_indices(sid) == {2: indices}
    from sessions.index_chunks import COLUMNAR, decode_rows

    raw = store.conn.execute("SELECT data FROM beat_index_chunks").fetchone()[0]
    assert raw.startswith(COLUMNAR)  # finish() merged the commits' JSON chunks
    assert decode_rows(raw) == [(2, indices)]
    assert math.copysign(1.0, decode_rows(raw)[0][1]["coherence"]) == 1.0
    events = store.events(sid)
    assert [(e.kind, e.data) for e in events] == [
        ("user_marker", {"note": "eyes closed", "n": 1}),
        ("prompt_shown", {"text": "2026-01-01 00:00:00"}),
    ]
    info = store.get_session(sid)
    assert info.engine_settings == {"window_s": 60.0}
    assert info.end_wall == "2026-03-01T09:30:42+00:00"


def test_phases_gaps_and_stream_order(store: Store) -> None:
    clock = VirtualClock()
    sid = store.create_session(NewSession("simulator", WALL))
    with Recorder(store, sid, clock=clock) as rec:
        rec.begin_phase("baseline", 0.0)
        rec.add_beat(Beat(800.0, 0.8))
        rec.add_gap(Gap(0.8, 4.0, "disconnect"))
        rec.add_beat(Beat(900.0, 4.9))
        rec.end_phase("baseline", 5.0)
        rec.begin_phase("practice", 5.0)
        with pytest.raises(ValueError, match="already begun"):
            rec.begin_phase("practice", 6.0)
        with pytest.raises(ValueError, match="not begun"):
            rec.end_phase("recovery", 6.0)
    phases = store.phases(sid)
    assert [(p.name, p.start_s, p.end_s) for p in phases] == [("baseline", 0.0, 5.0), ("practice", 5.0, None)]
    items = list(store.items(sid))
    assert [type(i).__name__ for i in items] == ["Beat", "Gap", "Beat"]
    kinds = [(e.kind, e.data.get("phase"), e.next_seq) for e in store.events(sid)]
    assert kinds == [
        ("phase_begin", "baseline", 0),
        ("gap", None, 1),
        ("phase_end", "baseline", 2),
        ("phase_begin", "practice", 2),
    ]


def test_leaving_by_an_exception_marks_incomplete_and_keeps_the_data(store: Store) -> None:
    clock = VirtualClock()
    sid = store.create_session(NewSession("simulator", WALL))
    with pytest.raises(RuntimeError, match="strap fell off"):
        with Recorder(store, sid, clock=clock) as rec:
            rec.add_beat(Beat(800.0, 0.8))
            raise RuntimeError("strap fell off")
    info = store.get_session(sid)
    assert (info.status, info.n_beats) == ("incomplete", 1)
    assert not store.holds_lock(sid)
    with pytest.raises(ValueError, match="finished"):
        rec.add_beat(Beat(800.0, 1.6))


@pytest.mark.parametrize(
    "beat",
    [Beat(0.0, 1.0), Beat(-5.0, 1.0), Beat(float("nan"), 1.0), Beat(800.0, float("inf")), Beat(800.0, 1.0, arrival_s=float("nan"))],
)
def test_impossible_beats_are_refused_and_nothing_is_buffered(store: Store, beat: Beat) -> None:
    sid = store.create_session(NewSession("simulator", WALL))
    with Recorder(store, sid, clock=VirtualClock()) as rec:
        with pytest.raises(ValueError):
            rec.add_beat(beat)
        assert rec.pending == 0 and rec.n_beats == 0
        with pytest.raises(ValueError, match="no beat with seq 0"):
            rec.set_artifact_label(0, "ectopic")


def test_recorder_refuses_a_finished_session(store: Store) -> None:
    sid = store.create_session(NewSession("simulator", WALL))
    Recorder(store, sid, clock=VirtualClock()).finish()
    with pytest.raises(ValueError, match="not 'recording'"):
        Recorder(store, sid)


def test_create_and_seq_for_t_maps_lagging_engine_output_back(store: Store) -> None:
    clock = VirtualClock()
    rec = Recorder.create(store, NewSession("simulator", WALL), clock=clock)
    times = [0.8 * (i + 1) for i in range(10)]
    seqs = [rec.add_beat(Beat(800.0, t)) for t in times]
    assert [rec.seq_for_t(t) for t in times] == seqs == list(range(10))
    with pytest.raises(KeyError):
        rec.seq_for_t(0.81)
    rec.finish()
    assert store.get_session(rec.session_id).n_beats == 10


def test_a_session_whose_lock_another_store_holds_cannot_be_recorded_here(store: Store) -> None:
    sid = store.create_session(NewSession("simulator", WALL))
    with Store(store.path) as other:
        with pytest.raises(ValueError, match="recording lock is not held here"):
            Recorder(other, sid)
    Recorder(store, sid).finish()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["normal", "ectopic", None]), st.integers(0, 11)), max_size=40))
def test_labels_written_in_runs_end_as_written_one_by_one(store: Store, labels: list) -> None:
    """Labels are written one UPDATE per run of consecutive beats with the same label; in any
    order, repeats included, every beat ends with the label of its last row."""
    sid = store.conn.execute("SELECT id FROM sessions").fetchone()
    if sid is None:
        with Recorder(store, store.create_session(NewSession("simulator", WALL)), clock=VirtualClock()) as rec:
            for i in range(12):
                rec.add_beat(Beat(800.0, 0.8 * (i + 1)))
        sid = store.conn.execute("SELECT id FROM sessions").fetchone()
    sid = sid[0]
    with store.transaction() as conn:
        conn.execute("UPDATE beats SET artifact = NULL WHERE session_id = ?", (sid,))
        write_rows(store, Rows(labels=[(label, sid, seq) for label, seq in labels]))
    expected: dict[int, str | None] = dict.fromkeys(range(12))
    for label, seq in labels:
        expected[seq] = label
    assert [(b.seq, b.artifact) for b in store.beats(sid)] == sorted(expected.items())


def test_add_settled_stores_what_add_indices_and_set_artifact_label_store(store: Store) -> None:
    """The live runner's one call per settled beat writes the same rows and chunk bytes as the
    two calls it replaces, and refuses what they refuse."""

    def record(one_call: bool) -> str:
        sid = store.create_session(NewSession("simulator", WALL))
        with Recorder(store, sid, clock=VirtualClock()) as rec:
            for i in range(40):
                rec.add_beat(Beat(800.0, 0.8 * (i + 1)))
                values = {"t_s": 0.8 * (i + 1), "rmssd_ms": None if i % 9 == 0 else 30.0 + i / 7,
                          "valid": i % 5 != 0, "relaxation": "calm"}
                label = "ectopic" if i % 5 == 0 else "normal"
                if one_call:
                    rec.add_settled(i, values, label)
                else:
                    rec.add_indices(i, values)
                    rec.set_artifact_label(i, label)
            with pytest.raises(ValueError, match="seq order"):
                rec.add_settled(39, {"t_s": 1.0}, "normal")
            with pytest.raises(ValueError, match="no beat with seq 40"):
                rec.add_settled(40, {"t_s": 1.0}, "normal")
        return sid

    two, one = record(False), record(True)
    chunks = "SELECT first_seq, last_seq, n, data FROM beat_index_chunks WHERE session_id = ? ORDER BY first_seq"
    assert store.conn.execute(chunks, (one,)).fetchall() == store.conn.execute(chunks, (two,)).fetchall()
    assert [(b.seq, b.artifact) for b in store.beats(one)] == [(b.seq, b.artifact) for b in store.beats(two)]
    assert store.beat_indices(one) == store.beat_indices(two)


def test_a_commit_of_beats_alone_is_one_insert_its_own_transaction(store: Store) -> None:
    """Faster than real time, each commit per session second holds a beat or two and nothing else:
    one INSERT statement (SQLite makes it a transaction of its own), no BEGIN/COMMIT around it;
    more than four beats, or other rows, go in a BEGIN ... COMMIT as before."""
    from sessions.store_rows import insert_beats

    clock = VirtualClock()  # real time stands still
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    for i in range(6):  # 0.6 s apart: a commit every second beat
        rec.add_beat(Beat(600.0, 0.6 * (i + 1), rr_ticks_1024=614, arrival_s=0.6 * (i + 1), contact=i % 2 == 0))
    store.conn.set_trace_callback(None)
    assert rec.commits == 3 and _committed_beats(store.path) == 6
    # (the trace repeats a statement for each run of the beats' trigger)
    assert len(set(statements)) == 3 and all(s.startswith("INSERT INTO beats") for s in statements)
    rec.finish()
    got = store.beats(sid)
    assert [(b.seq, b.rr_ms, b.t_s, b.arrival_s, b.contact) for b in got] == [
        (i, 600.0, 0.6 * (i + 1), 0.6 * (i + 1), i % 2 == 0) for i in range(6)]

    rows = [(sid, 6 + i, None, 700.0, None, 10.0 + i, None) for i in range(5)]
    statements.clear()
    store.conn.set_trace_callback(statements.append)
    insert_beats(store, rows)  # five: a transaction with executemany
    store.conn.set_trace_callback(None)
    assert statements[0].startswith("BEGIN") and statements[-1] == "COMMIT"
    assert len(store.beats(sid)) == 11
    with pytest.raises(sqlite3.IntegrityError, match="never replaced"):  # not an environment failure
        insert_beats(store, [rows[0]])
    assert not store.conn.in_transaction and len(store.beats(sid)) == 11


def _chunk_rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT first_seq, last_seq, n, data FROM beat_index_chunks ORDER BY first_seq").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("offer", ["right", "wrong"])
def test_offered_block_chunks_are_written_instead_of_encoding_them_when_they_are_the_blocks(home: Path, offer: str) -> None:
    """offer_block_chunks (the engine's helper process encodes each whole block of CHUNK_BEATS rows
    it settles): a block whose offered chunks cover exactly its rows is not encoded here; an offer
    that does not fit its block (here: its last seq one short) is ignored and the block encoded here.
    Either way the store holds the same chunks as without offers."""
    from sessions.index_chunks import CHUNK_BEATS, columnar_chunks

    n = 2 * CHUNK_BEATS + 300
    values = [{"rmssd_ms": 10.0 + 0.5 * i, "artifact": "normal", "relaxation": None if i < 900 else 50.0 + i % 7}
              for i in range(n)]
    stored = []
    for offers in (False, True):
        with Store.open_home(home / str(offers)) as store:
            clock = VirtualClock()
            sid = store.create_session(NewSession("simulator", WALL))
            rec = Recorder(store, sid, clock=clock)
            for i in range(n):
                seq = rec.add_beat(Beat(500.0, 0.5 * (i + 1)))
                if offers and seq % CHUNK_BEATS == CHUNK_BEATS - 1:
                    first = seq - CHUNK_BEATS + 1
                    chunks = list(columnar_chunks([(s, values[s]) for s in range(first, seq + 1)]))
                    rec.offer_block_chunks(first, seq if offer == "right" else seq - 1, chunks)
                rec.add_settled(seq, dict(values[seq]), "normal")
                if i % 100 == 0:
                    clock.advance(0.6)
            rec.finish()
            if offers:
                assert rec.blocks_encoded_elsewhere == (2 if offer == "right" else 0)
            stored.append((_chunk_rows(store.path), store.beat_indices(sid)))
    assert stored[1] == stored[0]
    assert stored[0][1] == dict(enumerate(values))


def _wal_pages(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


@pytest.mark.parametrize("background", [False, True])
def test_background_checkpoints_keep_the_wal_bounded_and_lose_nothing(store: Store, background: bool) -> None:
    """At --speed max (a commit per session second, real time standing still) the WAL is
    checkpointed on a thread of its own; the connection's own checkpoint is only a backstop, so
    the WAL stays within it and every beat is stored, exactly. At the end the thread is gone and
    the connection checkpoints as SQLite does by default."""
    from sessions.checkpointer import AUTO_CHECKPOINT_PAGES, BACKSTOP_PAGES

    clock = VirtualClock()
    sid = store.create_session(NewSession("simulator", WALL))
    rec = Recorder(store, sid, clock=clock, background_checkpoints=background)
    checkpointer = rec.checkpointer
    assert (checkpointer is not None) is background
    pages = store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages == (BACKSTOP_PAGES if background else AUTO_CHECKPOINT_PAGES)
    t_s, expected = 0.0, []
    for i in range(12_000):  # ~7 400 commits of beats alone: ~12 000 WAL pages, three times the backstop
        rr_ms = 700 + (i * 37) % 400 + 0.25
        t_s += rr_ms / 1000
        rec.add_beat(Beat(rr_ms, t_s))
        expected.append((i, rr_ms, t_s))
    assert rec.commits > 7000
    # (the backstop may come a little late: it gives way to the thread's checkpoint while that runs)
    assert _wal_pages(store.path) <= (2 * BACKSTOP_PAGES if background else AUTO_CHECKPOINT_PAGES + 64)
    rec.finish()
    assert rec.checkpointer is None
    if checkpointer is not None:
        assert checkpointer.checkpoints >= 1 and checkpointer.error is None  # asked every 256 commits
        assert not checkpointer._thread.is_alive()
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == AUTO_CHECKPOINT_PAGES
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("SELECT seq, rr_ms, t_s FROM beats ORDER BY seq").fetchall() == expected
    finally:
        conn.close()


def test_a_checkpointer_that_cannot_open_the_store_changes_nothing(tmp_path: Path) -> None:
    """A store that vanished is not created again by the checkpoint thread: it says why, and asking
    it for checkpoints, then closing it, does nothing more."""
    from sessions.checkpointer import WalCheckpointer

    missing = tmp_path / "gone" / "biofeedback.sqlite"
    checkpointer = WalCheckpointer(missing)
    checkpointer.request()
    checkpointer.close()
    checkpointer.close()
    assert checkpointer.checkpoints == 0
    assert isinstance(checkpointer.error, sqlite3.Error)
    assert not missing.parent.exists()
